//! The fake gateway: Hello, Identify → READY, Resume → the missed (or all) dispatches and
//! RESUMED, heartbeats acknowledged unless told to go quiet, abrupt drops.

use super::{user_json, DcState, BOT_ID, GUILD_ID};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub(super) enum Command {
    Send(String),
    Drop,
}

#[derive(Default)]
pub(super) struct Gateway {
    /// The live connection, if any.
    pub(super) socket: Option<mpsc::UnboundedSender<Command>>,
    /// The connection has identified or resumed: dispatches may flow.
    pub(super) live: bool,
    pub(super) session: Option<String>,
    pub(super) seq: u64,
    /// Every dispatch of the session: (seq, frame).
    pub(super) sent: Vec<(u64, String)>,
    /// Dispatches pushed while no session was connected.
    pub(super) waiting: VecDeque<(String, Value)>,
    pub(super) identifies: Vec<Value>,
    pub(super) resumes: Vec<Value>,
    pub(super) heartbeats: usize,
}

pub(super) fn send_dispatch(gateway: &mut Gateway, kind: &str, data: Value) {
    gateway.seq += 1;
    let frame = json!({ "op": 0, "t": kind, "s": gateway.seq, "d": data }).to_string();
    gateway.sent.push((gateway.seq, frame.clone()));
    if let Some(socket) = &gateway.socket {
        let _ = socket.send(Command::Send(frame));
    }
}

pub(super) async fn accept_gateway(listener: tokio::net::TcpListener, state: Arc<DcState>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                connection(ws, state).await;
            }
        });
    }
}

/// One gateway connection, from Hello until it closes or the test drops it.
async fn connection(
    ws: tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    state: Arc<DcState>,
) {
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hello = json!({ "op": 10, "d": { "heartbeat_interval": 1_500 } }).to_string();
    if sink.send(WsMessage::Text(hello.into())).await.is_err() {
        return;
    }
    {
        let mut gateway = state.gateway.lock().unwrap();
        gateway.live = false;
        if let Some(old) = gateway.socket.replace(tx.clone()) {
            let _ = old.send(Command::Drop);
        }
    }
    loop {
        tokio::select! {
            command = rx.recv() => match command {
                Some(Command::Send(frame)) => {
                    if sink.send(WsMessage::Text(frame.into())).await.is_err() { break; }
                }
                Some(Command::Drop) | None => break,
            },
            frame = stream.next() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let Ok(payload) = serde_json::from_str::<Value>(&text) else { continue };
                    on_client_frame(&state, &tx, payload);
                }
                Some(Ok(WsMessage::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // Abrupt: the socket goes without a close frame.
    let mut gateway = state.gateway.lock().unwrap();
    if gateway.socket.as_ref().is_some_and(|s| s.same_channel(&tx)) {
        gateway.socket = None;
        gateway.live = false;
    }
}

fn on_client_frame(state: &DcState, tx: &mpsc::UnboundedSender<Command>, payload: Value) {
    let mut gateway = state.gateway.lock().unwrap();
    match payload["op"].as_u64() {
        Some(1) => {
            gateway.heartbeats += 1;
            if !state.quiet.load(Ordering::SeqCst) {
                let _ = tx.send(Command::Send(json!({ "op": 11 }).to_string()));
            }
        }
        Some(2) => {
            gateway.identifies.push(payload["d"].clone());
            let session = format!("session-{}", gateway.identifies.len());
            gateway.session = Some(session.clone());
            gateway.seq = 0;
            gateway.sent.clear();
            let ready = json!({
                "v": 10,
                "user": user_json(BOT_ID, true),
                "guilds": [{ "id": GUILD_ID.to_string(), "unavailable": true }],
                "session_id": session,
                "resume_gateway_url": state.ws_url.lock().unwrap().clone(),
                "shard": [0, 1],
                "application": { "id": BOT_ID.to_string(), "flags": 0 },
            });
            send_dispatch(&mut gateway, "READY", ready);
            gateway.live = true;
            flush_waiting(&mut gateway);
        }
        Some(6) => {
            gateway.resumes.push(payload["d"].clone());
            let known = payload["d"]["seq"].as_u64().unwrap_or(0);
            let replay_all = state.replay_all.load(Ordering::SeqCst);
            let again: Vec<String> = gateway
                .sent
                .iter()
                .filter(|(seq, frame)| (replay_all && !frame.contains("\"READY\"")) || *seq > known)
                .map(|(_, frame)| frame.clone())
                .collect();
            for frame in again {
                let _ = tx.send(Command::Send(frame));
            }
            send_dispatch(&mut gateway, "RESUMED", json!({}));
            gateway.live = true;
            flush_waiting(&mut gateway);
        }
        _ => {}
    }
}

fn flush_waiting(gateway: &mut Gateway) {
    while let Some((kind, data)) = gateway.waiting.pop_front() {
        send_dispatch(gateway, &kind, data);
    }
}
