//! Model calls at the HTTP boundary: metering when the provider sends no `usage`, and
//! how a 429 is retried.

use crate::helpers::{fanops, spawn_app};
use crate::support::{config_text, Reply};
use fanops::store::UsageDimension;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Everything logged at WARN or above on this thread while the guard lives. The tests
/// run on tokio's current-thread runtime, so the whole turn logs here.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::WARN)
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn lines_with(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_string)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

/// Exact o200k tokens of what a request carried: message texts, tool-call names and
/// arguments, and the tool schemas.
fn exact_prompt_tokens(request: &Value) -> i64 {
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let count = |text: &str| bpe.encode_ordinary(text).len() as i64;
    let mut tokens = count(&request["tools"].to_string());
    for message in request["messages"].as_array().unwrap() {
        tokens += count(message["content"].as_str().unwrap_or_default());
        for call in message["tool_calls"].as_array().into_iter().flatten() {
            tokens += count(call["function"]["name"].as_str().unwrap());
            tokens += count(call["function"]["arguments"].as_str().unwrap());
        }
    }
    tokens
}

#[tokio::test]
async fn a_provider_without_usage_is_metered_from_an_estimate_and_warned_about_once() {
    let t = spawn_app().await;
    t.model.send_usage(false);
    t.model.push_all([
        Reply::tool("list_accounts", json!({})),
        Reply::text("Two accounts are connected: Luna and Mia."),
        Reply::text("You're welcome."),
    ]);
    let (logs, guard) = Logs::capture();
    let out = t.say("Which accounts are connected?").await;
    assert_eq!(out.last().text, "Two accounts are connected: Luna and Mia.");
    assert!(t.model.requests().iter().all(|r| r.get("usage").is_none()));
    let warnings = logs.lines_with("sends no token usage");
    assert_eq!(warnings.len(), 1, "one warning for two calls: {warnings:?}");
    assert!(
        warnings[0].contains("fake"),
        "names the provider: {}",
        warnings[0]
    );
    t.say("Thanks!").await;
    assert_eq!(
        logs.lines_with("sends no token usage").len(),
        1,
        "still one"
    );
    drop(guard);

    let rows = t
        .store()
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    let row = &rows[0];
    assert_eq!((row.model_calls, row.estimated_calls), (3, 3));
    assert!(row.completion_tokens > 0 && row.cost_usd > 0.0 && row.credits > 0.0);
    // Conservative: never below the exact count of what was sent, never wildly above.
    let exact: i64 = t.model.requests().iter().map(exact_prompt_tokens).sum();
    assert!(
        row.prompt_tokens >= exact && row.prompt_tokens <= exact * 2,
        "estimated {} prompt tokens for {exact} exact",
        row.prompt_tokens
    );
    let expected_cost = (row.prompt_tokens as f64 * 1.0 + row.completion_tokens as f64 * 2.0) / 1e6;
    assert!(
        (row.cost_usd - expected_cost).abs() < 1e-12,
        "priced like any call"
    );

    // The report says how much of it is estimated.
    let db = t._dir.path().join("fanops.db");
    let config = t._dir.path().join("fanops.toml");
    let text = config_text(
        &t.model.url(),
        &t.api.url(),
        &format!("sqlite://{}", db.display()),
        "",
    );
    std::fs::write(&config, text).unwrap();
    let json = fanops(
        &["usage", "--by", "kind", "--format", "json"],
        &config,
        t._dir.path(),
    )
    .output()
    .unwrap();
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["rows"][0]["key"], "chat");
    assert_eq!(report["rows"][0]["model_calls"], 3);
    assert_eq!(report["rows"][0]["estimated_calls"], 3);
    assert_eq!(report["total"]["estimated_calls"], 3);
    let table = fanops(&["usage"], &config, t._dir.path()).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("3 of 3 model calls"), "{table}");
}

#[tokio::test]
async fn a_provider_with_usage_is_metered_exactly() {
    let t = spawn_app().await;
    t.model.push(Reply::text("Hello!"));
    t.say("Hi").await;
    let rows = t
        .store()
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    assert_eq!((rows[0].model_calls, rows[0].estimated_calls), (1, 0));
    let request = t.model.last_request().unwrap();
    let reported = crate::support::usage_for(&request, "Hello!".len());
    assert_eq!(
        rows[0].prompt_tokens,
        reported["prompt_tokens"].as_i64().unwrap()
    );
}

#[tokio::test]
async fn a_rate_limited_model_is_retried_in_one_place_until_it_answers() {
    for limited in [1, 3] {
        let t = spawn_app().await;
        t.model.push_all((0..limited).map(|_| Reply::RateLimited {
            retry_after_ms: Some(5),
        }));
        t.model.push(Reply::text("Here you go."));
        let out = t.say("How much did we earn this week?").await;
        assert_eq!(out.last().text, "Here you go.");
        assert_eq!(
            t.model.request_count(),
            limited + 1,
            "{limited} answers of 429, then one success"
        );
    }
}

#[tokio::test]
async fn a_model_that_stays_rate_limited_gets_four_requests_and_the_person_a_plain_error() {
    let t = spawn_app().await;
    t.model.respond_with(|_| Reply::RateLimited {
        retry_after_ms: Some(5),
    });
    let out = t.say("How much did we earn this week?").await;
    assert_eq!(t.model.request_count(), 4, "one request and three retries");
    let text = out.last().text;
    assert!(
        text.starts_with("Sorry, the AI model provider is limiting how often I may ask it"),
        "{text}"
    );
    assert!(text.contains("Try again in a minute"), "{text}");
    assert!(
        !text.contains("429"),
        "a sentence for people, not a status code: {text}"
    );
}

#[tokio::test]
async fn a_spent_quota_is_not_retried() {
    let t = spawn_app().await;
    let body = json!({"error": {"message": "You exceeded your current quota.", "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}});
    t.model
        .respond_with(move |_| Reply::Status(429, body.to_string()));
    let out = t.say("hello").await;
    assert_eq!(t.model.request_count(), 1);
    let text = out.last().text;
    assert!(
        text.contains("quota is spent") && text.contains("admin"),
        "{text}"
    );
}
