//! Questions answered from API reads, the step limit, history, commands and access.

use crate::helpers::{spawn_app, spawn_app_with, spawn_with_api, tool_messages};
use crate::support::{Failure, FakeOnlyFans, Reply};
use fanops::store::UsageDimension;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

const EARNINGS: &str = "/api/acct_8f3k2j1h0g9f8e7d/statistics/statements/earnings";

#[tokio::test]
async fn a_question_is_answered_from_an_api_read() {
    let t = spawn_app().await;
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("You earned $1,912.40 net this week.".into()),
    ]);
    let out = t.say("How much did we earn this week?").await;

    assert_eq!(out.last().text, "You earned $1,912.40 net this week.");
    assert_eq!(
        out.working.load(Ordering::SeqCst),
        1,
        "one 'On it…' before the answer"
    );
    // The read crossed the wire with the catalog's date format and the bearer key.
    let calls: Vec<_> = t
        .api
        .requests()
        .into_iter()
        .filter(|r| r.path == EARNINGS)
        .collect();
    assert_eq!(calls.len(), 1);
    assert!(calls[0]
        .query
        .contains(&("start_date".into(), "2025-06-01 00:00:00".into())));
    assert!(calls[0]
        .query
        .contains(&("end_date".into(), "2025-06-07 23:59:59".into())));
    assert_eq!(calls[0].headers["authorization"], "Bearer test-ofapi-key");
    // The unauthenticated account is reported, not called.
    assert_eq!(
        t.api.count(
            "GET",
            "/api/acct_2b7c9d0e1f2a3b4c/statistics/statements/earnings"
        ),
        0
    );

    let requests = t.model.requests();
    assert_eq!(requests.len(), 2);
    let first = &requests[0];
    let system = first["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("Europe/London"),
        "the team's zone is in the prompt"
    );
    assert!(
        system.contains("acct_8f3k2j1h0g9f8e7d"),
        "the accounts are in the prompt"
    );
    assert!(system.contains("Never invent"));
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "list_accounts",
            "find_endpoints",
            "call_endpoint",
            "agency_earnings",
            "make_csv",
            "make_chart",
            "list_tasks",
            "run_task",
            "list_skills",
            "read_skill"
        ],
        "an operator is not offered the admin-only tools"
    );
    let result: Value = serde_json::from_str(&tool_messages(&requests[1])[0]).unwrap();
    assert_eq!(result["totals"]["net"], 1912.4);
    assert_eq!(result["totals"]["accounts_failed"], 1);

    // Metering: two model calls, and API credits for the reads.
    let rows = t
        .store()
        .usage_report(None, UsageDimension::Model)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "test-model");
    assert_eq!(rows[0].model_calls, 2);
    assert!(rows[0].prompt_tokens > 0 && rows[0].cost_usd > 0.0);
    assert!((rows[0].credits - rows[0].cost_usd * 100.0).abs() < 1e-9);
    assert_eq!(rows[0].api_calls, 2, "accounts list + one earnings call");
    assert_eq!(
        rows[0].api_credits, 1.0,
        "the earnings fixture reports 1 credit"
    );
}

#[tokio::test]
async fn reads_requested_in_one_turn_run_concurrently() {
    let t = spawn_app().await;
    t.api.set_delay(std::time::Duration::from_millis(300));
    let overview =
        json!({"endpoint": "statistics/statistics-overview", "account": "acct_8f3k2j1h0g9f8e7d"});
    let balances =
        json!({"endpoint": "payouts/get-account-balances", "account": "acct_8f3k2j1h0g9f8e7d"});
    let fans = json!({"endpoint": "fans/list-top-fans", "account": "acct_8f3k2j1h0g9f8e7d"});
    // Warm the account cache first so only the three reads are timed.
    t.model.push_all([
        Reply::ToolCalls(vec![("list_accounts".into(), json!({}))]),
        Reply::ToolCalls(vec![
            ("call_endpoint".into(), overview),
            ("call_endpoint".into(), balances),
            ("call_endpoint".into(), fans),
        ]),
        Reply::Text("done".into()),
    ]);
    let started = std::time::Instant::now();
    let out = t.say("overview please").await;
    assert_eq!(out.last().text, "done");
    // Sequential would be >= 4 × 300 ms (accounts + 3 reads); concurrent is ~2 × 300 ms.
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1100),
        "took {:?}",
        started.elapsed()
    );
    let results = tool_messages(&t.model.requests()[2]);
    assert_eq!(results.len(), 4);
    assert!(results[1].contains("\"earning\""));
    assert!(results[2].contains("payoutAvailable"));
    assert!(results[3].contains("\"users\""));
}

#[tokio::test]
async fn a_bad_call_returns_a_precise_error_to_the_model_without_hitting_the_api() {
    let t = spawn_app().await;
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "call_endpoint".into(),
            json!({"endpoint": "statistics/get-earnings", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"type": "bogus"}}),
        )]),
        Reply::Text("I could not get that.".into()),
    ]);
    t.say("earnings?").await;
    let result = &tool_messages(&t.model.requests()[1])[0];
    assert!(result.starts_with("Error:"), "{result}");
    assert!(
        result.contains("start_date"),
        "names the missing parameter: {result}"
    );
    assert_eq!(t.api.count("GET", EARNINGS), 0);
}

#[tokio::test]
async fn rate_limited_reads_are_retried_after_retry_after() {
    let t = spawn_app().await;
    t.api.fail_next(
        "statistics/statements/earnings",
        vec![Failure::RateLimited {
            retry_after_secs: 1,
        }],
    );
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("ok".into()),
    ]);
    let started = std::time::Instant::now();
    t.say("earnings").await;
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was honoured"
    );
    assert_eq!(t.api.count("GET", EARNINGS), 2, "one 429, then one success");
    let result: Value = serde_json::from_str(&tool_messages(&t.model.requests()[1])[0]).unwrap();
    assert_eq!(result["totals"]["net"], 1912.4);
}

#[tokio::test]
async fn a_server_error_that_never_recovers_becomes_a_plain_error() {
    let t = spawn_app().await;
    t.api.fail_always("statistics/overview", 500);
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "call_endpoint".into(),
            json!({"endpoint": "statistics/statistics-overview", "account": "acct_8f3k2j1h0g9f8e7d"}),
        )]),
        Reply::Text("OnlyFansAPI is failing right now.".into()),
    ]);
    let out = t.say("overview").await;
    assert_eq!(out.last().text, "OnlyFansAPI is failing right now.");
    let result = &tool_messages(&t.model.requests()[1])[0];
    assert!(
        result.contains("kept answering 500 after 3 attempts"),
        "{result}"
    );
    assert_eq!(
        t.api
            .count("GET", "/api/acct_8f3k2j1h0g9f8e7d/statistics/overview"),
        3
    );
}

#[tokio::test]
async fn a_failing_model_gives_the_person_a_plain_error() {
    let t = spawn_app().await;
    t.model
        .push_all((0..4).map(|_| Reply::Status(500, "upstream exploded".into())));
    let out = t.say("hello").await;
    let text = out.last().text;
    assert!(
        text.starts_with("Sorry, the AI model provider `fake` is not answering right now")
            && text.contains("Try again in a minute"),
        "{text}"
    );
    // A sentence for people; the raw error stays in the log.
    assert!(
        !text.contains("upstream exploded") && !text.contains("500"),
        "{text}"
    );
}

#[tokio::test]
async fn the_step_limit_ends_a_runaway_loop() {
    let t = spawn_app_with("[agent]\nmax_steps = 3\n").await;
    t.model
        .respond_with(|_| Reply::ToolCalls(vec![("list_accounts".into(), json!({}))]));
    let out = t.say("loop forever").await;
    assert!(
        out.last().text.contains("stopped after 3 steps"),
        "{}",
        out.last().text
    );
    assert_eq!(t.model.request_count(), 3);
}

#[tokio::test]
async fn agency_earnings_copes_with_dozens_of_creators() {
    let t = spawn_with_api(FakeOnlyFans::start_with_accounts(40).await, "").await;
    t.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-30"}),
        )]),
        Reply::Text("ok".into()),
    ]);
    t.say("earnings for everyone").await;
    let result: Value = serde_json::from_str(&tool_messages(&t.model.requests()[1])[0]).unwrap();
    assert_eq!(result["accounts"].as_array().unwrap().len(), 40);
    assert_eq!(result["totals"]["accounts_with_data"], 40);
    // Sum of 100 + 10 i for i in 0..40.
    assert_eq!(result["totals"]["net"], 4000.0 + 10.0 * 780.0);
    assert_eq!(
        result["accounts"][0]["account"], "acct_gen0039",
        "largest first"
    );
}

#[tokio::test]
async fn history_carries_over_and_reset_clears_it() {
    let t = spawn_app().await;
    t.model.push_all([
        Reply::Text("first answer".into()),
        Reply::Text("second answer".into()),
    ]);
    t.say("first question").await;
    t.say("second question").await;
    let second = &t.model.requests()[1];
    let texts: Vec<&str> = second["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(texts.contains(&"first question") && texts.contains(&"first answer"));

    let out = t.say("/reset").await;
    assert!(out.last().text.contains("forgotten"));
    t.model.push(Reply::Text("fresh".into()));
    t.say("third question").await;
    let third = &t.model.requests()[2];
    let messages = third["messages"].as_array().unwrap();
    assert_eq!(
        messages.len(),
        3,
        "system prompt, the new question and the time only"
    );
    assert_eq!(messages[1]["content"], "third question");
    assert!(messages[2]["content"]
        .as_str()
        .unwrap()
        .starts_with("Time now: "));
}

#[tokio::test]
async fn a_stranger_gets_their_id_and_nothing_else_happens() {
    let t = spawn_app().await;
    let out = t.say_as("424242", "555", "How much did we earn?").await;
    assert!(out.last().text.contains("424242"));
    assert!(out.last().text.contains("not allowed"));
    assert_eq!(t.model.request_count(), 0);
    assert!(t.api.requests().is_empty());
    assert!(t
        .store()
        .history("telegram:555:", 10)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn oversized_messages_are_refused_with_the_limit() {
    let t = spawn_app().await;
    let out = t.say(&"x".repeat(9000)).await;
    assert!(
        out.last().text.contains("9000 characters"),
        "{}",
        out.last().text
    );
    assert_eq!(t.model.request_count(), 0);
}

#[tokio::test]
async fn help_and_usage_commands_answer_without_the_model() {
    let t = spawn_app().await;
    t.model.push(Reply::Text("hi".into()));
    t.say("hello").await;
    let help = t.say("/help").await.last().text;
    assert!(help.contains("/reset") && help.contains("/usage"));
    let usage = t.say("/usage").await.last().text;
    assert!(usage.contains("| test-model | 1 |"), "{usage}");
    assert_eq!(t.model.request_count(), 1);
}

#[tokio::test]
async fn the_terminal_channel_shows_progress_and_tables() {
    use fanops::channels::console::{self, ConsoleReplier};
    let t = spawn_app().await;
    t.model.push_all([
        Reply::ToolCalls(vec![("list_accounts".into(), json!({}))]),
        Reply::Text("| creator | net |\n|---|---:|\n| Luna | 1912.40 |".into()),
    ]);
    let replier = ConsoleReplier::new(Vec::new());
    let input = tokio::io::BufReader::new(&b"who earned most?\n/quit\n"[..]);
    console::run(&t.app.core, input, &replier).await.unwrap();
    let screen = String::from_utf8(replier.into_inner()).unwrap();
    assert!(screen.contains("On it…"), "{screen}");
    assert!(screen.contains("│ Luna    ┆ 1912.40 │"), "{screen}");
    let requests = t.model.requests();
    assert_eq!(requests[0]["messages"][1]["content"], "who earned most?");
}
