//! Scheduled runs and event rules are the team's spending: they count against the team's
//! budget only and are shown by kind, never as a "user", in `fanops budget show`,
//! `/budget` in chat and the operations page.

use crate::helpers::{build_app, fanops, send_to, DASHBOARD_TOKEN};
use crate::support::{config_text, FakeModel, FakeOnlyFans, Reply};
use fanops::core::InboundBody;
use fanops::scheduler::engine::RuleFire;
use tokio_util::sync::CancellationToken;

const TASK: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "telegram"
to = "555"
"#;

const RULE: &str = r#"name = "Thank tippers"
prompt = "Suggest a thank-you message for this tip."

[trigger]
event = "tip"

[deliver]
channel = "telegram"
to = "-100"
"#;

#[tokio::test]
async fn runs_and_rules_spend_the_teams_budget_and_are_never_a_user() {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("morning-digest.toml"), TASK).unwrap();
    std::fs::write(workflows.join("thank-tippers.toml"), RULE).unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let extra = format!(
        "[server]\ndashboard = true\n\n[scheduler]\nworkflows_dir = \"{}\"\n\n[budgets]\nmonthly_credits = 50000\nuser_monthly_credits = 0.02\n",
        workflows.display()
    );
    let text = config_text(&model.url(), &api.url(), &db, &extra);
    let config = dir.path().join("fanops.toml");
    std::fs::write(&config, &text).unwrap();
    let (app, _) = build_app("team.toml", text, false).await;

    // A scheduled run and an event rule, each through the agent and the fake model.
    let all = app.scheduler.workflows();
    let task = all.iter().find(|w| w.id == "morning-digest").unwrap();
    let rule = all.iter().find(|w| w.id == "thank-tippers").unwrap();
    model.push(Reply::text("Yesterday the agency earned $1,912.40."));
    app.scheduler.run_now(task, false).await.unwrap();
    model.push(Reply::text("Thank you so much for the tip!"));
    let prompt = "Suggest a thank-you message for this tip.".to_string();
    app.scheduler
        .fire_rule(rule, chrono::Utc::now(), RuleFire::Ask(prompt))
        .await
        .unwrap();
    let spent = app
        .store
        .spend_of_runs_since(chrono::Utc::now() - chrono::Duration::hours(1));
    let spent = spent.await.unwrap();
    assert!(
        spent.iter().any(|(k, c)| k == "scheduled" && *c > 0.02)
            && spent.iter().any(|(k, c)| k == "event" && *c > 0.0),
        "both runs were metered: {spent:?}"
    );

    // A person with a budget of 0.02 still gets answers: the runs are not theirs.
    model.push(Reply::text("Hello."));
    let hello = send_to(&app, "1", "100", InboundBody::Text("Hi".into())).await;
    let answer = hello.last().text;
    assert!(answer.starts_with("Hello."), "{answer}");

    let shown = send_to(&app, "1", "100", InboundBody::Text("/budget".into()))
        .await
        .last()
        .text;
    assert!(shown.contains("- of it, scheduled runs: "), "{shown}");
    assert!(shown.contains("- of it, event rules: "), "{shown}");
    assert!(!shown.contains("scheduler"), "{shown}");

    let out = fanops(&["budget", "show"], &config, dir.path())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{table}");
    for needle in ["team: scheduled runs", "team: event rules", "user 1"] {
        assert!(table.contains(needle), "{needle} in:\n{table}");
    }
    assert!(!table.contains("scheduler"), "{table}");

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    fanops::app::install_tls_provider();
    let page = reqwest::Client::new()
        .get(format!("{base}/"))
        .bearer_auth(DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let budgets = &page[page.find("id=\"budgets\"").unwrap()..page.find("id=\"usage\"").unwrap()];
    assert!(budgets.contains("team: scheduled runs"), "{budgets}");
    assert!(budgets.contains("team: event rules"), "{budgets}");
    assert!(budgets.contains("user 1"), "{budgets}");
    assert!(!budgets.contains("scheduler"), "{budgets}");
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
