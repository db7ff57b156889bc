//! Fake servers for the end-to-end tests and the benchmarks.
//!
//! Used from `tests/e2e/main.rs` (`mod support;`) and from `benches/core.rs`
//! (`#[path = "../tests/e2e/support/mod.rs"] mod support;`), so nothing here
//! depends on the `fanops` crate and nothing here is a test.
//!
//! - [`FakeModel`]: an OpenAI-compatible `POST /v1/chat/completions` and
//!   `POST /v1/audio/transcriptions`.
//! - [`FakeOnlyFans`]: the slice of the OnlyFansAPI.com REST API fanops uses,
//!   with its per-minute budget (`fake_rate_limit`).
//!
//! Both bind `127.0.0.1:0`, serve from a spawned tokio task (which lives as
//! long as the runtime that started it) and record every request.
//!
//! For the benchmarks, every fake can also log when it handled each request
//! ([`record_handling`], [`handled`]), so that the time spent inside the fakes
//! can be told apart from the time spent in fanops.
#![allow(dead_code)]

mod config;
mod fake_discord;
mod fake_mcp;
mod fake_model;
mod fake_onlyfans;
mod fake_rate_limit;
mod fake_relay;
mod fake_search;
mod fake_slack;
mod fake_teams;
mod fake_teams_signer;
mod fake_telegram;
mod fake_transcribe;
mod fake_whatsapp;

#[allow(unused_imports)]
pub use config::{config_text, seeing, TRANSCRIPTION};

// Not every user (test binary, benchmark) uses every re-export.
#[allow(unused_imports)]
pub use fake_discord::{
    Attached, DcCall, DcFailure, DcMessage, FakeDiscord, APP_ID as DISCORD_APP_ID, BOT_ID, GENERAL,
    GUILD_ID, MESSAGE_CONTENT_LIMITED,
};
#[allow(unused_imports)]
pub use fake_mcp::FakeMcp;
#[allow(unused_imports)]
pub use fake_model::{after_tool, last_user_text, usage_for, FakeModel, Reply, MODEL_IDS};
#[allow(unused_imports)]
pub use fake_onlyfans::{Failure, FakeOnlyFans, RecordedRequest, LUNA, MIA};
#[allow(unused_imports)]
pub use fake_search::{FakeSearch, SearchRequest};
#[allow(unused_imports)]
pub use fake_slack::{
    callback, file_share_event, mention_event, message_event, press, slack_signature, FakeSlack,
    Posted, SlackFailure, BOT_USER, SCOPES as SLACK_SCOPES,
};
#[allow(unused_imports)]
pub use fake_teams::{
    send_activity, ConnectorCall, FakeTeams, Person, Sent, Signer, TeamsFailure, TestKey, Uploaded,
    APP_ID as TEAMS_APP_ID, APP_PASSWORD as TEAMS_APP_PASSWORD, OPS_APP_ID as TEAMS_OPS_APP_ID,
    OPS_APP_PASSWORD as TEAMS_OPS_APP_PASSWORD,
};
#[allow(unused_imports)]
pub use fake_telegram::{FakeTelegram, TgCall, TgFailure};
#[allow(unused_imports)]
pub use fake_transcribe::{png, wav, Transcription};
#[allow(unused_imports)]
pub use fake_whatsapp::{
    button_reply, change as wa_change, for_number, list_reply, signature as wa_signature,
    status as wa_status, text_message, FakeWhatsApp, WaFailure,
    PHONE_NUMBER_ID as WA_PHONE_NUMBER_ID, SECOND_NUMBER_ID as WA_SECOND_NUMBER_ID,
    TOKEN as WHATSAPP_TOKEN,
};

/// `(file stem, contents)` of every fixture, copied from
/// `/work/shared/onlyfansapi/response-examples.json` (one file per example,
/// named by the example id with `/` replaced by `__`).
const FIXTURES: &[(&str, &str)] = &[
    (
        "account__list-accounts",
        include_str!("fixtures/account__list-accounts.json"),
    ),
    (
        "statistics__statistics-overview",
        include_str!("fixtures/statistics__statistics-overview.json"),
    ),
    (
        "statistics__get-earnings",
        include_str!("fixtures/statistics__get-earnings.json"),
    ),
    (
        "fans__list-top-fans",
        include_str!("fixtures/fans__list-top-fans.json"),
    ),
    (
        "statistics__get-subscriber-statistics",
        include_str!("fixtures/statistics__get-subscriber-statistics.json"),
    ),
    (
        "tracking-links__list-tracking-links",
        include_str!("fixtures/tracking-links__list-tracking-links.json"),
    ),
    (
        "free-trial-links__list-free-trial-links",
        include_str!("fixtures/free-trial-links__list-free-trial-links.json"),
    ),
    (
        "transactions__list-transactions",
        include_str!("fixtures/transactions__list-transactions.json"),
    ),
    (
        "payouts__get-account-balances",
        include_str!("fixtures/payouts__get-account-balances.json"),
    ),
    (
        "chats__list-chats",
        include_str!("fixtures/chats__list-chats.json"),
    ),
    (
        "chat-messages__list-chat-messages",
        include_str!("fixtures/chat-messages__list-chat-messages.json"),
    ),
    (
        "mass-messaging__get-mass-message-overview",
        include_str!("fixtures/mass-messaging__get-mass-message-overview.json"),
    ),
];

/// A fixture body, parsed. `name` is the example id (`"statistics/get-earnings"`)
/// or the file name with or without `.json` (`"statistics__get-earnings.json"`).
///
/// Panics on an unknown name, listing the known ones.
pub fn fixture(name: &str) -> serde_json::Value {
    let stem = name.trim_end_matches(".json").replace('/', "__");
    let Some((_, text)) = FIXTURES.iter().find(|(n, _)| *n == stem) else {
        let known: Vec<&str> = FIXTURES.iter().map(|(n, _)| *n).collect();
        panic!("unknown fixture {name:?}; known: {known:?}");
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The names of all fixtures (file stems, `__` form).
pub fn fixture_names() -> Vec<&'static str> {
    FIXTURES.iter().map(|(n, _)| *n).collect()
}

/// One request a fake server handled: from when its handler was entered to when the
/// answer was ready to be written (for a held long poll, the hold is included).
#[derive(Debug, Clone)]
pub struct Handled {
    /// The fake's address, as in its URL.
    pub server: std::net::SocketAddr,
    pub path: String,
    pub started: std::time::Instant,
    pub finished: std::time::Instant,
    /// The length of the answer's body, when known up front.
    pub body_bytes: Option<u64>,
}

static RECORDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static HANDLED: std::sync::Mutex<Vec<Handled>> = std::sync::Mutex::new(Vec::new());

/// Starts (or stops) logging every request any fake handles in this process. Off by
/// default, so tests keep nothing.
pub fn record_handling(on: bool) {
    RECORDING.store(on, std::sync::atomic::Ordering::SeqCst);
}

/// Every request handled since recording started, in the order the answers were ready.
pub fn handled() -> Vec<Handled> {
    HANDLED.lock().unwrap().clone()
}

/// Forgets the requests handled so far.
pub fn clear_handled() {
    HANDLED.lock().unwrap().clear();
}

async fn log_handling(
    axum::extract::State(server): axum::extract::State<std::net::SocketAddr>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    // Checked when the answer is ready, so a long poll held from before is logged too.
    let started = std::time::Instant::now();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let finished = std::time::Instant::now();
    if !RECORDING.load(std::sync::atomic::Ordering::Relaxed) {
        return response;
    }
    let body_bytes = axum::body::HttpBody::size_hint(response.body()).exact();
    HANDLED.lock().unwrap().push(Handled {
        server,
        path,
        started,
        finished,
        body_bytes,
    });
    response
}

/// Binds `127.0.0.1:0` and serves `router` on a spawned task; returns the
/// bound address.
async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let router = router.layer(axum::middleware::from_fn_with_state(addr, log_handling));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// `true` when `headers` carry `Authorization: Bearer <non-empty>`.
fn has_bearer(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            Some(scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        })
        .unwrap_or(false)
}

/// A JSON response with the given status.
fn json_response(status: u16, body: &serde_json::Value) -> axum::response::Response {
    let status = axum::http::StatusCode::from_u16(status)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = axum::response::Response::new(axum::body::Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    response
}
#[allow(unused_imports)]
pub use fake_relay::FakeRelay;
