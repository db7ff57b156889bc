//! The fake's REST API: every call recorded, failures a test set answered first, then
//! each route as Discord answers it.

use super::{user_json, DcCall, DcFailure, DcMessage, DcState, APP_ID, BOT_ID, GUILD_ID};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// The route without ids, for failures set by kind: `"POST messages"`.
fn route_kind(method: &Method, path: &str) -> String {
    let last = path
        .rsplit('/')
        .find(|part| part.parse::<u64>().is_err() && !part.starts_with("token-"))
        .unwrap_or("");
    format!("{method} {last}")
}

pub(super) async fn handle(
    State(state): State<Arc<DcState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if uri.path().starts_with("/attachments/") {
        return super::cdn::serve(&state, &uri);
    }
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
        ("GET", ["applications", "@me"]) => axum::Json(json!({
            "id": APP_ID.to_string(),
            "name": "fanops test",
            "description": "",
            "bot_public": false,
            "bot_require_code_grant": false,
            "flags": state.app_flags.load(Ordering::SeqCst),
            "bot": user_json(BOT_ID, true),
        }))
        .into_response(),
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
