//! `FakeWhatsApp`: the slice of Meta's Graph API (Cloud API) fanops calls, and a webhook
//! sender that signs what it posts as Meta does.
//!
//! `GET /{phone_number_id}` answers the number's profile. `POST
//! /{phone_number_id}/messages` takes messages (answering
//! `{"messages": [{"id": "wamid.N"}]}`) and read receipts (`{"success": true}`); `POST
//! /{phone_number_id}/media` takes multipart uploads (answering `{"id": "media-N"}`). Only
//! [`TOKEN`] is accepted (else 401 with Graph's code 190) and only [`PHONE_NUMBER_ID`]
//! (else 400, code 100). Injected failures ([`FakeWhatsApp::fail_next`]) answer the next
//! message as Graph does when it is busy: 429 with `Retry-After`, or 400 with code 130429
//! (throughput) / 131056 (pair rate) / 131047 (outside the 24-hour window). Every request
//! is recorded before failures apply.
//!
//! [`SECOND_NUMBER_ID`] is a second number of the same app, taking the same token; each
//! accepted message records the number it was sent from as `from_number`.
//!
//! Media people send are in `fake_whatsapp_media.rs`: `GET /{media-id}` and the
//! download URL it names, which wants the token.
//!
//! The webhook side: [`signature`] is `sha256=` and the hex HMAC-SHA256 of the body under
//! the app secret; [`text_message`], [`button_reply`], [`list_reply`] and [`status`] build
//! Meta's payloads.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// The business number's id the fake serves.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
/// A second business number of the same app and token.
pub const SECOND_NUMBER_ID: &str = "106540352242923";
/// The access token the fake takes.
pub const TOKEN: &str = "wa-test-token";

/// One request as received.
#[derive(Debug, Clone)]
pub struct WaCall {
    /// `messages` or `media`.
    pub endpoint: String,
    pub phone_number_id: String,
    /// `Authorization` without `Bearer `.
    pub token: String,
    /// The JSON body (messages), or `{"raw": <body as text>}` (media).
    pub body: Value,
}

/// A failure injected for the next message sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WaFailure {
    /// 429 with `Retry-After: n` and code 130429.
    TooMany(u64),
    /// 400 with code 130429 and no `Retry-After`.
    Throughput,
    /// 400 with code 131056 (pair rate limit).
    PairRate,
    /// 400 with code 131047 (re-engagement: outside the 24-hour window).
    OutsideWindow,
}

#[path = "fake_whatsapp_media.rs"]
mod media;

#[derive(Default)]
struct WaState {
    /// Where the fake listens (`http://127.0.0.1:<port>`).
    base: String,
    calls: Mutex<Vec<WaCall>>,
    /// The files people sent, by media id.
    media: Mutex<std::collections::HashMap<String, media::Held>>,
    failures: Mutex<VecDeque<WaFailure>>,
    /// The messages accepted, in order.
    sent: Mutex<Vec<Value>>,
    next: AtomicU64,
}

/// The fake Graph API. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeWhatsApp {
    base: String,
    state: Arc<WaState>,
}

impl FakeWhatsApp {
    pub async fn start() -> FakeWhatsApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(WaState {
            base: base.clone(),
            next: AtomicU64::new(1),
            ..WaState::default()
        });
        let router = Router::new()
            .route("/v21.0/{number}/{endpoint}", post(graph))
            .route("/v21.0/{number}", get(profile))
            .route("/media-download/{id}", get(media::download))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeWhatsApp { base, state }
    }

    /// The Graph API base, for `[channels.whatsapp] api_url`.
    pub fn api_url(&self) -> String {
        format!("{}/v21.0", self.base)
    }

    pub fn fail_next(&self, failure: WaFailure) {
        self.state.failures.lock().unwrap().push_back(failure);
    }

    pub fn calls(&self) -> Vec<WaCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Every message accepted (not read receipts, not those refused), in order.
    pub fn messages(&self) -> Vec<Value> {
        self.state.sent.lock().unwrap().clone()
    }

    /// How many message requests arrived, refused ones included.
    pub fn message_attempts(&self) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.endpoint == "messages" && c.body.get("type").is_some())
            .count()
    }

    /// The messages sent to `to`.
    pub fn messages_to(&self, to: &str) -> Vec<Value> {
        self.messages()
            .into_iter()
            .filter(|m| m["to"] == to)
            .collect()
    }

    /// The read receipts (with the typing indicator) sent.
    pub fn receipts(&self) -> Vec<Value> {
        self.calls()
            .into_iter()
            .filter(|c| c.endpoint == "messages" && c.body["status"] == "read")
            .map(|c| c.body)
            .collect()
    }

    /// What a person reads of the messages sent to `to`: text bodies, interactive
    /// bodies, template parameters, and `[image]` / `[document name]` for media.
    pub fn texts_to(&self, to: &str) -> Vec<String> {
        self.messages_to(to).iter().map(shown).collect()
    }

    /// Polls `check` every 20 ms until it holds or `within` passes.
    pub async fn wait_for(&self, check: impl Fn(&FakeWhatsApp) -> bool, within: Duration) -> bool {
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

    /// Waits until some message to `to` shows `needle`.
    pub async fn wait_text(&self, to: &str, needle: &str, within: Duration) -> bool {
        self.wait_for(
            |f| f.texts_to(to).iter().any(|t| t.contains(needle)),
            within,
        )
        .await
    }
}

/// What a person reads of one message.
fn shown(message: &Value) -> String {
    match message["type"].as_str().unwrap_or("") {
        "text" => message["text"]["body"].as_str().unwrap_or("").to_string(),
        "interactive" => message["interactive"]["body"]["text"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        "template" => message["template"]["components"][0]["parameters"][0]["text"]
            .as_str()
            .unwrap_or("")
            .to_string(),
        "image" => "[image]".to_string(),
        "document" => format!(
            "[document {}]",
            message["document"]["filename"].as_str().unwrap_or("")
        ),
        other => format!("[{other}]"),
    }
}

fn graph_error(status: u16, code: i64, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    let body = json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}});
    (status, Json(body)).into_response()
}

async fn graph(
    State(state): State<Arc<WaState>>,
    Path((number, endpoint)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let token = bearer(&headers);
    let parsed = match endpoint.as_str() {
        "messages" => serde_json::from_slice(&body).unwrap_or(Value::Null),
        _ => json!({"raw": String::from_utf8_lossy(&body)}),
    };
    state.calls.lock().unwrap().push(WaCall {
        endpoint: endpoint.clone(),
        phone_number_id: number.clone(),
        token: token.clone(),
        body: parsed.clone(),
    });
    if token != TOKEN {
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    if number != PHONE_NUMBER_ID && number != SECOND_NUMBER_ID {
        return graph_error(
            400,
            100,
            "Unsupported post request. Object with ID does not exist",
        );
    }
    let n = state.next.fetch_add(1, Ordering::SeqCst);
    match endpoint.as_str() {
        "media" => Json(json!({"id": format!("media-{n}")})).into_response(),
        "messages" if parsed["status"] == "read" => Json(json!({"success": true})).into_response(),
        "messages" => message(&state, &parsed, n, &number),
        _ => graph_error(400, 100, "Unknown path components"),
    }
}

/// `GET /{phone_number_id}`: the number's profile; `GET /{media-id}`: where a file is.
async fn profile(
    State(state): State<Arc<WaState>>,
    Path(number): Path<String>,
    Query(query): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = bearer(&headers);
    if let Some(answer) = media::lookup(&state, &number, &query, &token) {
        return answer;
    }
    state.calls.lock().unwrap().push(WaCall {
        endpoint: "profile".into(),
        phone_number_id: number.clone(),
        token: token.clone(),
        body: Value::Null,
    });
    if token != TOKEN {
        return graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        );
    }
    if number != PHONE_NUMBER_ID && number != SECOND_NUMBER_ID {
        return graph_error(
            400,
            100,
            "Unsupported get request. Object with ID does not exist",
        );
    }
    Json(json!({"verified_name": "fanops test", "display_phone_number": "15550100", "id": number}))
        .into_response()
}

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .to_string()
}

fn message(state: &WaState, body: &Value, n: u64, number: &str) -> Response {
    if body["messaging_product"] != "whatsapp" || !body["to"].is_string() {
        return graph_error(400, 100, "(#100) Invalid parameter");
    }
    let failure = state.failures.lock().unwrap().pop_front();
    match failure {
        Some(WaFailure::TooMany(secs)) => {
            let mut response = graph_error(429, 130429, "(#130429) Rate limit hit");
            response
                .headers_mut()
                .insert("retry-after", secs.to_string().parse().unwrap());
            return response;
        }
        Some(WaFailure::Throughput) => return graph_error(400, 130429, "(#130429) Rate limit hit"),
        Some(WaFailure::PairRate) => {
            return graph_error(
                400,
                131056,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            )
        }
        Some(WaFailure::OutsideWindow) => return graph_error(400, 131047, "Re-engagement message"),
        None => {}
    }
    let to = body["to"].as_str().unwrap_or("");
    let id = format!("wamid.OUT{n}");
    let mut kept = body.clone();
    kept["id"] = json!(id);
    kept["from_number"] = json!(number);
    state.sent.lock().unwrap().push(kept);
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": id}],
    }))
    .into_response()
}

/// `X-Hub-Signature-256` of `body` under `app_secret`.
pub fn signature(app_secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A webhook delivery of `value` (a `messages` change of the fake's number).
pub fn change(value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] =
        json!({"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID});
    json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]})
}

/// `payload` as a delivery for business number `phone_number_id`.
pub fn for_number(mut payload: Value, phone_number_id: &str) -> Value {
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] =
        json!(phone_number_id);
    payload
}

fn contacts(from: &str, name: &str) -> Value {
    json!([{"profile": {"name": name}, "wa_id": from}])
}

/// Person `from` (shown as `name`) writes `text` as message `id` at unix time `at`.
pub fn text_message(from: &str, name: &str, id: &str, at: i64, text: &str) -> Value {
    change(json!({
        "contacts": contacts(from, name),
        "messages": [{"from": from, "id": id, "timestamp": at.to_string(), "type": "text", "text": {"body": text}}],
    }))
}

/// Person `from` presses reply button `payload` of message `prompt`, as message `id`.
pub fn button_reply(from: &str, id: &str, at: i64, prompt: &str, payload: &str) -> Value {
    change(json!({
        "contacts": contacts(from, "Presser"),
        "messages": [{"from": from, "id": id, "timestamp": at.to_string(), "type": "interactive",
            "context": {"from": "15550100", "id": prompt},
            "interactive": {"type": "button_reply", "button_reply": {"id": payload, "title": "Confirm"}}}],
    }))
}

/// Person `from` picks row `payload` of list message `prompt`, as message `id`.
pub fn list_reply(from: &str, id: &str, at: i64, prompt: &str, payload: &str) -> Value {
    change(json!({
        "contacts": contacts(from, "Picker"),
        "messages": [{"from": from, "id": id, "timestamp": at.to_string(), "type": "interactive",
            "context": {"from": "15550100", "id": prompt},
            "interactive": {"type": "list_reply", "list_reply": {"id": payload, "title": "Allow"}}}],
    }))
}

/// Meta's status `status` (`sent`, `delivered`, `read`, `failed`) of sent message `id`.
pub fn status(id: &str, to: &str, status: &str, error: Option<(i64, &str)>) -> Value {
    let mut entry =
        json!({"id": id, "status": status, "timestamp": "1700000000", "recipient_id": to});
    if let Some((code, title)) = error {
        entry["errors"] = json!([{"code": code, "title": title}]);
    }
    change(json!({"statuses": [entry]}))
}
