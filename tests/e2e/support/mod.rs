//! Fake servers for the end-to-end tests and the benchmarks.
//!
//! Used from `tests/e2e/main.rs` (`mod support;`) and from `benches/core.rs`
//! (`#[path = "../tests/e2e/support/mod.rs"] mod support;`), so nothing here
//! depends on the `fanops` crate and nothing here is a test.
//!
//! - [`FakeModel`]: an OpenAI-compatible `POST /v1/chat/completions`.
//! - [`FakeOnlyFans`]: the slice of the OnlyFansAPI.com REST API fanops uses,
//!   with its per-minute budget (`fake_rate_limit`).
//!
//! Both bind `127.0.0.1:0`, serve from a spawned tokio task (which lives as
//! long as the runtime that started it) and record every request.
#![allow(dead_code)]

mod config;
mod fake_model;
mod fake_onlyfans;
mod fake_rate_limit;
mod fake_telegram;

pub use config::config_text;

// Not every user (test binary, benchmark) uses every re-export.
#[allow(unused_imports)]
pub use fake_model::{usage_for, FakeModel, Reply};
#[allow(unused_imports)]
pub use fake_onlyfans::{Failure, FakeOnlyFans, RecordedRequest, LUNA, MIA};
#[allow(unused_imports)]
pub use fake_telegram::{FakeTelegram, TgCall, TgFailure};

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

/// Binds `127.0.0.1:0` and serves `router` on a spawned task; returns the
/// bound address.
async fn serve(router: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
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
