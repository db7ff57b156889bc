//! OnlyFansAPI's limits: the client follows the per-minute budget the API reports, and
//! the default configured rate does not hold back a busy agency.

use crate::helpers::{spawn_with_api, spawn_with_onlyfans_keys, tool_messages, TestApp};
use crate::support::{FakeOnlyFans, Reply};
use serde_json::{json, Value};
use std::time::Duration;

const EARNINGS_PATH: &str = "/statistics/statements/earnings";

/// Asks for everyone's earnings once and returns the tool result the model got.
async fn ask_earnings(t: &TestApp) -> Value {
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-30"}),
        )]),
        Reply::Text("ok".into()),
    ]);
    let before = t.model.request_count();
    t.say("earnings for everyone").await;
    let requests = t.model.requests();
    serde_json::from_str(&tool_messages(&requests[before + 1])[0]).unwrap()
}

fn earnings_requests(t: &TestApp) -> usize {
    t.api
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(EARNINGS_PATH))
        .count()
}

#[tokio::test]
async fn the_client_never_spends_more_than_the_budget_the_api_reports() {
    let api = FakeOnlyFans::start_with_accounts(12).await;
    // Five requests a window, and a window of one second (the real one is a minute).
    api.set_rate_limit(5, Duration::from_secs(1));
    let t = spawn_with_onlyfans_keys(api, "", r#"rate_limit_window = "1s""#).await;

    let result = ask_earnings(&t).await;

    assert_eq!(result["totals"]["accounts_with_data"], 12, "{result}");
    assert_eq!(
        earnings_requests(&t),
        12,
        "each account asked once, no retries"
    );
    assert_eq!(
        t.api.budget_refusals(),
        0,
        "the API never had to refuse a request"
    );
    let waits = t.app.agent.api_waits();
    assert!(
        waits.reported_budget > 0,
        "13 requests over a budget of 5 a window had to wait: {waits:?}"
    );
}

#[tokio::test]
async fn a_spent_budget_from_elsewhere_is_waited_out_and_the_answer_still_comes() {
    let api = FakeOnlyFans::start_with_accounts(4).await;
    api.set_rate_limit(3, Duration::from_secs(1));
    let t = spawn_with_onlyfans_keys(api, "", r#"rate_limit_window = "1s""#).await;
    // Another user of the key spends the whole window first.
    let other = reqwest::Client::new();
    for _ in 0..3 {
        other
            .get(format!("{}/api/accounts", t.api.url()))
            .bearer_auth("k")
            .send()
            .await
            .unwrap();
    }

    let result = ask_earnings(&t).await;

    assert_eq!(result["totals"]["accounts_with_data"], 4, "{result}");
    // Only the request that learnt the budget met the spent window; it waited for
    // Retry-After and everything else was held back meanwhile.
    assert_eq!(t.api.budget_refusals(), 1);
    assert_eq!(earnings_requests(&t), 4);
}

#[tokio::test]
async fn default_limits_do_not_hold_back_fifty_creators_asked_twice() {
    let api = FakeOnlyFans::start_with_accounts(50).await;
    let t = spawn_with_api(api, "").await;

    for _ in 0..2 {
        let result = ask_earnings(&t).await;
        assert_eq!(result["totals"]["accounts_with_data"], 50, "{result}");
    }

    assert_eq!(earnings_requests(&t), 100);
    assert_eq!(t.api.budget_refusals(), 0);
    let waits = t.app.agent.api_waits();
    assert_eq!(
        waits.configured_rate, 0,
        "the default requests_per_minute never made a request wait"
    );
    assert_eq!(
        waits.reported_budget, 0,
        "a budget of 1000 a minute is far from spent"
    );
}
