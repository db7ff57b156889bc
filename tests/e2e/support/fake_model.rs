//! `FakeModel`: an OpenAI-compatible `POST /v1/chat/completions` (and, in
//! `fake_transcribe`, `POST /v1/audio/transcriptions`).
//!
//! Replies come from a FIFO script ([`FakeModel::push`]); when the script is
//! empty, from the responder ([`FakeModel::respond_with`]); otherwise the
//! answer is `Text("(no scripted reply)")`.
//!
//! Usage numbers are deterministic:
//! - `prompt_tokens` = chars of `serde_json::to_string(&body["messages"])` / 4
//! - `completion_tokens` = chars of the content (or of all tool-call argument
//!   strings together) / 4 + 1
//! - `cached_tokens` = 1024 when `prompt_tokens > 1024`, else 0
//! - `total_tokens` = prompt + completion
//!
//! [`FakeModel::send_usage`]`(false)` leaves `usage` out of every answer, as some
//! OpenAI-compatible providers do.
//!
//! `GET /v1/models` lists the models it offers ([`MODEL_IDS`] unless
//! [`FakeModel::offer`] says otherwise). Any bearer key is accepted unless
//! [`FakeModel::accept_only`] names one; then another is refused with 401
//! `invalid_api_key` on every route, as OpenAI does. [`FakeModel::list_to_anyone`]
//! lists the models without a key, as OpenRouter does (completions still need one).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

/// One scripted answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An assistant message with this content; `finish_reason: "stop"`.
    Text(String),
    /// Tool calls `(name, arguments)`; `content: null`,
    /// `finish_reason: "tool_calls"`. Arguments are serialized to a JSON
    /// string, except a `Value::String`, which is sent verbatim (so a test
    /// can send malformed arguments).
    ToolCalls(Vec<(String, Value)>),
    /// An HTTP error: this status and this body (sent as-is; content type
    /// `application/json` when the body parses as JSON, else `text/plain`).
    Status(u16, String),
    /// `429 Too Many Requests` with OpenAI's `rate_limit_exceeded` body and, when given,
    /// `retry-after-ms: N` and `retry-after: ⌈N / 1000⌉` (seconds), as OpenAI sends them.
    RateLimited { retry_after_ms: Option<u64> },
}

impl Reply {
    /// `Reply::Text`.
    pub fn text(content: impl Into<String>) -> Reply {
        Reply::Text(content.into())
    }

    /// A single tool call.
    pub fn tool(name: impl Into<String>, arguments: Value) -> Reply {
        Reply::ToolCalls(vec![(name.into(), arguments)])
    }
}

type Responder = Arc<dyn Fn(&Value) -> Reply + Send + Sync + 'static>;

/// The models `GET /v1/models` lists by default.
pub const MODEL_IDS: &[&str] = &["fake-1", "fake-2"];

pub struct ModelState {
    /// The only key accepted, when set.
    key: Mutex<Option<String>>,
    /// What `GET /v1/models` lists.
    offered: Mutex<Vec<String>>,
    /// `GET /v1/models` needs no key.
    public_list: AtomicBool,
    script: Mutex<VecDeque<Reply>>,
    responder: Mutex<Option<Responder>>,
    requests: Mutex<Vec<Value>>,
    delay: Mutex<Duration>,
    /// Whether answers carry `usage` (default true).
    usage: AtomicBool,
    /// Numbers `call_<n>` ids; per server, starting at 1.
    next_call: AtomicU64,
    /// Numbers `chatcmpl-<n>` ids; per server, starting at 1.
    next_completion: AtomicU64,
    /// `POST /v1/audio/transcriptions`.
    pub transcribe: super::fake_transcribe::TranscribeState,
}

/// The fake model server. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeModel {
    base: String,
    state: Arc<ModelState>,
}

impl std::fmt::Debug for FakeModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeModel")
            .field("url", &self.url())
            .finish()
    }
}

impl FakeModel {
    /// Binds `127.0.0.1:0` and serves on a spawned task.
    pub async fn start() -> FakeModel {
        let state = Arc::new(ModelState {
            key: Mutex::new(None),
            offered: Mutex::new(MODEL_IDS.iter().map(|m| m.to_string()).collect()),
            public_list: AtomicBool::new(false),
            script: Mutex::new(VecDeque::new()),
            responder: Mutex::new(None),
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            usage: AtomicBool::new(true),
            next_call: AtomicU64::new(1),
            next_completion: AtomicU64::new(1),
            transcribe: Default::default(),
        });
        let router = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route(
                "/v1/audio/transcriptions",
                post(super::fake_transcribe::transcriptions),
            )
            .route("/v1/models", get(list_models))
            .fallback(not_found)
            .with_state(state.clone());
        let addr = super::serve(router).await;
        FakeModel {
            base: format!("http://{addr}/v1"),
            state,
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT/v1`; the endpoint is
    /// `{url}/chat/completions`.
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// Accepts only `key` from now on; any other is refused with 401.
    pub fn accept_only(&self, key: &str) {
        *self.state.key.lock().unwrap() = Some(key.to_string());
    }

    /// `GET /v1/models` answers without a key from now on.
    pub fn list_to_anyone(&self) {
        self.state.public_list.store(true, Ordering::SeqCst);
    }

    /// What `GET /v1/models` lists from now on.
    pub fn offer(&self, ids: &[&str]) {
        *self.state.offered.lock().unwrap() = ids.iter().map(|m| m.to_string()).collect();
    }

    /// Appends one reply to the script.
    pub fn push(&self, reply: Reply) {
        self.state.script.lock().unwrap().push_back(reply);
    }

    /// Appends replies to the script, in order.
    pub fn push_all(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.script.lock().unwrap().extend(replies);
    }

    /// How many scripted replies are still unused.
    pub fn pending(&self) -> usize {
        self.state.script.lock().unwrap().len()
    }

    /// Answers with `f(request body)` whenever the script is empty.
    pub fn respond_with(&self, f: impl Fn(&Value) -> Reply + Send + Sync + 'static) {
        *self.state.responder.lock().unwrap() = Some(Arc::new(f));
    }

    /// Every request body received at `/v1/chat/completions`, in order
    /// (including rejected ones; a body that is not JSON is kept as a string).
    pub fn requests(&self) -> Vec<Value> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The last request body received, if any.
    pub fn last_request(&self) -> Option<Value> {
        self.state.requests.lock().unwrap().last().cloned()
    }

    pub fn request_count(&self) -> usize {
        self.state.requests.lock().unwrap().len()
    }

    /// Forgets the recorded requests (the script is kept).
    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap().clear();
    }

    /// Sleeps this long before answering each request (default 0). The
    /// request is recorded before the sleep.
    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    /// What the next transcription hears.
    pub fn hear(&self, text: impl Into<String>) {
        let mut transcripts = self.state.transcribe.transcripts.lock().unwrap();
        transcripts.push_back(text.into());
    }

    /// The next transcription is answered `status` with `body`.
    pub fn fail_transcription(&self, status: u16, body: &str) {
        let mut failures = self.state.transcribe.failures.lock().unwrap();
        failures.push_back((status, body.to_string()));
    }

    /// Every transcription request, as it crossed the wire.
    pub fn transcriptions(&self) -> Vec<super::fake_transcribe::Transcription> {
        self.state.transcribe.requests.lock().unwrap().clone()
    }

    /// Whether answers carry a `usage` object (default true).
    pub fn send_usage(&self, yes: bool) {
        self.state.usage.store(yes, Ordering::SeqCst);
    }
}

/// The text of the newest user message of a request ("" when there is none).
pub fn last_user_text(request: &Value) -> &str {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_str())
        .unwrap_or("")
}

/// Whether a request answers tool calls (its last message, past the system note of the
/// time that ends every request, is a tool result).
pub fn after_tool(request: &Value) -> bool {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] != "system"))
        .is_some_and(|m| m["role"] == "tool")
}

/// The usage object for a request and a completion text length.
pub fn usage_for(request: &Value, completion_chars: usize) -> Value {
    let prompt_chars = serde_json::to_string(&request["messages"])
        .unwrap_or_default()
        .chars()
        .count();
    let prompt_tokens = prompt_chars / 4;
    let completion_tokens = completion_chars / 4 + 1;
    let cached_tokens = if prompt_tokens > 1024 { 1024 } else { 0 };
    json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": { "cached_tokens": cached_tokens },
    })
}

async fn chat_completions(
    State(state): State<Arc<ModelState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let parsed: Result<Value, _> = serde_json::from_slice(&body);
    let recorded = match &parsed {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    state.requests.lock().unwrap().push(recorded);

    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    if let Some(refusal) = refused_key(&state, &headers) {
        return refusal;
    }
    let request = match parsed {
        Ok(v) if v.is_object() => v,
        _ => {
            return openai_error(
                400,
                "We could not parse the JSON body of your request.",
                "invalid_request_error",
                "invalid_json",
            )
        }
    };

    let scripted = state.script.lock().unwrap().pop_front();
    let reply = match scripted {
        Some(reply) => reply,
        None => {
            let responder = state.responder.lock().unwrap().clone();
            match responder {
                Some(f) => f(&request),
                None => Reply::Text("(no scripted reply)".into()),
            }
        }
    };
    completion(&state, &request, reply)
}

fn completion(state: &ModelState, request: &Value, reply: Reply) -> Response {
    let (message, finish_reason, completion_chars) = match reply {
        Reply::Status(status, body) => {
            let mut response = Response::new(axum::body::Body::from(body.clone()));
            *response.status_mut() = axum::http::StatusCode::from_u16(status)
                .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            response.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static(content_type),
            );
            return response;
        }
        Reply::RateLimited { retry_after_ms } => return rate_limited(retry_after_ms),
        Reply::Text(content) => {
            let chars = content.chars().count();
            (
                json!({ "role": "assistant", "content": content }),
                "stop",
                chars,
            )
        }
        Reply::ToolCalls(calls) => {
            let mut chars = 0;
            let tool_calls: Vec<Value> = calls
                .into_iter()
                .map(|(name, arguments)| {
                    let arguments = match arguments {
                        Value::String(raw) => raw,
                        other => other.to_string(),
                    };
                    chars += arguments.chars().count();
                    let n = state.next_call.fetch_add(1, Ordering::SeqCst);
                    json!({
                        "id": format!("call_{n}"),
                        "type": "function",
                        "function": { "name": name, "arguments": arguments },
                    })
                })
                .collect();
            (
                json!({ "role": "assistant", "content": null, "tool_calls": tool_calls }),
                "tool_calls",
                chars,
            )
        }
    };
    let n = state.next_completion.fetch_add(1, Ordering::SeqCst);
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("fake-model");
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut body = json!({
        "id": format!("chatcmpl-{n}"),
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
        "usage": usage_for(request, completion_chars),
    });
    if !state.usage.load(Ordering::SeqCst) {
        body.as_object_mut().unwrap().remove("usage");
    }
    super::json_response(200, &body)
}

fn rate_limited(retry_after_ms: Option<u64>) -> Response {
    let mut response = openai_error(
        429,
        "Rate limit reached for requests. Please try again later.",
        "requests",
        "rate_limit_exceeded",
    );
    if let Some(ms) = retry_after_ms {
        let headers = response.headers_mut();
        headers.insert("retry-after-ms", ms.into());
        headers.insert("retry-after", ms.div_ceil(1000).into());
    }
    response
}

fn openai_error(status: u16, message: &str, kind: &str, code: &str) -> Response {
    super::json_response(
        status,
        &json!({ "error": { "message": message, "type": kind, "param": null, "code": code } }),
    )
}

/// 401 `invalid_api_key` when there is no bearer key, or not the one accepted.
fn refused_key(state: &ModelState, headers: &HeaderMap) -> Option<Response> {
    let sent = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let wrong = match state.key.lock().unwrap().as_deref() {
        Some(key) => sent != Some(key),
        None => false,
    };
    if !super::has_bearer(headers) || wrong {
        return Some(openai_error(
            401,
            "Incorrect API key provided.",
            "invalid_request_error",
            "invalid_api_key",
        ));
    }
    None
}

/// `GET /v1/models`: the models offered, as OpenAI lists them.
async fn list_models(State(state): State<Arc<ModelState>>, headers: HeaderMap) -> Response {
    // A public list ignores whatever key is sent.
    let public = state.public_list.load(Ordering::SeqCst);
    if let (false, Some(refusal)) = (public, refused_key(&state, &headers)) {
        return refusal;
    }
    let data: Vec<Value> = state
        .offered
        .lock()
        .unwrap()
        .iter()
        .map(
            |id| json!({"id": id, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}),
        )
        .collect();
    super::json_response(200, &json!({"object": "list", "data": data}))
}

async fn not_found() -> Response {
    openai_error(404, "Not found", "invalid_request_error", "not_found")
}
