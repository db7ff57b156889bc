//! `FakeOnlyFans`: the part of the OnlyFansAPI.com REST API fanops uses.
//!
//! Every request is handled in this order:
//! 1. recorded (method, path, decoded query, lowercase headers, JSON body);
//! 2. counted against the per-minute budget on arrival (1000 a minute unless
//!    [`FakeOnlyFans::set_rate_limit`] says otherwise; see `fake_rate_limit`);
//! 3. the delay from [`FakeOnlyFans::set_delay`];
//! 4. injected failures: the [`FakeOnlyFans::fail_next`] queues first, then
//!    [`FakeOnlyFans::fail_always`] (`Hang` sleeps and carries on);
//! 5. `Authorization: Bearer <non-empty>`, else 401 `{"error": ...}`;
//! 6. over the budget: 429 `{"message": "Too Many Requests"}` with
//!    `Retry-After` (counted in [`FakeOnlyFans::budget_refusals`]);
//! 7. POST with `Idempotency-Key`: a key already answered (2xx) on the same
//!    path replays that answer with `Idempotent-Replayed: true`;
//! 8. a body set with [`FakeOnlyFans::set_body`] for this method + path (200);
//! 9. the routes. Account routes check the account: unknown → 404
//!    `account_not_found`, not authenticated → 400
//!    `account_not_authenticated`. Other paths → 404 `not_found`.
//!
//! Every answer from step 6 on reports the budget like the real API: the
//! `x-rate-limit-*-minute` headers, and `_meta._rate_limits` in bodies with a
//! `_meta`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fake_rate_limit::{RateWindow, Verdict};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Value};

/// One request as it crossed the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    pub method: String,
    /// The path without the query, as sent (not percent-decoded).
    pub path: String,
    /// Query pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names in lowercase; repeated headers joined with `", "`.
    pub headers: HashMap<String, String>,
    /// The body parsed as JSON; a non-JSON body is kept as a `Value::String`;
    /// `None` when empty.
    pub body: Option<Value>,
}

impl RecordedRequest {
    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An injected failure, applied before routing.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// This status: 429 gets `Retry-After: 1` and `{"message":"Too Many
    /// Requests"}`, 5xx `{"message":"Server Error"}`, others
    /// `{"message": <reason phrase>}`.
    Status(u16),
    /// 429 with `Retry-After: <retry_after_secs>`.
    RateLimited { retry_after_secs: u64 },
    /// Sleep this long, then answer normally.
    Hang(Duration),
}

#[derive(Debug, Clone)]
struct Account {
    id: String,
    authenticated: bool,
    /// `Some(i)` for generated account `i`; `None` for the fixture accounts.
    generated: Option<usize>,
}

struct ApiState {
    accounts: Vec<Account>,
    accounts_body: Value,
    requests: Mutex<Vec<RecordedRequest>>,
    delay: Mutex<Duration>,
    fail_next: Mutex<Vec<(String, VecDeque<Failure>)>>,
    fail_always: Mutex<Vec<(String, u16)>>,
    bodies: Mutex<HashMap<(String, String), Value>>,
    /// `(path, key)` → the first (2xx) answer.
    idempotency: Mutex<HashMap<(String, String), (u16, Value)>>,
    next_id: AtomicU64,
    rate: Mutex<RateWindow>,
}

/// The fake OnlyFansAPI server. Cloning shares the same server and state.
#[derive(Clone)]
pub struct FakeOnlyFans {
    base: String,
    state: Arc<ApiState>,
}

impl std::fmt::Debug for FakeOnlyFans {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOnlyFans")
            .field("url", &self.url())
            .finish()
    }
}

/// The accounts of the fixture: Luna (authenticated) and Mia (not).
pub const LUNA: &str = "acct_8f3k2j1h0g9f8e7d";
pub const MIA: &str = "acct_2b7c9d0e1f2a3b4c";

impl FakeOnlyFans {
    /// The two accounts of the fixture: `acct_8f3k2j1h0g9f8e7d` "Luna (main)"
    /// @lunastarr (authenticated) and `acct_2b7c9d0e1f2a3b4c` "Mia agency"
    /// @miamoon (not authenticated).
    pub async fn start() -> FakeOnlyFans {
        let body = super::fixture("account/list-accounts");
        let accounts = body
            .as_array()
            .expect("accounts fixture is an array")
            .iter()
            .map(|a| Account {
                id: a["id"].as_str().expect("account id").to_string(),
                authenticated: a["is_authenticated"].as_bool().unwrap_or(false),
                generated: None,
            })
            .collect();
        Self::start_inner(accounts, body).await
    }

    /// `n` generated, authenticated accounts: account `i` (from 0) is
    /// `acct_gen{i:04}`, display name `Creator {i}`, username `creator{i}`.
    pub async fn start_with_accounts(n: usize) -> FakeOnlyFans {
        let mut accounts = Vec::with_capacity(n);
        let mut listed = Vec::with_capacity(n);
        for i in 0..n {
            let id = generated_id(i);
            listed.push(json!({
                "id": id,
                "display_name": format!("Creator {i}"),
                "onlyfans_username": format!("creator{i}"),
                "onlyfans_id": 500_000_000 + i,
                "onlyfans_email": format!("creator{i}@example.com"),
                "is_authenticated": true,
                "authentication_progress": "completed",
                "onlyfans_user_data": {
                    "id": 500_000_000 + i,
                    "username": format!("creator{i}"),
                    "name": format!("Creator {i}"),
                    "isVerified": true,
                    "subscribersCount": 100 + i,
                },
            }));
            accounts.push(Account {
                id,
                authenticated: true,
                generated: Some(i),
            });
        }
        Self::start_inner(accounts, Value::Array(listed)).await
    }

    async fn start_inner(accounts: Vec<Account>, accounts_body: Value) -> FakeOnlyFans {
        let state = Arc::new(ApiState {
            accounts,
            accounts_body,
            requests: Mutex::new(Vec::new()),
            delay: Mutex::new(Duration::ZERO),
            fail_next: Mutex::new(Vec::new()),
            fail_always: Mutex::new(Vec::new()),
            bodies: Mutex::new(HashMap::new()),
            idempotency: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(7_000_000_001),
            rate: Mutex::new(RateWindow::default()),
        });
        let router = Router::new().fallback(handle).with_state(state.clone());
        let addr = super::serve(router).await;
        FakeOnlyFans {
            base: format!("http://{addr}"),
            state,
        }
    }

    /// The base URL, e.g. `http://127.0.0.1:PORT` (paths start with `/api`).
    pub fn url(&self) -> String {
        self.base.clone()
    }

    /// The account ids this server knows, in listing order.
    pub fn account_ids(&self) -> Vec<String> {
        self.state.accounts.iter().map(|a| a.id.clone()).collect()
    }

    /// Added before every response (the request is recorded first).
    pub fn set_delay(&self, d: Duration) {
        *self.state.delay.lock().unwrap() = d;
    }

    /// Every request received, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Forgets the recorded requests (nothing else).
    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap().clear();
    }

    /// How many requests had exactly this method and path (no query).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.state
            .requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .count()
    }

    /// The next requests whose path contains `path_contains` get these
    /// failures, one each, in order; then normal service resumes.
    pub fn fail_next(&self, path_contains: &str, failures: Vec<Failure>) {
        self.state
            .fail_next
            .lock()
            .unwrap()
            .push((path_contains.to_string(), failures.into()));
    }

    /// Every request whose path contains `path_contains` fails with `status`
    /// (after any `fail_next` queue for it is used up).
    pub fn fail_always(&self, path_contains: &str, status: u16) {
        self.state
            .fail_always
            .lock()
            .unwrap()
            .push((path_contains.to_string(), status));
    }

    /// Removes all `fail_next` and `fail_always` rules.
    pub fn clear_failures(&self) {
        self.state.fail_next.lock().unwrap().clear();
        self.state.fail_always.lock().unwrap().clear();
    }

    /// From now on, `limit` requests per window of `window` (a new window
    /// starts with the first request after the previous one ended).
    pub fn set_rate_limit(&self, limit: u64, window: Duration) {
        *self.state.rate.lock().unwrap() = RateWindow::new(limit, window);
    }

    /// How many requests were refused with 429 because the budget was spent.
    pub fn budget_refusals(&self) -> u64 {
        self.state.rate.lock().unwrap().refused
    }

    /// Answers `method path` (exact, no query) with this body and 200,
    /// instead of the route (also for paths that have no route).
    pub fn set_body(&self, method: &str, path: &str, body: Value) {
        self.state
            .bodies
            .lock()
            .unwrap()
            .insert((method.to_ascii_uppercase(), path.to_string()), body);
    }
}

fn generated_id(i: usize) -> String {
    format!("acct_gen{i:04}")
}

/// The standard `_meta` block, charging one credit (`_rate_limits` is written
/// when the answer is sent).
fn meta() -> Value {
    json!({
        "_credits": { "used": 1, "balance": 9852, "note": "" },
        "_cache": { "is_cached": false, "cached_at": null, "note": "" },
    })
}

fn message(status: u16, message: &str, code: &str) -> (u16, Value) {
    (status, json!({ "message": message, "code": code }))
}

fn not_found() -> (u16, Value) {
    message(404, "Not found", "not_found")
}

async fn handle(State(state): State<Arc<ApiState>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let body = if bytes.is_empty() {
        None
    } else {
        Some(
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into())),
        )
    };
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let query = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        query,
        headers,
        body,
    };
    state.requests.lock().unwrap().push(recorded.clone());
    let verdict = state.rate.lock().unwrap().count(Instant::now());

    let delay = *state.delay.lock().unwrap();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    match next_failure(&state, &recorded.path) {
        Some(Failure::Hang(d)) => tokio::time::sleep(d).await,
        Some(Failure::RateLimited { retry_after_secs }) => return rate_limited(retry_after_secs),
        Some(Failure::Status(429)) => return rate_limited(1),
        Some(Failure::Status(status)) => return failure_status(status),
        None => {}
    }

    if !super::has_bearer(&parts.headers) {
        return super::json_response(401, &json!({ "error": "Unauthenticated." }));
    }
    if let Verdict::Refused { .. } = verdict {
        return reported(429, json!({ "message": "Too Many Requests" }), verdict);
    }

    let idem_key = (parts.method == Method::POST)
        .then(|| recorded.headers.get("idempotency-key").cloned())
        .flatten();
    let Some(key) = idem_key else {
        let (status, body) = answer(&state, &parts.method, &recorded);
        return reported(status, body, verdict);
    };
    // Held across routing (which does not await) so concurrent repeats of a
    // key run the route once.
    let mut seen = state.idempotency.lock().unwrap();
    let slot = (recorded.path.clone(), key);
    if let Some((status, body)) = seen.get(&slot) {
        // The body exactly as first sent; the headers report the budget now.
        let mut response = super::json_response(*status, body);
        verdict.stamp_headers(&mut response);
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return response;
    }
    let (status, mut body) = answer(&state, &parts.method, &recorded);
    verdict.stamp_body(&mut body);
    if (200..300).contains(&status) {
        seen.insert(slot, (status, body.clone()));
    }
    drop(seen);
    reported(status, body, verdict)
}

/// A JSON answer that reports the budget, in its headers and its `_meta`.
fn reported(status: u16, mut body: Value, verdict: Verdict) -> Response {
    verdict.stamp_body(&mut body);
    let mut response = super::json_response(status, &body);
    verdict.stamp_headers(&mut response);
    response
}

/// Pops the next injected failure for `path`, if any.
fn next_failure(state: &ApiState, path: &str) -> Option<Failure> {
    {
        let mut queues = state.fail_next.lock().unwrap();
        if let Some(pos) = queues
            .iter()
            .position(|(p, q)| path.contains(p.as_str()) && !q.is_empty())
        {
            let failure = queues[pos].1.pop_front();
            if queues[pos].1.is_empty() {
                queues.remove(pos);
            }
            return failure;
        }
    }
    let always = state.fail_always.lock().unwrap();
    always
        .iter()
        .find(|(p, _)| path.contains(p.as_str()))
        .map(|(_, status)| Failure::Status(*status))
}

fn rate_limited(secs: u64) -> Response {
    let mut response = super::json_response(429, &json!({ "message": "Too Many Requests" }));
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(secs));
    response
}

fn failure_status(status: u16) -> Response {
    let text = if status >= 500 {
        "Server Error".to_string()
    } else {
        axum::http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error")
            .to_string()
    };
    super::json_response(status, &json!({ "message": text }))
}

/// What a route answers: `set_body` overrides, then the routes.
fn answer(state: &ApiState, method: &Method, request: &RecordedRequest) -> (u16, Value) {
    let overridden = state
        .bodies
        .lock()
        .unwrap()
        .get(&(method.as_str().to_string(), request.path.clone()))
        .cloned();
    if let Some(body) = overridden {
        return (200, body);
    }
    let Some(rest) = request.path.strip_prefix("/api/") else {
        return not_found();
    };
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if segments == ["accounts"] {
        return if method == Method::GET {
            (200, state.accounts_body.clone())
        } else {
            not_found()
        };
    }
    let Some((account_id, tail)) = segments.split_first() else {
        return not_found();
    };
    let route = match (method.as_str(), tail) {
        ("GET", ["statistics", "statements", "earnings"]) => Route::Earnings,
        ("GET", ["statistics", "overview"]) => Route::Fixture("statistics/statistics-overview"),
        ("GET", ["fans", "top"]) => Route::Fixture("fans/list-top-fans"),
        ("GET", ["subscribers", "statistics"]) => {
            Route::Fixture("statistics/get-subscriber-statistics")
        }
        ("GET", ["tracking-links"]) => Route::Fixture("tracking-links/list-tracking-links"),
        ("GET", ["trial-links"]) => Route::Fixture("free-trial-links/list-free-trial-links"),
        ("GET", ["transactions"]) => Route::Fixture("transactions/list-transactions"),
        ("GET", ["payouts", "balances"]) => Route::Fixture("payouts/get-account-balances"),
        ("GET", ["chats"]) => Route::Fixture("chats/list-chats"),
        ("GET", ["chats", _, "messages"]) => Route::Fixture("chat-messages/list-chat-messages"),
        ("GET", ["mass-messaging", "overview"]) => {
            Route::Fixture("mass-messaging/get-mass-message-overview")
        }
        ("POST", ["chats", _, "messages"]) => Route::SendMessage,
        ("POST", ["mass-messaging"]) => Route::SendMassMessage,
        _ => return not_found(),
    };
    let Some(account) = state.accounts.iter().find(|a| a.id == *account_id) else {
        return message(404, "Account not found", "account_not_found");
    };
    if !account.authenticated {
        return message(
            400,
            "Account is not authenticated",
            "account_not_authenticated",
        );
    }
    match route {
        Route::Earnings => (200, earnings(account)),
        Route::Fixture(name) => (200, super::fixture(name)),
        Route::SendMessage => send_message(state, request.body.as_ref()),
        Route::SendMassMessage => send_mass_message(state, request.body.as_ref()),
    }
}

enum Route {
    Earnings,
    Fixture(&'static str),
    SendMessage,
    SendMassMessage,
}

/// The earnings fixture; for generated account `i`, `total = 100 + 10 i`,
/// `gross = total * 1.25`, `delta = 5.0`.
fn earnings(account: &Account) -> Value {
    let mut body = super::fixture("statistics/get-earnings");
    if let Some(i) = account.generated {
        let total = 100.0 + 10.0 * i as f64;
        let t = &mut body["data"]["total"];
        t["total"] = json!(total);
        t["gross"] = json!(total * 1.25);
        t["delta"] = json!(5.0);
    }
    body["_meta"]["_credits"]["used"] = json!(1);
    body
}

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

fn invalid_body() -> (u16, Value) {
    message(
        422,
        "The request body must be a JSON object.",
        "validation_error",
    )
}

fn send_message(state: &ApiState, body: Option<&Value>) -> (u16, Value) {
    let Some(body) = body.filter(|b| b.is_object()) else {
        return invalid_body();
    };
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    let data = json!({
        "id": id,
        "text": body.get("text").cloned().unwrap_or(Value::Null),
        "price": body.get("price").filter(|p| !p.is_null()).cloned().unwrap_or(json!(0)),
        "createdAt": now(),
    });
    (200, json!({ "data": data, "_meta": meta() }))
}

fn send_mass_message(state: &ApiState, body: Option<&Value>) -> (u16, Value) {
    let Some(body) = body.filter(|b| b.is_object()) else {
        return invalid_body();
    };
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    let data = json!({
        "id": id,
        "sentCount": 0,
        "text": body.get("text").cloned().unwrap_or(Value::Null),
        "createdAt": now(),
    });
    (200, json!({ "data": data, "_meta": meta() }))
}
