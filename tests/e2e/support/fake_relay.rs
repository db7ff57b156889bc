//! A fake WebSocket relay (the onlyfans-api.ai model socket or the BetterFans EventBus):
//! it records each connection's `X-API-Key`, then plays a script of text frames and
//! either holds the socket open or closes it.

use futures::{SinkExt, StreamExt};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone)]
pub struct FakeRelay {
    pub port: u16,
    keys: Arc<Mutex<Vec<Option<String>>>>,
}

impl FakeRelay {
    /// Each connection gets `frames` in order; then the socket is held open when `hold`,
    /// or closed.
    pub async fn start(frames: Vec<String>, hold: bool) -> FakeRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let keys = Arc::new(Mutex::new(Vec::new()));
        let seen = keys.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (frames, seen) = (frames.clone(), seen.clone());
                tokio::spawn(async move {
                    // The handshake callback's signature is tungstenite's.
                    #[allow(clippy::result_large_err)]
                    let record = |request: &Request, response: Response| {
                        let key = request
                            .headers()
                            .get("x-api-key")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        seen.lock().unwrap().push(key);
                        Ok(response)
                    };
                    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, record).await
                    else {
                        return;
                    };
                    for frame in frames {
                        if socket.send(Message::text(frame)).await.is_err() {
                            return;
                        }
                    }
                    if hold {
                        while let Some(Ok(_)) = socket.next().await {}
                    } else {
                        let _ = socket.close(None).await;
                    }
                });
            }
        });
        FakeRelay { port, keys }
    }

    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/api/models/m-1/ws", self.port)
    }

    /// The `X-API-Key` of every connection so far.
    pub fn connections(&self) -> Vec<Option<String>> {
        self.keys.lock().unwrap().clone()
    }
}
