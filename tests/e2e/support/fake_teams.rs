//! `FakeTeams`: the slice of the Bot Framework fanops talks to, and a sender that signs
//! activities as the Bot Framework does.
//!
//! - `POST /token`: client credentials; only [`APP_ID`] with [`APP_PASSWORD`] gets a token
//!   (`fake-teams-token-N`, an hour), and [`OPS_APP_ID`] with [`OPS_APP_PASSWORD`]
//!   (`fake-teams-ops-token-N`); anything else 401 `invalid_client`.
//! - `GET /openid`: OpenID metadata naming `GET /keys`, the JWKS of the published test
//!   keys ([`FakeTeams::publish`]; key A at start). The keys are fixed RSA keys kept as PEM
//!   fixtures under `fixtures/teams/`.
//! - The Bot Connector at the service URL ([`FakeTeams::service_url`]):
//!   `POST /v3/conversations/{id}/activities` (new ids `act-1` upward),
//!   `PUT /v3/conversations/{id}/activities/{activityId}` (an update, kept as an edit), and
//!   `POST /v3/conversations` (a personal chat `a:personal-<member>`). Each needs a token
//!   the fake issued; [`FakeTeams::fail_next`] injects 429 with `Retry-After` or a status.
//!
//! - Files people attach (`fake_teams_media.rs`): inline attachments at the connector,
//!   which want a token, and shared files behind pre-authenticated URLs, which do not.
//!
//! `fake_teams_signer` makes the `Authorization` tokens the fake's keys verify.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::Router;
use serde_json::{json, Value};

pub use super::fake_teams_signer::{Signer, TestKey};

/// The bot's Microsoft App ID, and the password its token is granted for.
pub const APP_ID: &str = "5f0c9a4e-1b2d-4c3e-8f70-123456789abc";
pub const APP_PASSWORD: &str = "teams-app-password";
/// A second bot (an account of its own), with its password.
pub const OPS_APP_ID: &str = "0b0b0b0b-1111-4222-8333-444444444444";
pub const OPS_APP_PASSWORD: &str = "teams-ops-app-password";
pub const ISSUER: &str = "https://api.botframework.com";

/// A person in Teams: their Entra object id, their `29:` id and their name.
#[derive(Debug, Clone, Copy)]
pub struct Person {
    pub aad: &'static str,
    pub member: &'static str,
    pub name: &'static str,
}

/// An injected failure for the next connector call.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamsFailure {
    /// 429 with `Retry-After: n`.
    RateLimited(u64),
    Status(u16),
}

/// One connector call as received.
#[derive(Debug, Clone)]
pub struct ConnectorCall {
    pub method: String,
    pub conversation: String,
    pub token: String,
    pub body: Value,
}

/// An activity the bot posted, updates applied.
#[derive(Debug, Clone)]
pub struct Sent {
    pub conversation: String,
    pub id: String,
    pub text: String,
    pub attachments: Value,
    pub edits: usize,
}

#[path = "fake_teams_media.rs"]
mod media;
#[allow(unused_imports)]
pub use media::FileFetch;

#[derive(Default)]
struct TeamsState {
    base: String,
    published: Mutex<Vec<TestKey>>,
    key_fetches: AtomicUsize,
    tokens: Mutex<Vec<String>>,
    token_requests: Mutex<Vec<Vec<(String, String)>>>,
    calls: Mutex<Vec<ConnectorCall>>,
    failures: Mutex<VecDeque<TeamsFailure>>,
    sent: Mutex<Vec<Sent>>,
    next_id: AtomicU64,
    opened: Mutex<Vec<Value>>,
    uploads: Mutex<Vec<Uploaded>>,
    /// Files people attached, by id, and each download of one.
    files: Mutex<std::collections::HashMap<String, Vec<u8>>>,
    fetches: Mutex<Vec<FileFetch>>,
}

/// A file fanops put at an upload URL (the person's OneDrive).
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub name: String,
    pub content_range: String,
    pub bytes: Vec<u8>,
}

/// The fake Bot Framework. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeTeams {
    state: Arc<TeamsState>,
}

impl FakeTeams {
    pub async fn start() -> FakeTeams {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(TeamsState {
            base,
            published: Mutex::new(vec![TestKey::A]),
            next_id: AtomicU64::new(1),
            ..TeamsState::default()
        });
        let router = Router::new()
            .route("/token", post(token))
            .route("/openid", get(openid))
            .route("/keys", get(keys))
            .route("/v3/conversations", post(open_conversation))
            .route(
                "/v3/conversations/{conversation}/activities",
                post(post_activity),
            )
            .route(
                "/v3/conversations/{conversation}/activities/{id}",
                put(update_activity),
            )
            .route("/upload/{name}", put(upload))
            .route(
                "/v3/attachments/{id}/views/original",
                get(media::attachment),
            )
            .route("/files/{id}", get(media::shared))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        FakeTeams { state }
    }

    pub fn url(&self) -> String {
        self.state.base.clone()
    }

    /// The service URL activities name (the connector lives here).
    pub fn service_url(&self) -> String {
        format!("{}/", self.state.base)
    }

    pub fn openid_url(&self) -> String {
        format!("{}/openid", self.state.base)
    }

    pub fn token_url(&self) -> String {
        format!("{}/token", self.state.base)
    }

    /// The keys the JWKS lists from now on.
    pub fn publish(&self, keys: &[TestKey]) {
        *self.state.published.lock().unwrap() = keys.to_vec();
    }

    /// How many times the JWKS was fetched.
    pub fn key_fetches(&self) -> usize {
        self.state.key_fetches.load(Ordering::SeqCst)
    }

    /// The form fields of each token request.
    pub fn token_requests(&self) -> Vec<Vec<(String, String)>> {
        self.state.token_requests.lock().unwrap().clone()
    }

    pub fn fail_next(&self, failures: Vec<TeamsFailure>) {
        self.state.failures.lock().unwrap().extend(failures);
    }

    pub fn calls(&self) -> Vec<ConnectorCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// Every activity posted in `conversation`, updates applied.
    pub fn sent(&self, conversation: &str) -> Vec<Sent> {
        let sent = self.state.sent.lock().unwrap();
        sent.iter()
            .filter(|s| s.conversation == conversation)
            .cloned()
            .collect()
    }

    pub fn texts(&self, conversation: &str) -> Vec<String> {
        self.sent(conversation)
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    /// Every file put at an upload URL.
    pub fn uploads(&self) -> Vec<Uploaded> {
        self.state.uploads.lock().unwrap().clone()
    }

    /// The person's answer to the file consent card whose context is `context`: accepted
    /// (with an upload URL at this fake) or declined.
    pub fn consent(
        &self,
        from: Person,
        conversation: &str,
        id: &str,
        context: &Value,
        accept: bool,
    ) -> Value {
        let chat = json!({"id": conversation, "conversationType": "personal"});
        let mut activity = self.activity(from, chat, id, "", json!([]));
        activity["type"] = json!("invoke");
        activity["name"] = json!("fileConsent/invoke");
        activity["value"] = json!({
            "type": "fileUpload",
            "action": if accept { "accept" } else { "decline" },
            "context": context,
            "uploadInfo": {
                "contentUrl": "https://contoso.sharepoint.com/personal/usage.csv",
                "name": "usage.csv",
                "uploadUrl": format!("{}/upload/usage.csv", self.state.base),
                "uniqueId": "1150D938-8870-4044-9F2C-5BBDEBA70C8C",
                "fileType": "csv",
            },
        });
        activity.as_object_mut().unwrap().remove("text");
        activity
    }

    /// Every `POST /v3/conversations` body.
    pub fn opened(&self) -> Vec<Value> {
        self.state.opened.lock().unwrap().clone()
    }

    /// Polls `check` every 20 ms until it holds or `within` passes.
    pub async fn wait_for(&self, check: impl Fn(&FakeTeams) -> bool, within: Duration) -> bool {
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

    /// Waits until some activity in `conversation` contains `needle`.
    pub async fn wait_text(&self, conversation: &str, needle: &str, within: Duration) -> bool {
        let (conversation, needle) = (conversation.to_string(), needle.to_string());
        self.wait_for(
            move |t| t.texts(&conversation).iter().any(|s| s.contains(&needle)),
            within,
        )
        .await
    }

    /// A person's message in their personal chat `conversation`.
    pub fn personal(&self, from: Person, conversation: &str, id: &str, text: &str) -> Value {
        self.activity(
            from,
            json!({"id": conversation, "conversationType": "personal", "tenantId": "tenant-1"}),
            id,
            text,
            json!([]),
        )
    }

    /// A message in a channel: a new post when `root` is `None`, else a reply in the
    /// thread under `root`; mentioning the bot when `mention`.
    pub fn channel(
        &self,
        from: Person,
        channel: &str,
        root: Option<&str>,
        id: &str,
        text: &str,
        mention: bool,
    ) -> Value {
        let conversation = format!("{channel};messageid={}", root.unwrap_or(id));
        let (text, entities) = match mention {
            true => (
                format!("<at>fanops</at> {text}"),
                json!([{"type": "mention", "text": "<at>fanops</at>",
                        "mentioned": {"id": format!("28:{APP_ID}"), "name": "fanops"}}]),
            ),
            false => (text.to_string(), json!([])),
        };
        self.activity(
            from,
            json!({"id": conversation, "conversationType": "channel", "tenantId": "tenant-1"}),
            id,
            &text,
            entities,
        )
    }

    /// A press of an `Action.Submit` whose data is `{"fo": payload}` on card `reply_to`.
    pub fn press(
        &self,
        from: Person,
        conversation: Value,
        id: &str,
        reply_to: &str,
        payload: &str,
    ) -> Value {
        let mut activity = self.activity(from, conversation, id, "", json!([]));
        activity["value"] = json!({ "fo": payload });
        activity["replyToId"] = json!(reply_to);
        activity.as_object_mut().unwrap().remove("text");
        activity
    }

    /// `activity` addressed to bot `app_id` instead.
    pub fn to_bot(activity: &Value, app_id: &str) -> Value {
        let mut activity = activity.clone();
        activity["recipient"]["id"] = json!(format!("28:{app_id}"));
        activity
    }

    fn activity(
        &self,
        from: Person,
        conversation: Value,
        id: &str,
        text: &str,
        entities: Value,
    ) -> Value {
        json!({
            "type": "message",
            "id": id,
            "timestamp": "2026-12-07T10:00:00.000Z",
            "serviceUrl": self.service_url(),
            "channelId": "msteams",
            "from": {"id": from.member, "name": from.name, "aadObjectId": from.aad},
            "recipient": {"id": format!("28:{APP_ID}"), "name": "fanops"},
            "conversation": conversation,
            "text": text,
            "textFormat": "plain",
            "entities": entities,
            "channelData": {"tenant": {"id": "tenant-1"}},
        })
    }
}

/// Posts `activity` to fanops at `url` (its `/teams/messages`) with `token`, if any.
pub async fn send_activity(url: &str, activity: &Value, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().post(url).json(activity);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("fanops answers")
}

fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

async fn token(State(state): State<Arc<TeamsState>>, body: Bytes) -> Response {
    let fields = form_fields(&body);
    state.token_requests.lock().unwrap().push(fields.clone());
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let app = [
        (APP_ID, APP_PASSWORD, "fake-teams-token"),
        (OPS_APP_ID, OPS_APP_PASSWORD, "fake-teams-ops-token"),
    ]
    .into_iter()
    .find(|(id, password, _)| {
        field("client_id") == Some(id) && field("client_secret") == Some(password)
    });
    let granted = field("grant_type") == Some("client_credentials")
        && field("scope") == Some("https://api.botframework.com/.default");
    let (Some((_, _, prefix)), true) = (app, granted) else {
        let refusal = json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."});
        return super::json_response(401, &refusal);
    };
    let mut tokens = state.tokens.lock().unwrap();
    let token = format!("{prefix}-{}", tokens.len() + 1);
    tokens.push(token.clone());
    super::json_response(
        200,
        &json!({"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600, "access_token": token}),
    )
}

async fn openid(State(state): State<Arc<TeamsState>>) -> Response {
    super::json_response(
        200,
        &json!({
            "issuer": ISSUER,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": format!("{}/keys", state.base),
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }),
    )
}

async fn keys(State(state): State<Arc<TeamsState>>) -> Response {
    state.key_fetches.fetch_add(1, Ordering::SeqCst);
    let keys: Vec<Value> = state
        .published
        .lock()
        .unwrap()
        .iter()
        .map(|k| k.jwk())
        .collect();
    super::json_response(200, &json!({ "keys": keys }))
}

/// The bearer token, when the fake issued it.
fn issued(state: &TeamsState, headers: &HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?.to_string();
    state
        .tokens
        .lock()
        .unwrap()
        .contains(&token)
        .then_some(token)
}

/// Records a connector call; the refusal or injected failure to answer with, if any.
fn record(
    state: &TeamsState,
    method: &str,
    conversation: &str,
    headers: &HeaderMap,
    body: &Value,
) -> Option<Response> {
    let token = issued(state, headers);
    state.calls.lock().unwrap().push(ConnectorCall {
        method: method.to_string(),
        conversation: conversation.to_string(),
        token: token.clone().unwrap_or_default(),
        body: body.clone(),
    });
    if token.is_none() {
        let refusal = json!({"error": {"code": "Unauthorized", "message": "Authorization has been denied for this request."}});
        return Some(super::json_response(401, &refusal));
    }
    match state.failures.lock().unwrap().pop_front() {
        Some(TeamsFailure::RateLimited(secs)) => {
            let mut response =
                super::json_response(429, &json!({"error": {"code": "TooManyRequests"}}));
            response
                .headers_mut()
                .insert("Retry-After", secs.to_string().parse().unwrap());
            Some(response)
        }
        Some(TeamsFailure::Status(status)) => Some(super::json_response(status, &json!({}))),
        None => None,
    }
}

async fn post_activity(
    State(state): State<Arc<TeamsState>>,
    Path(conversation): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(refusal) = record(&state, "POST", &conversation, &headers, &body) {
        return refusal;
    }
    let id = format!("act-{}", state.next_id.fetch_add(1, Ordering::SeqCst));
    state.sent.lock().unwrap().push(Sent {
        conversation,
        id: id.clone(),
        text: body["text"].as_str().unwrap_or_default().to_string(),
        attachments: body["attachments"].clone(),
        edits: 0,
    });
    super::json_response(201, &json!({ "id": id }))
}

async fn update_activity(
    State(state): State<Arc<TeamsState>>,
    Path((conversation, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(refusal) = record(&state, "PUT", &conversation, &headers, &body) {
        return refusal;
    }
    let mut sent = state.sent.lock().unwrap();
    let Some(activity) = sent
        .iter_mut()
        .find(|s| s.conversation == conversation && s.id == id)
    else {
        return super::json_response(
            404,
            &json!({"error": {"code": "ActivityNotFoundInConversation"}}),
        );
    };
    activity.text = body["text"].as_str().unwrap_or_default().to_string();
    activity.attachments = body["attachments"].clone();
    activity.edits += 1;
    super::json_response(200, &json!({ "id": id }))
}

async fn open_conversation(
    State(state): State<Arc<TeamsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if let Some(refusal) = record(&state, "POST", "", &headers, &body) {
        return refusal;
    }
    state.opened.lock().unwrap().push(body.clone());
    let member = body["members"][0]["id"].as_str().unwrap_or_default();
    super::json_response(200, &json!({ "id": format!("a:personal-{member}") }))
}

async fn upload(
    State(state): State<Arc<TeamsState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let range = headers
        .get("content-range")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    state.uploads.lock().unwrap().push(Uploaded {
        name: name.clone(),
        content_range: range,
        bytes: body.to_vec(),
    });
    super::json_response(201, &json!({ "id": "drive-item-1", "name": name }))
}
