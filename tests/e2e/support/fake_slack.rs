//! `FakeSlack`: the Slack Web API methods fanops calls, the external file upload URL, and
//! a Socket Mode WebSocket server.
//!
//! Web API calls go to `{url}/api/{method}` (JSON, form or query bodies), each recorded as
//! a [`SlackCall`] before injected failures ([`FakeSlack::fail_next`]: 429 with
//! `Retry-After`, or another status) and the method itself. The bot is `UBOT` (`BBOT`).
//! Posted messages get `ts` values `1700000100.000001` upward and keep their edits.
//!
//! `users.info` names member `U42` "Member 42" (`@member42`).
//! `conversations.open` with one member id opens the bot's DM with them: `D` and the id
//! without its first letter (`UADMIN` → `DADMIN`), the same each time, as Slack keeps one.
//! A fake of one workspace ([`FakeSlack::workspace`]) takes only that workspace's bot and
//! app tokens and refuses any other with `invalid_auth`, as Slack does.
//!
//! Socket Mode: `apps.connections.open` (app token, `xapp-…`) answers
//! `ws://…/socket`; each connection is greeted with the full `hello`, gets the envelopes
//! pushed with [`FakeSlack::push_event`] / [`FakeSlack::push_interaction`] (queued until
//! a socket is open), and its acknowledgements are recorded. [`FakeSlack::drop_sockets`]
//! cuts every socket without a close frame; [`FakeSlack::ask_to_reconnect`] sends
//! Slack's `disconnect` (refresh) message.
//!
//! Every answer to a bot token carries `x-oauth-scopes`, as Slack's do: the scopes of
//! `deploy/slack/` ([`SCOPES`]) unless [`FakeSlack::grant`] says otherwise.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

/// The bot's member id, as `auth.test` answers.
pub const BOT_USER: &str = "UBOT";

/// The bot scopes the app of `deploy/slack/` is granted.
pub const SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "chat:write",
    "files:read",
    "files:write",
    "im:write",
    "users:read",
];

/// One Web API request as received.
#[derive(Debug, Clone)]
pub struct SlackCall {
    pub method: String,
    /// `Authorization` without `Bearer `.
    pub token: String,
    /// JSON body, or form / query fields as strings.
    pub body: Value,
    /// When the fake received it.
    pub at: std::time::Instant,
}

/// An injected failure for the next call of a method.
#[derive(Debug, Clone, PartialEq)]
pub enum SlackFailure {
    /// 429 with `Retry-After: n` and `{"ok": false, "error": "ratelimited"}`.
    RateLimited(u64),
    /// This status with an empty body.
    Status(u16),
    /// 200 `{"ok": false, "error": <code>}`, as Slack refuses (e.g. `token_revoked`).
    Error(&'static str),
}

/// A message the bot posted, edits applied.
#[derive(Debug, Clone)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    /// The section texts (or the plain text of a message without blocks), joined by
    /// newlines.
    pub text: String,
    pub blocks: Value,
    pub edits: usize,
}

/// A file uploaded and shared.
#[derive(Debug, Clone)]
pub struct SharedFile {
    pub id: String,
    pub name: String,
    pub bytes: Vec<u8>,
    pub channel: Option<String>,
    pub thread_ts: Option<String>,
}

enum ToSocket {
    Send(String),
    Cut,
    /// Stop reading and writing, as a connection that silently died: pings go unanswered.
    Deafen,
}

#[path = "fake_slack_files.rs"]
mod files;
pub use files::{file_share_event, Download as SlackDownload};

#[derive(Default)]
struct SlackState {
    base: String,
    /// The workspace's bot and app tokens, when only they are taken.
    tokens: Option<(String, String)>,
    calls: Mutex<Vec<SlackCall>>,
    failures: Mutex<HashMap<String, VecDeque<SlackFailure>>>,
    messages: Mutex<Vec<Posted>>,
    ephemerals: Mutex<Vec<Value>>,
    uploads: Mutex<HashMap<String, (String, Vec<u8>)>>,
    files: Mutex<Vec<SharedFile>>,
    next_ts: AtomicU64,
    next_id: AtomicU64,
    sockets: Mutex<Vec<mpsc::UnboundedSender<ToSocket>>>,
    /// Sockets made deaf, kept so that they stay open.
    deaf: Mutex<Vec<mpsc::UnboundedSender<ToSocket>>>,
    opened: AtomicUsize,
    /// Envelopes waiting for a socket.
    waiting: Mutex<VecDeque<String>>,
    /// Every envelope sent, by id.
    envelopes: Mutex<HashMap<String, String>>,
    acks: Mutex<Vec<String>>,
    /// Files people shared, by id, and their downloads.
    hosted: Mutex<HashMap<String, Vec<u8>>>,
    downloads: Mutex<Vec<SlackDownload>>,
    /// The bot token's scopes, when not [`SCOPES`].
    granted: Mutex<Option<Vec<String>>>,
}

/// The fake Slack. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeSlack {
    state: Arc<SlackState>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        FakeSlack::start_with(None).await
    }

    /// A fake of one workspace: only `bot_token` (xoxb-…) and `app_token` (xapp-…) work.
    pub async fn workspace(bot_token: &str, app_token: &str) -> FakeSlack {
        FakeSlack::start_with(Some((bot_token.to_string(), app_token.to_string()))).await
    }

    async fn start_with(tokens: Option<(String, String)>) -> FakeSlack {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(SlackState {
            base: format!("http://{addr}"),
            tokens,
            next_ts: AtomicU64::new(1),
            next_id: AtomicU64::new(1),
            ..SlackState::default()
        });
        let router = Router::new()
            .route("/api/{method}", any(method))
            .route("/upload/{id}", post(upload))
            .route("/socket", get(socket))
            .route("/files-pri/{file}/{*rest}", get(files::download))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeSlack { state }
    }

    /// The Web API base, for `[channels.slack] api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.state.base)
    }

    pub fn calls(&self) -> Vec<SlackCall> {
        self.state.calls.lock().unwrap().clone()
    }

    pub fn calls_of(&self, method: &str) -> Vec<SlackCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// The bot token has these scopes from now on (its `x-oauth-scopes`).
    pub fn grant(&self, scopes: &[&str]) {
        *self.state.granted.lock().unwrap() = Some(scopes.iter().map(|s| s.to_string()).collect());
    }

    /// The next calls of `method` fail like this, in order.
    pub fn fail_next(&self, method: &str, failures: Vec<SlackFailure>) {
        let mut map = self.state.failures.lock().unwrap();
        map.entry(method.to_string()).or_default().extend(failures);
    }

    /// Messages posted in `channel`, in order, edits applied.
    pub fn messages(&self, channel: &str) -> Vec<Posted> {
        let messages = self.state.messages.lock().unwrap();
        messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    pub fn texts(&self, channel: &str) -> Vec<String> {
        self.messages(channel).into_iter().map(|m| m.text).collect()
    }

    pub fn ephemerals(&self) -> Vec<Value> {
        self.state.ephemerals.lock().unwrap().clone()
    }

    pub fn files(&self) -> Vec<SharedFile> {
        self.state.files.lock().unwrap().clone()
    }

    /// Sockets opened so far.
    pub fn sockets_opened(&self) -> usize {
        self.state.opened.load(Ordering::SeqCst)
    }

    /// Envelope ids acknowledged, in order (repeats included).
    pub fn acks(&self) -> Vec<String> {
        self.state.acks.lock().unwrap().clone()
    }

    /// Pushes an Events API payload (`event_callback`) over Socket Mode; its envelope id.
    pub fn push_event(&self, payload: Value) -> String {
        self.push_envelope("events_api", payload)
    }

    /// Pushes an interaction (`block_actions`) over Socket Mode; its envelope id.
    pub fn push_interaction(&self, payload: Value) -> String {
        self.push_envelope("interactive", payload)
    }

    fn push_envelope(&self, kind: &str, payload: Value) -> String {
        let id = format!("env-{}", self.state.next_id.fetch_add(1, Ordering::SeqCst));
        let envelope = json!({
            "envelope_id": id,
            "type": kind,
            "accepts_response_payload": false,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": payload,
        })
        .to_string();
        self.state
            .envelopes
            .lock()
            .unwrap()
            .insert(id.clone(), envelope.clone());
        self.send_or_queue(envelope);
        id
    }

    /// Sends envelope `id` again, as Slack does when it was not acknowledged in time.
    pub fn redeliver(&self, id: &str) {
        let envelope = self.state.envelopes.lock().unwrap()[id].clone();
        let mut again: Value = serde_json::from_str(&envelope).unwrap();
        again["retry_attempt"] = json!(1);
        again["retry_reason"] = json!("timeout");
        self.send_or_queue(again.to_string());
    }

    fn send_or_queue(&self, frame: String) {
        let sockets = self.state.sockets.lock().unwrap();
        let live = sockets.iter().rev().find(|s| !s.is_closed());
        match live {
            Some(socket) => {
                let _ = socket.send(ToSocket::Send(frame));
            }
            None => self.state.waiting.lock().unwrap().push_back(frame),
        }
    }

    /// Cuts every open socket without a close frame.
    pub fn drop_sockets(&self) {
        for socket in self.state.sockets.lock().unwrap().drain(..) {
            let _ = socket.send(ToSocket::Cut);
        }
    }

    /// Every open socket goes silent without closing: it answers nothing, pings included.
    pub fn deafen_sockets(&self) {
        let mut sockets = self.state.sockets.lock().unwrap();
        for socket in sockets.iter() {
            let _ = socket.send(ToSocket::Deafen);
        }
        // Kept (not dropped, which would end them) but never chosen for new envelopes.
        let deaf = std::mem::take(&mut *sockets);
        self.state.deaf.lock().unwrap().extend(deaf);
    }

    /// Sends Slack's `disconnect` (a refresh) on every open socket.
    pub fn ask_to_reconnect(&self) {
        let frame = json!({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "fake"}});
        for socket in self.state.sockets.lock().unwrap().iter() {
            let _ = socket.send(ToSocket::Send(frame.to_string()));
        }
    }

    /// Polls `check` every 20 ms until it holds or `within` passes.
    pub async fn wait_for(&self, check: impl Fn(&FakeSlack) -> bool, within: Duration) -> bool {
        let until = tokio::time::Instant::now() + within;
        loop {
            if check(self) {
                return true;
            }
            if tokio::time::Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until some message in `channel` contains `needle`.
    pub async fn wait_text(&self, channel: &str, needle: &str, within: Duration) -> bool {
        let (channel, needle) = (channel.to_string(), needle.to_string());
        self.wait_for(
            move |s| s.texts(&channel).iter().any(|t| t.contains(&needle)),
            within,
        )
        .await
    }
}

fn next_ts(state: &SlackState) -> String {
    format!(
        "1700000100.{:06}",
        state.next_ts.fetch_add(1, Ordering::SeqCst)
    )
}

/// An `event_callback` of a user's message. `channel_type` is `im` for a DM, `channel`
/// otherwise; `thread_ts` when it is a reply in a thread.
pub fn message_event(
    user: &str,
    channel: &str,
    text: &str,
    ts: &str,
    thread_ts: Option<&str>,
) -> Value {
    let channel_type = if channel.starts_with('D') {
        "im"
    } else {
        "channel"
    };
    let mut event = json!({
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
        "client_msg_id": format!("cm-{ts}"),
    });
    if let Some(thread) = thread_ts {
        event["thread_ts"] = json!(thread);
    }
    callback(event, ts)
}

/// The `app_mention` event Slack sends besides `message` for a mention in a channel.
pub fn mention_event(
    user: &str,
    channel: &str,
    text: &str,
    ts: &str,
    thread_ts: Option<&str>,
) -> Value {
    let mut event = json!({
        "type": "app_mention",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    });
    if let Some(thread) = thread_ts {
        event["thread_ts"] = json!(thread);
    }
    callback(event, &format!("m{ts}"))
}

/// Wraps an event as Slack's `event_callback`; the event id is derived from `seed`.
pub fn callback(event: Value, seed: &str) -> Value {
    json!({
        "token": "verification-token",
        "team_id": "T0FAKE",
        "api_app_id": "A0FAKE",
        "event": event,
        "type": "event_callback",
        "event_id": format!("Ev{}", seed.replace('.', "")),
        "event_time": 1_700_000_000,
        "authorizations": [{"team_id": "T0FAKE", "user_id": BOT_USER, "is_bot": true}],
    })
}

/// A `block_actions` press by `user` of a button whose value is `value`, on message
/// `message_ts` in `channel` (in thread `thread_ts`, if any).
pub fn press(
    user: &str,
    channel: &str,
    message_ts: &str,
    thread_ts: Option<&str>,
    value: &str,
    trigger: &str,
) -> Value {
    let mut message = json!({"type": "message", "user": BOT_USER, "bot_id": "BBOT", "ts": message_ts, "text": "…"});
    if let Some(thread) = thread_ts {
        message["thread_ts"] = json!(thread);
    }
    json!({
        "type": "block_actions",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "user": {"id": user, "username": user.to_lowercase(), "name": user.to_lowercase(), "team_id": "T0FAKE"},
        "api_app_id": "A0FAKE",
        "token": "verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": false},
        "trigger_id": trigger,
        "channel": {"id": channel, "name": "team"},
        "message": message,
        "response_url": "https://hooks.slack.invalid/actions/1",
        "actions": [{
            "type": "button",
            "action_id": if value.starts_with("fo:x:") { "fo_cancel" } else { "fo_confirm" },
            "block_id": "b1",
            "text": {"type": "plain_text", "text": "Confirm"},
            "value": value,
            "action_ts": "1700000200.000001",
        }],
    })
}

/// `X-Slack-Signature` for `body` at `timestamp` under `secret`.
pub fn slack_signature(secret: &str, timestamp: i64, body: &str) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{timestamp}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn ok(body: Value) -> Response {
    let mut body = body;
    body["ok"] = json!(true);
    super::json_response(200, &body)
}

fn refused(error: &str) -> Response {
    super::json_response(200, &json!({"ok": false, "error": error}))
}

/// The request's fields: JSON, or form / query pairs.
fn fields(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Value {
    let mut map = Map::new();
    if let Some(query) = query {
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            map.insert(k.into_owned(), json!(v.into_owned()));
        }
    }
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    if json_body {
        if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
            map.extend(fields);
        }
    } else {
        for (k, v) in url::form_urlencoded::parse(body) {
            map.insert(k.into_owned(), json!(v.into_owned()));
        }
    }
    Value::Object(map)
}

/// The text of a message: its sections joined, or its plain text.
fn shown_text(body: &Value) -> String {
    match body["blocks"].as_array() {
        Some(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"]["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        None => body["text"].as_str().unwrap_or_default().to_string(),
    }
}

async fn method(
    State(state): State<Arc<SlackState>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let body = fields(&headers, query.as_deref(), &body);
    state.calls.lock().unwrap().push(SlackCall {
        method: method.clone(),
        token: token.clone(),
        body: body.clone(),
        at: std::time::Instant::now(),
    });
    let failure = state
        .failures
        .lock()
        .unwrap()
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    match failure {
        Some(SlackFailure::RateLimited(secs)) => {
            let mut response =
                super::json_response(429, &json!({"ok": false, "error": "ratelimited"}));
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            return response;
        }
        Some(SlackFailure::Status(code)) => {
            return StatusCode::from_u16(code).unwrap().into_response();
        }
        Some(SlackFailure::Error(code)) => return refused(code),
        None => {}
    }
    if token.is_empty() {
        return refused("not_authed");
    }
    if let Some((bot, app)) = &state.tokens {
        if token != *bot && token != *app {
            return refused("invalid_auth");
        }
    }
    let is_app_token = token.starts_with("xapp-");
    if (method == "apps.connections.open") != is_app_token {
        return refused("invalid_auth");
    }
    let mut response = handle(&state, &method, body);
    if !is_app_token {
        let scopes = match &*state.granted.lock().unwrap() {
            Some(granted) => granted.join(","),
            None => SCOPES.join(","),
        };
        response
            .headers_mut()
            .insert("x-oauth-scopes", scopes.parse().unwrap());
    }
    response
}

fn handle(state: &SlackState, method: &str, body: Value) -> Response {
    let text_of = |b: &Value| b["channel"].as_str().unwrap_or_default().to_string();
    match method {
        "auth.test" => ok(json!({
            "url": "https://fake.slack.com/", "team": "Fake", "user": "fanops",
            "team_id": "T0FAKE", "user_id": BOT_USER, "bot_id": "BBOT", "is_enterprise_install": false,
        })),
        "apps.connections.open" => {
            let ws = state.base.replacen("http://", "ws://", 1);
            ok(json!({ "url": format!("{ws}/socket?ticket=t1") }))
        }
        "chat.postMessage" => {
            let channel = text_of(&body);
            if channel.is_empty() {
                return refused("channel_not_found");
            }
            let ts = next_ts(state);
            let thread_ts = body["thread_ts"].as_str().map(str::to_string);
            let text = shown_text(&body);
            state.messages.lock().unwrap().push(Posted {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts: thread_ts.clone(),
                text: text.clone(),
                blocks: body["blocks"].clone(),
                edits: 0,
            });
            ok(
                json!({"channel": channel, "ts": ts, "message": {"type": "message", "ts": ts, "text": text, "bot_id": "BBOT", "user": BOT_USER, "thread_ts": thread_ts}}),
            )
        }
        "conversations.open" => open_conversation(state, &body),
        "users.info" => user_info(&body),
        "chat.update" => {
            let (channel, ts) = (text_of(&body), body["ts"].as_str().unwrap_or_default());
            let mut messages = state.messages.lock().unwrap();
            let Some(message) = messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return refused("message_not_found");
            };
            message.text = shown_text(&body);
            message.blocks = body["blocks"].clone();
            message.edits += 1;
            ok(
                json!({"channel": channel, "ts": ts, "text": message.text, "message": {"text": message.text}}),
            )
        }
        "chat.postEphemeral" => {
            state.ephemerals.lock().unwrap().push(body);
            ok(json!({"message_ts": next_ts(state)}))
        }
        "files.getUploadURLExternal" => {
            let id = format!("F{}", state.next_id.fetch_add(1, Ordering::SeqCst));
            let name = body["filename"].as_str().unwrap_or_default().to_string();
            state
                .uploads
                .lock()
                .unwrap()
                .insert(id.clone(), (name, Vec::new()));
            ok(json!({"upload_url": format!("{}/upload/{id}", state.base), "file_id": id}))
        }
        "files.completeUploadExternal" => {
            let files = match &body["files"] {
                Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
                other => other.clone(),
            };
            let mut shared = Vec::new();
            for file in files.as_array().cloned().unwrap_or_default() {
                let id = file["id"].as_str().unwrap_or_default().to_string();
                let Some((name, bytes)) = state.uploads.lock().unwrap().remove(&id) else {
                    return refused("file_not_found");
                };
                state.files.lock().unwrap().push(SharedFile {
                    id: id.clone(),
                    name: name.clone(),
                    bytes,
                    channel: body["channel_id"].as_str().map(str::to_string),
                    thread_ts: body["thread_ts"].as_str().map(str::to_string),
                });
                shared.push(json!({"id": id, "name": name, "title": file["title"]}));
            }
            ok(json!({ "files": shared }))
        }
        _ => refused("unknown_method"),
    }
}

/// `conversations.open`: `users` as Slack takes it (comma-separated, or a JSON list).
/// `users.info`: every member id `U…` is a person; `U42` is "Member 42" with the handle
/// `member42` (both, as Slack's `profile.display_name` and `name`).
fn user_info(body: &Value) -> Response {
    let id = body["user"].as_str().unwrap_or_default();
    let Some(number) = id.strip_prefix(['U', 'W']).filter(|n| !n.is_empty()) else {
        return refused("user_not_found");
    };
    ok(json!({"user": {
        "id": id,
        "team_id": "T1",
        "name": format!("member{}", number.to_lowercase()),
        "real_name": format!("Member {number}"),
        "profile": {"display_name": format!("Member {number}"), "real_name": format!("Member {number}")},
        "is_bot": false,
    }}))
}

fn open_conversation(state: &SlackState, body: &Value) -> Response {
    let users: Vec<String> = match &body["users"] {
        Value::String(list) => list.split(',').map(|u| u.trim().to_string()).collect(),
        Value::Array(list) => list
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let users: Vec<String> = users.into_iter().filter(|u| !u.is_empty()).collect();
    if users.is_empty() {
        return match body["channel"].as_str() {
            Some(channel) => ok(json!({"channel": {"id": channel}, "already_open": true})),
            None => refused("users_list_not_supplied"),
        };
    }
    let member = |u: &String| {
        u.len() > 1
            && u.starts_with(['U', 'W'])
            && u.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    if !users.iter().all(member) {
        return refused("user_not_found");
    }
    let id = match users.as_slice() {
        [one] => format!("D{}", &one[1..]),
        _ => format!("G{}", state.next_id.fetch_add(1, Ordering::SeqCst)),
    };
    ok(json!({"channel": {"id": id}}))
}

async fn upload(
    State(state): State<Arc<SlackState>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut uploads = state.uploads.lock().unwrap();
    match uploads.get_mut(&id) {
        Some((_, bytes)) => {
            *bytes = body.to_vec();
            (StatusCode::OK, format!("OK - {}", body.len())).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn socket(State(state): State<Arc<SlackState>>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |ws| serve_socket(state, ws))
}

async fn serve_socket(state: Arc<SlackState>, mut ws: WebSocket) {
    let (to_socket, mut from_tests) = mpsc::unbounded_channel();
    state.opened.fetch_add(1, Ordering::SeqCst);
    let hello = json!({
        "type": "hello",
        "num_connections": 1,
        "debug_info": {"host": "fake-slack", "build_number": 1, "approximate_connection_time": 18060},
        "connection_info": {"app_id": "A0FAKE"},
    });
    if ws
        .send(WsMessage::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let waiting: Vec<String> = state.waiting.lock().unwrap().drain(..).collect();
    for frame in waiting {
        let _ = to_socket.send(ToSocket::Send(frame));
    }
    state.sockets.lock().unwrap().push(to_socket);
    loop {
        tokio::select! {
            command = from_tests.recv() => match command {
                Some(ToSocket::Send(frame)) => {
                    if ws.send(WsMessage::Text(frame.into())).await.is_err() {
                        return;
                    }
                }
                // Dropping the socket without a close frame, as a dead network does.
                Some(ToSocket::Cut) | None => return,
                Some(ToSocket::Deafen) => {
                    // Held open, never read: the client hears nothing, not even pongs.
                    while let Some(command) = from_tests.recv().await {
                        if matches!(command, ToSocket::Cut) {
                            break;
                        }
                    }
                    return;
                }
            },
            frame = ws.recv() => match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    if let Ok(ack) = serde_json::from_str::<Value>(&text) {
                        if let Some(id) = ack["envelope_id"].as_str() {
                            state.acks.lock().unwrap().push(id.to_string());
                        }
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
