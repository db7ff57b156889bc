//! WebSocket relays (`[[events.relay]]`): the onlyfans-api.ai model socket and the
//! BetterFans EventBus. Each relay is held by one replica at a time (a lease in the
//! store); the holder reconnects with exponential backoff (1 s doubling to 30 s, reset
//! after a healthy minute), and stops for good on an auth error, which `/readyz` shows
//! with its code.

use super::{normalize, Event, Intake};
use crate::config::{RelayConfig, Secret};
use crate::health::Health;
use crate::store::holder::SingleHolder;
use crate::store::SharedStore;
use chrono::Utc;
use futures::StreamExt;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;

const FIRST_WAIT: Duration = Duration::from_secs(1);
const LONGEST_WAIT: Duration = Duration::from_secs(30);
/// A connection that lasted this long was healthy: the next wait starts over.
const HEALTHY: Duration = Duration::from_secs(60);

/// Error codes that no retry can fix: the key, the plan or the model is wrong.
pub fn is_auth_error(code: &str) -> bool {
    code.ends_with("_API_KEY") || code == "NO_SUBSCRIPTION" || code == "MODEL_NOT_FOUND"
}

/// An open connection to a relay.
type Socket = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

/// How one connection ended.
#[derive(Debug, Clone, PartialEq)]
enum Ended {
    /// Worth trying again; `healthy` when it had been up for a while.
    Dropped {
        why: String,
        healthy: bool,
    },
    /// An auth error: stop.
    Refused {
        code: String,
        why: String,
    },
    Shutdown,
}

/// The speaker of one relay.
pub struct Relay {
    config: RelayConfig,
    key: Secret,
    intake: Intake,
    health: Health,
    holder: Arc<SingleHolder>,
}

impl Relay {
    pub fn new(
        config: RelayConfig,
        key: Secret,
        intake: Intake,
        store: SharedStore,
        health: Health,
        clock: crate::clock::Clock,
    ) -> Relay {
        // One lease name per configured relay, for the life of the process.
        let lease: &'static str =
            Box::leak(format!("events.relay.{}", config.name).into_boxed_str());
        Relay {
            holder: Arc::new(SingleHolder::new(store, lease, clock)),
            config,
            key,
            intake,
            health,
        }
    }

    /// Its name in `/readyz`.
    pub fn health_name(&self) -> String {
        format!("relay:{}", self.config.name)
    }

    /// Holds the relay's lease and keeps the socket open until `shutdown`, or until
    /// the relay refuses the key.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let name = self.health_name();
        self.health.register(&name, None);
        loop {
            let holding = self
                .holder
                .wait_to_hold(&shutdown, |standby| match standby {
                    Ok(holder) => self.health.ok(&name, &format!("standby: held by {holder}")),
                    Err(e) => self.health.failing(&name, &e),
                })
                .await;
            if !holding {
                return Ok(());
            }
            let (done, lost) = (CancellationToken::new(), CancellationToken::new());
            let keeper = tokio::spawn(self.holder.clone().keep(done.clone(), lost.clone()));
            let stop = CancellationToken::new();
            let relay_stop = stop.clone();
            let (s1, s2) = (shutdown.clone(), lost.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = s1.cancelled() => {}
                    _ = s2.cancelled() => {}
                }
                relay_stop.cancel();
            });
            let refused = self.hold_open(&stop).await;
            done.cancel();
            let _ = keeper.await;
            self.holder.release().await;
            if let Some((code, why)) = refused {
                self.health.failing(
                    &name,
                    &format!("stopped: {code} ({why}); fix the key or the model and restart"),
                );
                tracing::error!(relay = %self.config.name, %code, %why, "the relay refused the key; not reconnecting");
                shutdown.cancelled().await;
                return Ok(());
            }
            if shutdown.is_cancelled() {
                return Ok(());
            }
            tracing::warn!(relay = %self.config.name, "another process took over the relay");
        }
    }

    /// Connects again and again until `stop`; the auth error that ended it, if one did.
    async fn hold_open(&self, stop: &CancellationToken) -> Option<(String, String)> {
        let name = self.health_name();
        let mut wait = FIRST_WAIT;
        loop {
            match self.connect_once(stop).await {
                Ended::Shutdown => return None,
                Ended::Refused { code, why } => return Some((code, why)),
                Ended::Dropped { why, healthy } => {
                    if healthy {
                        wait = FIRST_WAIT;
                    }
                    self.health.failing(
                        &name,
                        &format!(
                            "disconnected ({why}); reconnecting in {}",
                            humantime::format_duration(wait)
                        ),
                    );
                    tracing::warn!(relay = %self.config.name, %why, ?wait, "relay disconnected");
                    tokio::select! {
                        _ = stop.cancelled() => return None,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(LONGEST_WAIT);
                }
            }
        }
    }

    /// One connection, from the handshake to however it ended.
    async fn connect_once(&self, stop: &CancellationToken) -> Ended {
        let request = match self.request() {
            Ok(request) => request,
            Err(ended) => return ended,
        };
        let connected = tokio::select! {
            _ = stop.cancelled() => return Ended::Shutdown,
            c = tokio_tungstenite::connect_async(request) => c,
        };
        match connected {
            Ok((socket, _)) => self.listen(socket, stop).await,
            Err(e) => handshake_failed(e),
        }
    }

    /// The handshake request: the relay's URL, with the key in `X-API-Key` when there is one.
    fn request(&self) -> Result<Request, Ended> {
        let mut request = self
            .config
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| Ended::Refused {
                code: "BAD_URL".into(),
                why: e.to_string(),
            })?;
        if let Some(key) = self.key.expose() {
            let value = HeaderValue::from_str(key).map_err(|_| Ended::Refused {
                code: "INVALID_API_KEY".into(),
                why: "the key is not a valid header value".into(),
            })?;
            request.headers_mut().insert("X-API-Key", value);
        }
        Ok(request)
    }

    /// Reads an open socket until it ends or `stop`, handing each text frame to `handle`.
    async fn listen(&self, mut socket: Socket, stop: &CancellationToken) -> Ended {
        let opened = tokio::time::Instant::now();
        self.health.ok(&self.health_name(), "connected");
        loop {
            let frame = tokio::select! {
                _ = stop.cancelled() => {
                    let _ = socket.close(None).await;
                    return Ended::Shutdown;
                }
                frame = socket.next() => frame,
            };
            let text = match frame_text(frame, opened.elapsed() >= HEALTHY) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(ended) => return ended,
            };
            if let Some(ended) = self.handle(&text).await {
                return ended;
            }
        }
    }

    /// One text frame: a confirmation, an error, or an event to store.
    async fn handle(&self, text: &str) -> Option<Ended> {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            tracing::warn!(relay = %self.config.name, "a frame that is not JSON; skipped");
            return None;
        };
        if value.get("connected").and_then(Value::as_bool) == Some(true) {
            let model = value.get("modelId").and_then(Value::as_str).unwrap_or("");
            self.health
                .ok(&self.health_name(), format!("connected {model}").trim());
            return None;
        }
        if let Some(error) = value.get("error") {
            let code = value
                .get("code")
                .and_then(Value::as_str)
                .unwrap_or("ERROR")
                .to_string();
            let why = error
                .as_str()
                .map_or_else(|| error.to_string(), str::to_string);
            return Some(if is_auth_error(&code) {
                Ended::Refused { code, why }
            } else {
                Ended::Dropped {
                    why: format!("{code}: {why}"),
                    healthy: false,
                }
            });
        }
        match self.event(&value, text) {
            Ok(event) => {
                if let Err(e) = self.intake.ingest(&event).await {
                    tracing::error!(relay = %self.config.name, error = %e, "could not store a relayed event");
                }
            }
            Err(why) => {
                tracing::warn!(relay = %self.config.name, %why, "a frame that is not an event; skipped")
            }
        }
        None
    }

    fn event(&self, value: &Value, raw: &str) -> Result<Event, String> {
        let mut event = match self.config.kind.as_str() {
            "betterfans" => normalize::betterfans(value, raw, Utc::now())?,
            _ => normalize::socket_frame(&self.config.kind, value, raw, Utc::now())?,
        };
        if event.account.is_none() {
            event.account = self.config.account.clone();
        }
        Ok(event)
    }
}

/// Why the handshake failed: 401 or 403 is the key (stop), anything else is worth a retry.
fn handshake_failed(error: WsError) -> Ended {
    match error {
        WsError::Http(response) if matches!(response.status().as_u16(), 401 | 403) => {
            Ended::Refused {
                code: "INVALID_API_KEY".into(),
                why: format!("the relay answered {}", response.status()),
            }
        }
        e => Ended::Dropped {
            why: e.to_string(),
            healthy: false,
        },
    }
}

/// The text of one frame (binary is read as UTF-8), `None` for a frame with none
/// (ping, pong), or how the connection ended; `healthy` when it had been up long enough.
fn frame_text(
    frame: Option<Result<Message, WsError>>,
    healthy: bool,
) -> Result<Option<String>, Ended> {
    match frame {
        None => Err(Ended::Dropped {
            why: "the socket closed".into(),
            healthy,
        }),
        Some(Err(e)) => Err(Ended::Dropped {
            why: e.to_string(),
            healthy,
        }),
        Some(Ok(Message::Text(text))) => Ok(Some(text.to_string())),
        Some(Ok(Message::Binary(bytes))) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Some(Ok(Message::Close(close))) => {
            let why = close.map_or("closed".to_string(), |c| {
                format!("closed: {} {}", c.code, c.reason)
            });
            Err(Ended::Dropped { why, healthy })
        }
        Some(Ok(_)) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_errors_are_the_ones_a_retry_cannot_fix() {
        for code in [
            "NO_API_KEY",
            "INVALID_API_KEY",
            "NO_SUBSCRIPTION",
            "MODEL_NOT_FOUND",
        ] {
            assert!(is_auth_error(code), "{code}");
        }
        for code in [
            "MODEL_NOT_CONNECTED",
            "NO_WS_CREDENTIALS",
            "WS_CONNECT_ERROR",
        ] {
            assert!(!is_auth_error(code), "{code}");
        }
    }

    #[test]
    fn a_frame_is_text_nothing_or_the_end() {
        let text = frame_text(Some(Ok(Message::text("{}"))), false);
        assert_eq!(text, Ok(Some("{}".to_string())));
        let binary = frame_text(Some(Ok(Message::binary(b"[1]".to_vec()))), false);
        assert_eq!(binary, Ok(Some("[1]".to_string())));
        assert_eq!(
            frame_text(Some(Ok(Message::Ping(Vec::new().into()))), true),
            Ok(None)
        );
        let closed = frame_text(None, true);
        let why = "the socket closed".to_string();
        assert_eq!(closed, Err(Ended::Dropped { why, healthy: true }));
        let Err(Ended::Dropped { why, healthy }) =
            frame_text(Some(Ok(Message::Close(None))), false)
        else {
            panic!("a close frame ends the connection");
        };
        assert_eq!((why.as_str(), healthy), ("closed", false));
    }

    #[test]
    fn only_a_refused_key_stops_the_handshake_for_good() {
        let response = |status: u16| {
            let response = tokio_tungstenite::tungstenite::http::Response::builder()
                .status(status)
                .body(None)
                .unwrap();
            WsError::Http(Box::new(response))
        };
        let refused = handshake_failed(response(403));
        assert!(matches!(refused, Ended::Refused { ref code, .. } if code == "INVALID_API_KEY"));
        let dropped = handshake_failed(response(502));
        assert!(
            matches!(dropped, Ended::Dropped { healthy: false, .. }),
            "{dropped:?}"
        );
        let dropped = handshake_failed(WsError::ConnectionClosed);
        assert!(matches!(dropped, Ended::Dropped { healthy: false, .. }));
    }
}
