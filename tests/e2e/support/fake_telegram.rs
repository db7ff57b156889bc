//! `FakeTelegram`: the slice of the Telegram Bot API a teloxide bot uses.
//!
//! Requests go to `{url}/bot{token}/{Method}`; method names are matched
//! case-insensitively (teloxide sends `SendMessage`, `GetUpdates`, ...).
//! Bodies are JSON, multipart (`SendPhoto`, `SendDocument`) or urlencoded;
//! query parameters are merged in. Every request is handled in this order:
//! 1. recorded as a [`TgCall`] (lowercase method, token, parsed body);
//! 2. injected failures from [`FakeTelegram::fail_next`];
//! 3. the method. Unknown methods answer 404 `method not found`.
//!
//! The bot is `@fanops_test_bot` ([`BOT_USERNAME`], id [`BOT_ID`], whatever
//! the token). Bot messages get ids per chat from 1000, pushed user messages
//! ids per chat from 1, updates ids from 1. Dates are now.
//!
//! Note that teloxide sleeps 10 s after any 5xx answer, so
//! [`TgFailure::Status`] with 5xx makes a teloxide client slow.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::Uri;
use axum::response::Response;
use axum::Router;
use serde_json::{json, Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

/// The bot's username (without `@`), as answered by `getMe`.
pub const BOT_USERNAME: &str = "fanops_test_bot";
/// The bot's user id.
pub const BOT_ID: i64 = 7_000_000_001;
/// The longest a `getUpdates` long poll is held, whatever its `timeout`: Telegram holds an
/// idle poll for the whole timeout it was given, up to 50 s.
const MAX_POLL: Duration = Duration::from_secs(50);

/// One request as received.
#[derive(Debug, Clone, PartialEq)]
pub struct TgCall {
    /// Lowercase, e.g. `"sendmessage"`.
    pub method: String,
    /// The token from the `bot{token}` path segment (not checked).
    pub token: String,
    /// The JSON body (an object; `{}` when empty), query parameters merged in.
    /// Multipart and urlencoded fields are kept as strings; a multipart file
    /// part becomes `"_file": {"field", "filename", "bytes"}`.
    pub body: Value,
}

/// An injected failure for the next call of a method.
#[derive(Debug, Clone, PartialEq)]
pub enum TgFailure {
    /// 429 with `parameters.retry_after` = this many seconds.
    RetryAfter(u64),
    /// This status with `{"ok": false, ...}`.
    Status(u16),
    /// Close the connection without answering.
    Drop,
}

/// A message the bot sent (the current version, edits applied).
struct BotMessage {
    chat_id: i64,
    message_id: i64,
    /// `Some` for text messages (the ones [`FakeTelegram::sent_texts`] lists).
    text: Option<String>,
    json: Value,
}

#[path = "fake_telegram_media.rs"]
mod media;

struct TgState {
    calls: Mutex<Vec<TgCall>>,
    /// Updates not yet confirmed by a `getUpdates` offset, in id order.
    updates: Mutex<VecDeque<Value>>,
    next_update: AtomicI64,
    notify: Notify,
    messages: Mutex<Vec<BotMessage>>,
    /// (chat id, first id) → next message id; bot messages count from 1000,
    /// user messages from 1.
    next_message: Mutex<HashMap<(i64, i64), i64>>,
    /// chat id → the chat object of the last push into that chat.
    chats: Mutex<HashMap<i64, Value>>,
    failures: Mutex<HashMap<String, VecDeque<TgFailure>>>,
    get_updates: AtomicUsize,
    last_offset: Mutex<Option<i64>>,
    /// Tokens answered 401 Unauthorized, as Telegram answers a revoked or mistyped one.
    refused_tokens: Mutex<Vec<String>>,
    /// Chats Telegram does not know (the bot was never added, or a mistyped id): sends
    /// to them get 400 "Bad Request: chat not found".
    unknown_chats: Mutex<Vec<i64>>,
    /// file id → bytes, for `getFile` and downloads.
    files: Mutex<HashMap<String, Vec<u8>>>,
    /// The webhook `setWebhook` set (`""` when none), as `getWebhookInfo` reports it.
    webhook: Mutex<String>,
}

/// The fake Bot API server. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeTelegram {
    base: String,
    state: Arc<TgState>,
}

impl std::fmt::Debug for FakeTelegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeTelegram")
            .field("url", &self.url())
            .finish()
    }
}

impl FakeTelegram {
    /// Binds `127.0.0.1:0` and serves on a spawned task.
    pub async fn start() -> FakeTelegram {
        let state = Arc::new(TgState {
            calls: Mutex::new(Vec::new()),
            updates: Mutex::new(VecDeque::new()),
            next_update: AtomicI64::new(1),
            notify: Notify::new(),
            messages: Mutex::new(Vec::new()),
            next_message: Mutex::new(HashMap::new()),
            chats: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            get_updates: AtomicUsize::new(0),
            last_offset: Mutex::new(None),
            refused_tokens: Mutex::new(Vec::new()),
            webhook: Mutex::new(String::new()),
            unknown_chats: Mutex::new(Vec::new()),
            files: Mutex::new(HashMap::new()),
        });
        let router = Router::new().fallback(handle).with_state(state.clone());
        let addr = super::serve(router).await;
        FakeTelegram {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// Every request made with `token` is answered 401 Unauthorized.
    pub fn refuse_token(&self, token: &str) {
        self.state.refused_tokens.lock().unwrap().push(token.into());
    }

    /// A webhook is set, as by another deployment's `setWebhook`.
    pub fn set_webhook(&self, url: &str) {
        *self.state.webhook.lock().unwrap() = url.to_string();
    }

    /// Sends and edits in `chat_id` are answered 400 "Bad Request: chat not found".
    pub fn forget_chat(&self, chat_id: i64) {
        self.state.unknown_chats.lock().unwrap().push(chat_id);
    }

    /// The API URL, e.g. `http://127.0.0.1:PORT` (teloxide's `api_url`).
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// Queues a message from `User{user_id}` in `chat_id` (private when
    /// `chat_id == user_id`, else a group). Text starting with `/` gets a
    /// `bot_command` entity. Returns the update id.
    pub fn push_text(&self, user_id: i64, chat_id: i64, text: &str) -> i64 {
        let mut message = self.user_message(user_id, chat_id, text);
        if text.starts_with('/') {
            let command = text.split_whitespace().next().unwrap_or(text);
            message["entities"] =
                json!([{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]);
        }
        self.push_update(json!({ "message": message }))
    }

    /// Queues a raw update; `update_id` is assigned when missing. Returns it.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = match update.get("update_id").and_then(Value::as_i64) {
            Some(id) => {
                self.state.next_update.fetch_max(id + 1, Ordering::SeqCst);
                id
            }
            None => self.state.next_update.fetch_add(1, Ordering::SeqCst),
        };
        update["update_id"] = json!(id);
        let mut updates = self.state.updates.lock().unwrap();
        let at = updates.partition_point(|u| u["update_id"].as_i64().unwrap_or(0) <= id);
        updates.insert(at, update);
        drop(updates);
        self.state.notify.notify_waiters();
        id
    }

    /// Queues a `callback_query` from `User{user_id}` on bot message
    /// `message_id` in `chat_id` (the stored message, or a stand-in).
    pub fn push_callback(&self, user_id: i64, chat_id: i64, message_id: i64, data: &str) -> i64 {
        let id = self.state.next_update.fetch_add(1, Ordering::SeqCst);
        self.push_update(json!({
            "update_id": id,
            "callback_query": {
                "id": format!("cbq{id}"),
                "from": user(user_id),
                "message": self.bot_message(chat_id, message_id),
                "chat_instance": format!("ci{chat_id}"),
                "data": data,
            }
        }))
    }

    /// Queues a message replying to bot message `bot_message_id`.
    pub fn push_reply_to_bot(
        &self,
        user_id: i64,
        chat_id: i64,
        text: &str,
        bot_message_id: i64,
    ) -> i64 {
        let mut message = self.user_message(user_id, chat_id, text);
        message["reply_to_message"] = self.bot_message(chat_id, bot_message_id);
        self.push_update(json!({ "message": message }))
    }

    /// Queues `@fanops_test_bot{text}` with a `mention` entity on the handle.
    pub fn push_mention(&self, user_id: i64, chat_id: i64, text: &str) -> i64 {
        let handle = format!("@{BOT_USERNAME}");
        let mut message = self.user_message(user_id, chat_id, &format!("{handle}{text}"));
        message["entities"] =
            json!([{"type": "mention", "offset": 0, "length": utf16_len(&handle)}]);
        self.push_update(json!({ "message": message }))
    }

    /// Every request received, in arrival order (failed ones included).
    pub fn calls(&self) -> Vec<TgCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The calls of one method (case-insensitive).
    pub fn calls_of(&self, method: &str) -> Vec<TgCall> {
        let method = method.to_ascii_lowercase();
        let calls = self.state.calls.lock().unwrap();
        calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// The id of the last message the bot sent to `chat_id` whose text contains
    /// `needle` (edits applied).
    pub fn message_id(&self, chat_id: i64, needle: &str) -> Option<i64> {
        let messages = self.state.messages.lock().unwrap();
        messages
            .iter()
            .rev()
            .find(|m| m.chat_id == chat_id && m.text.as_deref().is_some_and(|t| t.contains(needle)))
            .map(|m| m.message_id)
    }

    /// The current text (edits applied) of every text message the bot sent
    /// to `chat_id` and did not delete, in send order.
    pub fn sent_texts(&self, chat_id: i64) -> Vec<String> {
        let messages = self.state.messages.lock().unwrap();
        messages
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .filter_map(|m| m.text.clone())
            .collect()
    }

    /// The next calls of `method` fail with these, in order.
    pub fn fail_next(&self, method: &str, failures: Vec<TgFailure>) {
        let mut all = self.state.failures.lock().unwrap();
        all.entry(method.to_ascii_lowercase())
            .or_default()
            .extend(failures);
    }

    /// Polls `pred(calls)` every 10 ms until it holds (`true`) or `timeout`
    /// passes (`false`). The predicate may call back into this fake.
    pub async fn wait_for(&self, pred: impl Fn(&[TgCall]) -> bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if pred(&self.calls()) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// How many `getUpdates` calls arrived (failed ones included).
    pub fn get_updates_count(&self) -> usize {
        self.state.get_updates.load(Ordering::SeqCst)
    }

    /// The `offset` of the most recent `getUpdates` call (`None` if it had
    /// none), recorded on arrival.
    pub fn last_offset(&self) -> Option<i64> {
        *self.state.last_offset.lock().unwrap()
    }

    /// A fresh message from `User{user_id}`; remembers the chat.
    fn user_message(&self, user_id: i64, chat_id: i64, text: &str) -> Value {
        user_message_of(&self.state, user_id, chat_id, text)
    }

    /// The stored bot message, or a stand-in with empty text.
    fn bot_message(&self, chat_id: i64, message_id: i64) -> Value {
        let messages = self.state.messages.lock().unwrap();
        if let Some(m) = messages
            .iter()
            .find(|m| m.chat_id == chat_id && m.message_id == message_id)
        {
            return m.json.clone();
        }
        drop(messages);
        json!({
            "message_id": message_id,
            "date": now(),
            "chat": chat_of(&self.state, chat_id),
            "from": bot_user(),
            "text": "",
        })
    }
}

async fn handle(State(state): State<Arc<TgState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut body = parse_body(&content_type, &bytes);
    if let Some(query) = parts.uri.query() {
        for (k, v) in form_pairs(query) {
            body.entry(k).or_insert(Value::String(v));
        }
    }
    if let Some((_, rest)) = parts.uri.path().split_once("/file/bot") {
        let (token, path) = rest.split_once('/').unwrap_or((rest, ""));
        return media::serve_file(&state, token, path);
    }
    // `/bot{token}/{Method}`, possibly below a path prefix.
    let mut segments = parts.uri.path().rsplit('/');
    let (method, bot) = (segments.next().unwrap_or(""), segments.next().unwrap_or(""));
    let Some(token) = bot.strip_prefix("bot").map(str::to_string) else {
        return not_found();
    };
    let method = method.to_ascii_lowercase();
    let body = Value::Object(body);
    let call = TgCall {
        method: method.clone(),
        token: token.clone(),
        body: body.clone(),
    };
    state.calls.lock().unwrap().push(call);
    if state.refused_tokens.lock().unwrap().contains(&token) {
        let body = json!({"ok": false, "error_code": 401, "description": "Unauthorized"});
        return super::json_response(401, &body);
    }
    let chat = int(&body["chat_id"]);
    if chat.is_some_and(|c| state.unknown_chats.lock().unwrap().contains(&c)) {
        let body =
            json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"});
        return super::json_response(400, &body);
    }
    if method == "getupdates" {
        state.get_updates.fetch_add(1, Ordering::SeqCst);
        *state.last_offset.lock().unwrap() = int(&body["offset"]);
    }

    let failure = state
        .failures
        .lock()
        .unwrap()
        .get_mut(&method)
        .and_then(VecDeque::pop_front);
    match failure {
        Some(TgFailure::RetryAfter(secs)) => {
            return super::json_response(
                429,
                &json!({
                    "ok": false,
                    "error_code": 429,
                    "description": format!("Too Many Requests: retry after {secs}"),
                    "parameters": {"retry_after": secs},
                }),
            )
        }
        Some(TgFailure::Status(status)) => {
            let reason = axum::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let body = json!({"ok": false, "error_code": status, "description": reason});
            return super::json_response(status, &body);
        }
        // Unwinding the connection task makes hyper drop the connection
        // unanswered; `resume_unwind` skips the panic hook, so nothing is
        // printed.
        Some(TgFailure::Drop) => std::panic::resume_unwind(Box::new("FakeTelegram: Drop")),
        None => {}
    }

    let result = match method.as_str() {
        "getme" => Ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "FanOps Test", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false,
            "supports_inline_queries": false, "can_connect_to_business": false,
            "has_main_web_app": false, "has_topics_enabled": false,
        })),
        "getupdates" => Ok(get_updates(&state, &body).await),
        "getwebhookinfo" => {
            let url = state.webhook.lock().unwrap().clone();
            Ok(json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "setwebhook" => {
            *state.webhook.lock().unwrap() = body["url"].as_str().unwrap_or("").to_string();
            Ok(json!(true))
        }
        "deletewebhook" => {
            state.webhook.lock().unwrap().clear();
            Ok(json!(true))
        }
        "answercallbackquery"
        | "sendchataction"
        | "setmycommands"
        | "deletemycommands"
        | "setmydescription"
        | "setmyshortdescription" => Ok(json!(true)),
        "getfile" => media::get_file(&state, &body),
        "sendmessage" => send(&state, &body, "text"),
        "sendphoto" => send(&state, &body, "photo"),
        "senddocument" => send(&state, &body, "document"),
        "editmessagetext" | "editmessagereplymarkup" | "deletemessage" => {
            edit(&state, &body, &method)
        }
        _ => return not_found(),
    };
    match result {
        Ok(result) => super::json_response(200, &json!({"ok": true, "result": result})),
        Err(description) => super::json_response(
            400,
            &json!({"ok": false, "error_code": 400, "description": description}),
        ),
    }
}

fn not_found() -> Response {
    let body =
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"});
    super::json_response(404, &body)
}

/// Drops updates below `offset`, then returns up to `limit` of the rest,
/// waiting up to `timeout` (at most [`MAX_POLL`]) for one to be pushed.
async fn get_updates(state: &TgState, body: &Value) -> Value {
    let offset = int(&body["offset"]);
    let limit = int(&body["limit"]).unwrap_or(100).clamp(1, 100) as usize;
    let wait = Duration::from_secs(int(&body["timeout"]).unwrap_or(0).max(0) as u64);
    let deadline = Instant::now() + wait.min(MAX_POLL);
    let take = || {
        let mut updates = state.updates.lock().unwrap();
        if let Some(offset) = offset.filter(|o| *o > 0) {
            updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
        }
        updates.iter().take(limit).cloned().collect::<Vec<_>>()
    };
    loop {
        // Registered before looking, so a push in between still wakes us.
        let notified = state.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let batch = take();
        if !batch.is_empty() || Instant::now() >= deadline {
            return Value::Array(batch);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return Value::Array(take());
        }
    }
}

/// `sendMessage` (`kind` "text"), `sendPhoto` ("photo"), `sendDocument`.
fn send(state: &TgState, body: &Value, kind: &str) -> Result<Value, String> {
    let chat_id = int(&body["chat_id"]).ok_or("Bad Request: chat not found")?;
    let message_id = next_id(state, chat_id, 1000);
    let mut message = json!({
        "message_id": message_id,
        "date": now(),
        "chat": chat_of(state, chat_id),
        "from": bot_user(),
    });
    let file = &body["_file"];
    let size = file["bytes"].as_u64().unwrap_or(0);
    let file_id = format!("file{chat_id}_{message_id}");
    let meta = json!({"file_id": file_id, "file_unique_id": file_id, "file_size": size});
    let text = match kind {
        "text" => {
            let text = body["text"].as_str().unwrap_or("");
            if text.is_empty() {
                return Err("Bad Request: message text is empty".into());
            }
            message["text"] = json!(text);
            Some(text.to_string())
        }
        "photo" => {
            let mut photo = meta;
            photo["width"] = json!(800);
            photo["height"] = json!(600);
            message["photo"] = json!([photo]);
            None
        }
        _ => {
            let mut document = meta;
            document["file_name"] = file["filename"].clone();
            message["document"] = document;
            None
        }
    };
    if let Some(caption) = body["caption"].as_str() {
        message["caption"] = json!(caption);
    }
    if let Some(markup) = inline_markup(&body["reply_markup"]) {
        message["reply_markup"] = markup;
    }
    state.messages.lock().unwrap().push(BotMessage {
        chat_id,
        message_id,
        text,
        json: message.clone(),
    });
    Ok(message)
}

/// `editMessageText`, `editMessageReplyMarkup` (an edit without
/// `reply_markup` drops the keyboard, as Telegram does) and `deleteMessage`.
fn edit(state: &TgState, body: &Value, method: &str) -> Result<Value, String> {
    if body.get("inline_message_id").is_some() {
        return Ok(json!(true));
    }
    let (chat_id, message_id) = (int(&body["chat_id"]), int(&body["message_id"]));
    let mut messages = state.messages.lock().unwrap();
    let deleting = method == "deletemessage";
    let at = messages
        .iter()
        .position(|m| Some(m.chat_id) == chat_id && Some(m.message_id) == message_id)
        .ok_or(if deleting {
            "Bad Request: message to delete not found"
        } else {
            "Bad Request: message to edit not found"
        })?;
    if deleting {
        messages.remove(at);
        return Ok(json!(true));
    }
    let message = &mut messages[at];
    if method == "editmessagetext" {
        let text = body["text"].as_str().unwrap_or("");
        if text.is_empty() {
            return Err("Bad Request: message text is empty".into());
        }
        message.text = Some(text.to_string());
        message.json["text"] = json!(text);
    }
    let json = message.json.as_object_mut().expect("message object");
    match inline_markup(&body["reply_markup"]) {
        Some(markup) => json.insert("reply_markup".into(), markup),
        None => json.remove("reply_markup"),
    };
    json.insert("edit_date".into(), json!(now()));
    Ok(message.json.clone())
}

/// An inline keyboard given as an object or (multipart) a JSON string.
fn inline_markup(value: &Value) -> Option<Value> {
    let value = match value {
        Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    value.get("inline_keyboard").is_some().then_some(value)
}

/// The body as an object of fields: JSON, multipart or urlencoded.
fn parse_body(content_type: &str, bytes: &[u8]) -> Map<String, Value> {
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("multipart/form-data") {
        return parse_multipart(content_type, bytes);
    }
    if lower.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(bytes);
        return form_pairs(&text)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => map,
        _ if bytes.is_empty() => Map::new(),
        _ => Map::from_iter([("_body".into(), String::from_utf8_lossy(bytes).into())]),
    }
}

/// Text parts become string fields; the (last) part with a filename becomes
/// `"_file": {"field", "filename", "bytes"}`.
fn parse_multipart(content_type: &str, bytes: &[u8]) -> Map<String, Value> {
    let mut fields = Map::new();
    let Some(boundary) = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
    else {
        return fields;
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let delimiter = delimiter.as_bytes();
    let mut rest = bytes;
    while let Some(at) = find(rest, delimiter) {
        rest = &rest[at + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let end = find(rest, delimiter).unwrap_or(rest.len());
        let part = rest[..end].strip_prefix(b"\r\n").unwrap_or(&rest[..end]);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let (head, content) = (String::from_utf8_lossy(&part[..split]), &part[split + 4..]);
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        let name = disposition_param(disposition, "name").unwrap_or_default();
        match disposition_param(disposition, "filename") {
            Some(filename) => {
                let file = json!({"field": name, "filename": filename, "bytes": content.len()});
                fields.insert("_file".into(), file);
            }
            None => {
                let text = String::from_utf8_lossy(content).into_owned();
                fields.insert(name, Value::String(text));
            }
        }
    }
    fields
}

/// `name="value"` (or unquoted) from a `Content-Disposition` line.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decoded `a=b&c=d` pairs.
fn form_pairs(text: &str) -> Vec<(String, String)> {
    format!("/?{text}")
        .parse::<Uri>()
        .ok()
        .and_then(|uri| Query::<Vec<(String, String)>>::try_from_uri(&uri).ok())
        .map(|q| q.0)
        .unwrap_or_default()
}

/// A number, or a string holding one (multipart and urlencoded fields).
fn int(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The next message id in `chat_id` of the series starting at `first`.
fn next_id(state: &TgState, chat_id: i64, first: i64) -> i64 {
    let mut counters = state.next_message.lock().unwrap();
    let next = counters.entry((chat_id, first)).or_insert(first);
    *next += 1;
    *next - 1
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("User{id}"), "username": format!("user{id}")})
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "FanOps Test", "username": BOT_USERNAME})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": format!("User{id}"), "username": format!("user{id}")})
}

/// The chat of the last push into `chat_id`; else private for positive ids,
/// a group for negative ones.
fn chat_of(state: &TgState, chat_id: i64) -> Value {
    match state.chats.lock().unwrap().get(&chat_id) {
        Some(chat) => chat.clone(),
        None if chat_id > 0 => private_chat(chat_id),
        None => json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")}),
    }
}

/// A message from `User{user_id}` in `chat_id` (private when the ids are equal).
fn user_message_of(state: &TgState, user_id: i64, chat_id: i64, text: &str) -> Value {
    let chat = if chat_id == user_id {
        private_chat(chat_id)
    } else {
        json!({"id": chat_id, "type": "group", "title": format!("Group {chat_id}")})
    };
    state.chats.lock().unwrap().insert(chat_id, chat.clone());
    let message_id = next_id(state, chat_id, 1);
    json!({
        "message_id": message_id,
        "date": now(),
        "chat": chat,
        "from": user(user_id),
        "text": text,
    })
}
