//! A fake Discord: the REST routes fanops uses and a gateway WebSocket server.
//!
//! REST (`{url}/api/v10/…`): `GET /gateway` and `/gateway/bot` (the gateway's `ws://`
//! URL), `GET /channels/{id}`, `POST /channels/{id}/messages` (JSON or multipart with a
//! file), `PATCH /channels/{id}/messages/{id}`, `POST /channels/{id}/messages/{id}/threads`
//! (the thread gets the message's id; a second one is refused with code 160004),
//! `POST /channels/{id}/typing`, `POST /interactions/{id}/{token}/callback`,
//! `POST /webhooks/{app}/{token}` (follow-ups) and `POST /users/@me/channels` (a person's
//! direct-message channel, type 1: the same one each time). Every call is recorded. A route can be
//! made to answer 429 (per route or global, with `Retry-After` and Discord's JSON) or an
//! error status.
//!
//! Gateway: Hello (op 10) → Identify (op 2) → READY, then the dispatches a test pushes
//! (MESSAGE_CREATE, INTERACTION_CREATE) with growing sequence numbers; heartbeats (op 1)
//! are acknowledged (op 11) unless the fake is told to go quiet. A test can drop the
//! connection abruptly; dispatches pushed meanwhile wait, and a Resume (op 6) gets every
//! dispatch after the client's sequence number — or, with `replay_all_on_resume`, every
//! dispatch of the session again, as a client that lost its place would — then RESUMED.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet, VecDeque};

mod gateway;
use gateway::{accept_gateway, send_dispatch, Command, Gateway};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The bot's user id (and application id) in the fake.
pub const BOT_ID: u64 = 900_000_000_000_000_001;
/// The one server the bot is in.
pub const GUILD_ID: u64 = 800_000_000_000_000_001;
/// A plain text channel of that server.
pub const GENERAL: u64 = 700_000_000_000_000_001;

/// One REST call as it crossed the wire.
#[derive(Debug, Clone)]
pub struct DcCall {
    pub method: String,
    /// Without `/api/v10`, e.g. `/channels/7/messages`.
    pub path: String,
    /// The JSON body, or a multipart's `payload_json`.
    pub body: Value,
    /// Multipart file parts: (file name, size in bytes).
    pub files: Vec<(String, usize)>,
    pub authorization: String,
    /// When the request reached the fake.
    pub at: Instant,
}

/// How a route answers instead of succeeding.
#[derive(Debug, Clone)]
pub enum DcFailure {
    /// 429 with `Retry-After` and `retry_after` of this many seconds.
    RateLimited {
        seconds: f64,
        global: bool,
    },
    Status(u16),
}

/// A message as it stands (edits applied).
#[derive(Debug, Clone)]
pub struct DcMessage {
    pub id: u64,
    pub channel: u64,
    pub content: String,
    pub components: Value,
    pub files: Vec<(String, usize)>,
}

pub(super) struct DcState {
    calls: Mutex<Vec<DcCall>>,
    messages: Mutex<Vec<DcMessage>>,
    /// Channel id → (type, parent).
    channels: Mutex<HashMap<u64, (u64, Option<u64>)>>,
    threads_started: Mutex<HashSet<u64>>,
    /// Person → their direct-message channel with the bot.
    direct: Mutex<HashMap<u64, u64>>,
    failures: Mutex<HashMap<String, VecDeque<DcFailure>>>,
    next_id: AtomicU64,
    gateway: Mutex<Gateway>,
    ws_url: Mutex<String>,
    quiet: AtomicBool,
    replay_all: AtomicBool,
}

/// The fake Discord. Cloning shares the same servers and state.
#[derive(Clone)]
pub struct FakeDiscord {
    base: String,
    state: Arc<DcState>,
}

impl FakeDiscord {
    /// Binds the REST API and the gateway on `127.0.0.1:0`.
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(DcState {
            calls: Mutex::default(),
            messages: Mutex::default(),
            channels: Mutex::new(HashMap::from([(GENERAL, (0, None))])),
            threads_started: Mutex::default(),
            direct: Mutex::default(),
            failures: Mutex::default(),
            next_id: AtomicU64::new(1_000_000_000_000_000_000),
            gateway: Mutex::default(),
            ws_url: Mutex::default(),
            quiet: AtomicBool::new(false),
            replay_all: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *state.ws_url.lock().unwrap() = format!("ws://{}", listener.local_addr().unwrap());
        tokio::spawn(accept_gateway(listener, state.clone()));
        let router = Router::new().fallback(handle).with_state(state.clone());
        let addr = super::serve(router).await;
        FakeDiscord {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// `api_url` for `[channels.discord]`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// A fresh id, larger than every earlier one (as Discord's snowflakes are).
    pub fn next_id(&self) -> u64 {
        self.state.next_id.fetch_add(1, Ordering::SeqCst)
    }

    /// Makes `channel` a thread of `parent` (one fanops did not start).
    pub fn add_thread(&self, channel: u64, parent: u64) {
        self.state
            .channels
            .lock()
            .unwrap()
            .insert(channel, (11, Some(parent)));
    }

    /// Pushes a MESSAGE_CREATE from `author` in `channel`; returns its id. `mentions`
    /// are the user ids the message mentions (the bot is [`BOT_ID`]).
    pub fn push_message(&self, channel: u64, author: u64, content: &str, mentions: &[u64]) -> u64 {
        self.push_message_from(channel, author, false, content, mentions)
    }

    pub fn push_message_from(
        &self,
        channel: u64,
        author: u64,
        bot: bool,
        content: &str,
        mentions: &[u64],
    ) -> u64 {
        let id = self.next_id();
        self.dispatch(
            "MESSAGE_CREATE",
            message(id, channel, author, bot, content, mentions),
        );
        id
    }

    /// A mention of the bot in `channel` by `author`: `<@bot> text`.
    pub fn mention(&self, channel: u64, author: u64, text: &str) -> u64 {
        self.push_message(channel, author, &format!("<@{BOT_ID}> {text}"), &[BOT_ID])
    }

    /// A MESSAGE_CREATE's data, as the gateway would send it (not sent).
    pub fn message_json(
        &self,
        id: u64,
        channel: u64,
        author: u64,
        content: &str,
        mentions: &[u64],
    ) -> Value {
        message(id, channel, author, false, content, mentions)
    }

    /// Pushes an INTERACTION_CREATE: `user` pressed the button `custom_id` of the bot's
    /// message `prompt` in `channel`; returns the interaction id.
    pub fn press(&self, channel: u64, prompt: u64, user: u64, custom_id: &str) -> u64 {
        self.press_where(channel, prompt, user, custom_id, true)
    }

    /// Pushes an INTERACTION_CREATE from a direct-message channel (no server: `user`
    /// instead of `member`, no `guild_id`, context 1).
    pub fn press_in_dm(&self, channel: u64, prompt: u64, user: u64, custom_id: &str) -> u64 {
        self.press_where(channel, prompt, user, custom_id, false)
    }

    fn press_where(
        &self,
        channel: u64,
        prompt: u64,
        user: u64,
        custom_id: &str,
        in_server: bool,
    ) -> u64 {
        let id = self.next_id();
        let (content, components) = self
            .messages_in(channel)
            .into_iter()
            .find(|m| m.id == prompt)
            .map_or(("Should I go ahead?".to_string(), json!([])), |m| {
                (m.content, m.components)
            });
        let mut prompt = message(prompt, channel, BOT_ID, true, &content, &[]);
        prompt["components"] = components;
        let mut press = json!({
            "id": id.to_string(),
            "application_id": BOT_ID.to_string(),
            "type": 3,
            "data": { "custom_id": custom_id, "component_type": 2 },
            "channel_id": channel.to_string(),
            "token": format!("token-{id}"),
            "version": 1,
            "message": prompt,
            "app_permissions": "0",
            "locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {},
            "context": if in_server { 0 } else { 1 },
            "attachment_size_limit": 10_485_760,
        });
        if in_server {
            press["guild_id"] = json!(GUILD_ID.to_string());
            press["guild_locale"] = json!("en-US");
            press["member"] = json!({
                "user": user_json(user, false),
                "roles": [], "joined_at": "2025-01-01T00:00:00.000000+00:00",
                "deaf": false, "mute": false, "flags": 0,
            });
        } else {
            press["user"] = user_json(user, false);
            press["message"].as_object_mut().unwrap().remove("guild_id");
        }
        self.dispatch("INTERACTION_CREATE", press);
        id
    }

    /// The direct-message channel the bot opened with `user`, if it did.
    pub fn direct_channel(&self, user: u64) -> Option<u64> {
        self.state.direct.lock().unwrap().get(&user).copied()
    }

    /// Sends a dispatch on the live session, or keeps it for the next one.
    pub fn dispatch(&self, kind: &str, data: Value) {
        let mut gateway = self.state.gateway.lock().unwrap();
        if gateway.socket.is_some() && gateway.live {
            send_dispatch(&mut gateway, kind, data);
        } else {
            gateway.waiting.push_back((kind.to_string(), data));
        }
    }

    /// Closes the gateway connection without a close frame.
    pub fn drop_connection(&self) {
        let mut gateway = self.state.gateway.lock().unwrap();
        gateway.live = false;
        if let Some(socket) = gateway.socket.take() {
            let _ = socket.send(Command::Drop);
        }
    }

    /// Stops acknowledging heartbeats (a session gone quiet).
    pub fn go_quiet(&self, quiet: bool) {
        self.state.quiet.store(quiet, Ordering::SeqCst);
    }

    /// On Resume, sends every dispatch of the session again (not only the missed ones).
    pub fn replay_all_on_resume(&self, yes: bool) {
        self.state.replay_all.store(yes, Ordering::SeqCst);
    }

    /// Identify payloads received (op 2), in order.
    pub fn identifies(&self) -> Vec<Value> {
        self.state.gateway.lock().unwrap().identifies.clone()
    }

    /// Resume payloads received (op 6), in order.
    pub fn resumes(&self) -> Vec<Value> {
        self.state.gateway.lock().unwrap().resumes.clone()
    }

    pub fn heartbeats(&self) -> usize {
        self.state.gateway.lock().unwrap().heartbeats
    }

    /// Whether a session is connected and identified (or resumed).
    pub fn connected(&self) -> bool {
        let gateway = self.state.gateway.lock().unwrap();
        gateway.socket.is_some() && gateway.live
    }

    /// The next `failures` answers of `route` (`"POST /channels/{id}/messages"` with the
    /// real ids, or the route without ids: `"POST messages"`, `"PATCH messages"`,
    /// `"POST threads"`, `"POST callback"`).
    pub fn fail_next(&self, route: &str, failures: Vec<DcFailure>) {
        let mut all = self.state.failures.lock().unwrap();
        all.entry(route.to_string()).or_default().extend(failures);
    }

    pub fn calls(&self) -> Vec<DcCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Calls whose `"METHOD path"` ends with `suffix`.
    pub fn calls_to(&self, method: &str, suffix: &str) -> Vec<DcCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && c.path.ends_with(suffix))
            .collect()
    }

    /// The bot's messages in `channel`, oldest first, edits applied.
    pub fn messages_in(&self, channel: u64) -> Vec<DcMessage> {
        let messages = self.state.messages.lock().unwrap();
        messages
            .iter()
            .filter(|m| m.channel == channel)
            .cloned()
            .collect()
    }

    /// Their texts.
    pub fn texts_in(&self, channel: u64) -> Vec<String> {
        self.messages_in(channel)
            .into_iter()
            .map(|m| m.content)
            .collect()
    }

    /// Polls `pred` every 10 ms until it holds (`true`) or `timeout` passes (`false`).
    pub async fn wait_for(&self, pred: impl Fn(&FakeDiscord) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(self) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until a bot message in `channel` contains `needle`.
    pub async fn wait_text(&self, channel: u64, needle: &str, timeout: Duration) -> bool {
        self.wait_for(
            |dc| dc.texts_in(channel).iter().any(|t| t.contains(needle)),
            timeout,
        )
        .await
    }
}

pub(super) fn user_json(id: u64, bot: bool) -> Value {
    json!({
        "id": id.to_string(),
        "username": format!("member{id}"),
        "global_name": format!("Member {}", id % 1000),
        "discriminator": "0",
        "avatar": null,
        "bot": bot,
    })
}

fn message(
    id: u64,
    channel: u64,
    author: u64,
    bot: bool,
    content: &str,
    mentions: &[u64],
) -> Value {
    json!({
        "id": id.to_string(),
        "channel_id": channel.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": user_json(author, bot),
        "content": content,
        "timestamp": "2025-06-07T10:00:00.000000+00:00",
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": mentions.iter().map(|m| user_json(*m, *m == BOT_ID)).collect::<Vec<_>>(),
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
        "flags": 0,
        "components": [],
    })
}

/// The route without ids, for failures set by kind: `"POST messages"`.
fn route_kind(method: &Method, path: &str) -> String {
    let last = path
        .rsplit('/')
        .find(|part| part.parse::<u64>().is_err() && !part.starts_with("token-"))
        .unwrap_or("");
    format!("{method} {last}")
}

async fn handle(
    State(state): State<Arc<DcState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(path) = uri.path().strip_prefix("/api/v10") else {
        return (StatusCode::NOT_FOUND, "no such route").into_response();
    };
    let path = path.to_string();
    if path == "/gateway" || path == "/gateway/bot" {
        let url = state.ws_url.lock().unwrap().clone();
        return axum::Json(json!({
            "url": url,
            "shards": 1,
            "session_start_limit": { "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1 },
        }))
        .into_response();
    }
    let (json_body, files) = parse_body(&headers, &body);
    state.calls.lock().unwrap().push(DcCall {
        method: method.to_string(),
        path: path.clone(),
        body: json_body.clone(),
        files: files.clone(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        at: Instant::now(),
    });
    if let Some(failure) = next_failure(&state, &method, &path) {
        return failure;
    }
    route(&state, &method, &path, json_body, files)
}

fn next_failure(state: &DcState, method: &Method, path: &str) -> Option<Response> {
    let mut failures = state.failures.lock().unwrap();
    let failure = [format!("{method} {path}"), route_kind(method, path)]
        .iter()
        .find_map(|key| failures.get_mut(key).and_then(VecDeque::pop_front))?;
    Some(match failure {
        DcFailure::RateLimited { seconds, global } => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                axum::Json(json!({
                    "message": "You are being rate limited.",
                    "retry_after": seconds,
                    "global": global,
                })),
            )
                .into_response();
            let headers = response.headers_mut();
            headers.insert("retry-after", seconds.to_string().parse().unwrap());
            if global {
                headers.insert("x-ratelimit-global", "true".parse().unwrap());
            }
            response
        }
        DcFailure::Status(code) => (
            StatusCode::from_u16(code).unwrap(),
            axum::Json(json!({ "message": "failure set by the test", "code": 0 })),
        )
            .into_response(),
    })
}

fn route(
    state: &DcState,
    method: &Method,
    path: &str,
    body: Value,
    files: Vec<(String, usize)>,
) -> Response {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = |i: usize| parts.get(i).and_then(|p| p.parse::<u64>().ok());
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["users", "@me"]) => axum::Json(user_json(BOT_ID, true)).into_response(),
        ("GET", ["channels", _]) => {
            let channel = id(1).unwrap_or(0);
            let (kind, parent) = state
                .channels
                .lock()
                .unwrap()
                .get(&channel)
                .copied()
                .unwrap_or((0, None));
            let mut info = json!({
                "id": channel.to_string(),
                "type": kind,
                "parent_id": parent.map(|p| p.to_string()),
            });
            if kind != DM {
                info["guild_id"] = json!(GUILD_ID.to_string());
            }
            axum::Json(info).into_response()
        }
        ("POST", ["users", "@me", "channels"]) => open_direct(state, &body),
        ("POST", ["channels", _, "messages"]) => {
            let channel = id(1).unwrap_or(0);
            let message = DcMessage {
                id: state.next_id.fetch_add(1, Ordering::SeqCst),
                channel,
                content: body["content"].as_str().unwrap_or("").to_string(),
                components: body["components"].clone(),
                files,
            };
            let answer = message_answer(&message);
            state.messages.lock().unwrap().push(message);
            answer
        }
        ("PATCH", ["channels", _, "messages", _]) => {
            let (channel, message) = (id(1).unwrap_or(0), id(3).unwrap_or(0));
            let mut messages = state.messages.lock().unwrap();
            let Some(found) = messages
                .iter_mut()
                .find(|m| m.id == message && m.channel == channel)
            else {
                return (
                    StatusCode::NOT_FOUND,
                    axum::Json(json!({ "message": "Unknown Message", "code": 10008 })),
                )
                    .into_response();
            };
            if let Some(content) = body["content"].as_str() {
                found.content = content.to_string();
            }
            if !body["components"].is_null() {
                found.components = body["components"].clone();
            }
            message_answer(found)
        }
        ("POST", ["channels", _, "messages", _, "threads"]) => {
            let (channel, message) = (id(1).unwrap_or(0), id(3).unwrap_or(0));
            if !state.threads_started.lock().unwrap().insert(message) {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({ "message": "A thread has already been created for this message", "code": 160004 })),
                )
                    .into_response();
            }
            state
                .channels
                .lock()
                .unwrap()
                .insert(message, (11, Some(channel)));
            axum::Json(json!({
                "id": message.to_string(),
                "type": 11,
                "guild_id": GUILD_ID.to_string(),
                "parent_id": channel.to_string(),
                "name": body["name"],
            }))
            .into_response()
        }
        ("POST", ["channels", _, "typing"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["webhooks", _, _]) => {
            let message = DcMessage {
                id: state.next_id.fetch_add(1, Ordering::SeqCst),
                channel: 0,
                content: body["content"].as_str().unwrap_or("").to_string(),
                components: Value::Null,
                files,
            };
            message_answer(&message)
        }
        _ => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "message": "404: Not Found", "code": 0 })),
        )
            .into_response(),
    }
}

/// Channel type of a direct-message channel.
const DM: u64 = 1;

/// `POST /users/@me/channels {"recipient_id": "…"}`: the person's direct-message channel
/// with the bot, opened the first time and the same one after.
fn open_direct(state: &DcState, body: &Value) -> Response {
    let Some(user) = body["recipient_id"]
        .as_str()
        .and_then(|id| id.parse::<u64>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({ "message": "Invalid Form Body", "code": 50035 })),
        )
            .into_response();
    };
    let channel = *state
        .direct
        .lock()
        .unwrap()
        .entry(user)
        .or_insert_with(|| state.next_id.fetch_add(1, Ordering::SeqCst));
    state.channels.lock().unwrap().insert(channel, (DM, None));
    axum::Json(json!({
        "id": channel.to_string(),
        "type": DM,
        "last_message_id": null,
        "flags": 0,
        "recipients": [user_json(user, false)],
    }))
    .into_response()
}

fn message_answer(message: &DcMessage) -> Response {
    axum::Json(json!({
        "id": message.id.to_string(),
        "channel_id": message.channel.to_string(),
        "content": message.content,
    }))
    .into_response()
}

/// The JSON body, or a multipart's `payload_json` and its files (name, size).
fn parse_body(headers: &HeaderMap, body: &[u8]) -> (Value, Vec<(String, usize)>) {
    let kind = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Some(boundary) = kind.split("boundary=").nth(1) else {
        return (
            serde_json::from_slice(body).unwrap_or(Value::Null),
            Vec::new(),
        );
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in split_bytes(body, delimiter.as_bytes()) {
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        if head.contains("name=\"payload_json\"") {
            payload = serde_json::from_slice(content).unwrap_or(Value::Null);
        } else if let Some(name) = head.split("filename=\"").nth(1) {
            let name = name.split('"').next().unwrap_or("").to_string();
            files.push((name, content.len()));
        }
    }
    (payload, files)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, delimiter) {
        parts.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    parts.push(rest);
    parts
}
