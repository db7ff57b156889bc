//! Budgets end to end: the check before every model call, the warning said once, raising
//! a budget from chat through the confirmation gate, `fanops budget`, usage charts.

use crate::helpers::{spawn_app_with, TestApp};
use crate::support::Reply;
use fanops::store::{Decision, SharedStore, UsageEntry, UsageSource};

/// Records `credits` spent now by `user` in chat, as a model call would.
pub(crate) async fn charge(store: &SharedStore, user: &str, credits: f64) {
    let entry = UsageEntry {
        at: chrono::Utc::now(),
        platform: "telegram".into(),
        user: user.into(),
        kind: "chat".into(),
        model: Some("test-model".into()),
        source: UsageSource::Model,
        credits,
        cost_usd: credits / 100.0,
        ..UsageEntry::default()
    };
    store.record_usage(&entry).await.unwrap();
}

fn text_of(reply: &fanops::core::Outbound) -> &str {
    &reply.text
}

#[tokio::test]
async fn a_spent_user_budget_gets_a_plain_answer_and_no_further_model_call() {
    let t = spawn_app_with("[budgets]\nuser_monthly_credits = 5\n").await;
    // Just under the budget: the first call of the turn goes out and crosses it.
    charge(t.store(), "1", 4.99).await;
    // Only the first call is scripted: a second one would get no scripted reply.
    t.model
        .push(Reply::tool("list_accounts", serde_json::json!({})));
    let reply = t.say("Which accounts do we have?").await.last();
    assert_eq!(
        text_of(&reply),
        "Your budget for this month (5 credits) is spent; an admin can raise it with /budget."
    );
    assert_eq!(t.model.request_count(), 1, "one call overshoots, no more");

    // The next message makes no model call at all.
    let reply = t.say("And now?").await.last();
    assert!(text_of(&reply).contains("budget"), "{reply:?}");
    assert_eq!(t.model.request_count(), 1);
    // The refusal is the answer in the history, so the model later sees what happened.
    let history = t.store().history("telegram:100:", 50).await.unwrap();
    let last = history.last().unwrap();
    assert!(last.content.as_deref().unwrap().contains("is spent"));

    // Another user's budget is their own.
    t.model.push(Reply::text("Hello admin."));
    let other = t.say_as("3", "300", "Hello?").await.last();
    assert_eq!(text_of(&other), "Hello admin.");
    assert_eq!(t.model.request_count(), 2);
    let metrics = fanops::metrics::render();
    assert!(
        metrics.contains("fanops_budget_refusals_total{scope=\"user\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("fanops_budget_left_credits{scope=\"user:1\"} 0"));
}

#[tokio::test]
async fn the_warning_is_said_once_a_month() {
    let t = spawn_app_with("[budgets]\nmonthly_credits = 100\nwarn_at = 0.8\n").await;
    charge(t.store(), "9", 85.0).await;
    t.model.push(Reply::text("Here you go."));
    let first = t.say("Hi").await.last();
    assert!(first.text.starts_with("Here you go."), "{first:?}");
    assert!(
        first
            .text
            .contains("Budget warning: 85% of this month's team budget is used"),
        "{first:?}"
    );
    t.model.push(Reply::text("Again."));
    let second = t.say("Hi again").await.last();
    assert_eq!(second.text, "Again.", "said once");
    // Another user does not get the team's warning a second time either.
    t.model.push(Reply::text("Hello."));
    assert_eq!(t.say_as("3", "300", "Hi").await.last().text, "Hello.");
}

async fn confirm_prompt(t: &TestApp, user: &str, text: &str) -> String {
    let reply = t.say_as(user, "100", text).await.last();
    match reply.confirm {
        Some(prompt) => prompt.action_id,
        None => panic!("a confirmation prompt: {}", reply.text),
    }
}

#[tokio::test]
async fn raising_the_budget_from_chat_needs_an_admins_confirmation() {
    let t = spawn_app_with("[budgets]\nmonthly_credits = 10\n").await;
    charge(t.store(), "1", 10.0).await;
    let refused = t.say("How much did we earn?").await.last();
    assert_eq!(
        refused.text,
        "This month's budget of 10 credits is spent; an admin can raise it with /budget."
    );

    let shown = t.say("/budget").await.last().text;
    assert!(
        shown.contains("Team: 10 of 10 credits used; 0 left (spent)"),
        "{shown}"
    );

    let operator = t.say("/budget set 100").await.last().text;
    assert!(
        operator.contains("Only an admin can change budgets"),
        "{operator}"
    );

    let action = confirm_prompt(&t, "3", "/budget set 100").await;
    let by_operator = t.press("1", "100", &action, Decision::Confirm).await.last();
    assert!(
        by_operator.text.contains("Only an admin can decide"),
        "{by_operator:?}"
    );
    let still = t.say("How much now?").await.last();
    assert!(still.text.contains("is spent"), "nothing changed yet");

    let done = t.press("3", "100", &action, Decision::Confirm).await.last();
    assert_eq!(
        done.text,
        "Done: the team's monthly budget is now 100 credits a month. 10 used this month, 90 left."
    );
    assert!(done.decided.is_some());
    assert_eq!(t.model.request_count(), 0, "no model call for any of it");

    t.model.push(Reply::text("You earned a lot."));
    assert_eq!(
        t.say("How much now?").await.last().text,
        "You earned a lot."
    );
    let audit = t.store().recent_audit(10).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "budget.set"
        && a.actor == "3"
        && a.subject.as_deref() == Some("team")));

    // One user's budget, confirmed by typing yes.
    confirm_prompt(&t, "3", "/budget set 2k for 1").await;
    let done = t.say_as("3", "100", "yes").await.last().text;
    assert!(
        done.contains("user 1 is now 2,000 credits a month"),
        "{done}"
    );
}

#[tokio::test]
async fn usage_in_chat_comes_as_a_chart_activity_and_csv() {
    let t = spawn_app_with("").await;
    charge(t.store(), "1", 12.5).await;
    charge(t.store(), "3", 2.0).await;
    let chart = t.say("/usage chart 7d by user").await.last();
    assert!(
        chart.text.starts_with("Credits by user, last 7 days"),
        "{chart:?}"
    );
    let png = &chart.attachments[0];
    assert_eq!(png.mime, "image/png");
    assert_eq!(&png.bytes[1..4], b"PNG");
    let activity = t.say("/usage activity").await.last().text;
    assert!(
        activity.contains("| telegram | test-model | 1 | chat | 12.50 |"),
        "{activity}"
    );
    let csv = t.say("/usage csv all").await.last();
    let file = String::from_utf8(csv.attachments[0].bytes.clone()).unwrap();
    assert!(
        file.starts_with("time_utc,platform,user,kind,model"),
        "{file}"
    );
    assert_eq!(file.lines().count(), 3);
    let bad = t.say("/usage chart by day").await.last().text;
    assert!(bad.contains("stack it by model"), "{bad}");
}

#[tokio::test]
async fn the_command_line_sets_and_shows_budgets_and_draws_charts() {
    let model = crate::support::FakeModel::start().await;
    let api = crate::support::FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config = dir.path().join("fanops.toml");
    std::fs::write(
        &config,
        crate::support::config_text(
            &model.url(),
            &api.url(),
            &db,
            "[budgets]\nmonthly_credits = 50000\n",
        ),
    )
    .unwrap();
    let store = fanops::store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    charge(&store, "1", 1234.0).await;
    charge(&store, "2", 10.0).await;

    let run = |args: &[&str]| {
        let out = crate::helpers::fanops(args, &config, dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{args:?}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        text
    };
    let set = run(&["budget", "set", "--monthly", "5000", "--user", "1"]);
    assert!(
        set.contains("the monthly budget of user 1 to 5,000 credits a month"),
        "{set}"
    );
    let shown = run(&["budget", "show"]);
    assert!(shown.contains("50,000"), "{shown}");
    let user_line = shown.lines().find(|l| l.contains("user 1")).unwrap();
    assert!(
        user_line.contains("5,000") && user_line.contains("1,234") && user_line.contains("3,766"),
        "{shown}"
    );

    let chart = dir.path().join("usage.png");
    let said = run(&[
        "usage",
        "--period",
        "30d",
        "--by",
        "user",
        "--chart",
        chart.to_str().unwrap(),
    ]);
    assert!(said.contains("1,244 credits in all"), "{said}");
    let png = std::fs::read(&chart).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1000, 500));

    let ledger = run(&["usage", "--rows", "--format", "csv", "--period", "all"]);
    assert!(
        ledger.starts_with("time_utc,platform,user,kind,model"),
        "{ledger}"
    );
    assert_eq!(ledger.lines().count(), 3, "{ledger}");
    let latest = run(&["usage", "--rows"]);
    assert!(latest.contains("1234.00"), "{latest}");

    let bad = crate::helpers::fanops(&["budget", "set", "--monthly", "lots"], &config, dir.path())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--monthly `lots`"));
}

#[cfg(feature = "telegram")]
mod on_telegram {
    use super::charge;
    use crate::scheduler::utc;
    use crate::support::{FakeModel, FakeOnlyFans, FakeTelegram};
    use fanops::store::RunStatus;
    use std::time::Duration;

    const WAIT: Duration = Duration::from_secs(10);

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

    #[tokio::test]
    async fn a_scheduled_run_on_a_spent_team_budget_is_skipped_and_notify_says_so() {
        let (tg, model, api, dir) = crate::scheduler::fakes().await;
        let workflows = dir.path().join("workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(workflows.join("morning-digest.toml"), TASK).unwrap();
        let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
        let extra = format!(
            "[scheduler]\nworkflows_dir = \"{}\"\n\n[budgets]\nmonthly_credits = 1\nnotify = {{ channel = \"telegram\", to = \"777\" }}\n",
            workflows.display()
        );
        let text = crate::helpers::telegram_config(&tg, &model, &api, &db, "", &extra);
        let app = crate::scheduler::app_from(text).await;
        charge(&app.store, "1", 1.5).await;

        let scheduler = app.scheduler.clone();
        scheduler.tick(utc("2026-11-22T07:00:00Z")).await.unwrap();
        let tick = scheduler.tick(utc("2026-11-22T08:00:20Z")).await.unwrap();
        assert_eq!(tick.started.len(), 1);
        for (_, _, handle) in tick.started {
            handle.await.unwrap();
        }
        assert_eq!(model.request_count(), 0, "no model call on a spent budget");
        let runs = app.store.recent_runs("morning-digest", 5).await.unwrap();
        assert_eq!(runs[0].status, RunStatus::SkippedBudget);
        assert!(runs[0]
            .output
            .as_deref()
            .unwrap()
            .contains("budget of 1 credits is spent"));
        assert!(
            tg.sent_texts(555).is_empty(),
            "nothing posted to the task's chat"
        );

        let probe = tg.clone();
        assert!(
            tg.wait_for(
                move |_| probe.sent_texts(777).iter().any(|t| t.contains("budget")),
                WAIT
            )
            .await,
            "the team's notice goes to [budgets] notify"
        );
        let lines = fanops::tasks::list(
            app.store.as_ref(),
            &scheduler.workflows(),
            utc("2026-11-22T08:01:00Z"),
        )
        .await
        .unwrap();
        assert!(fanops::tasks::render(&lines).contains("skipped: budget"));
    }

    #[tokio::test]
    async fn usage_chart_arrives_as_a_photo() {
        crate::helpers::quiet_logs();
        let (tg, model, api) = (
            FakeTelegram::start().await,
            FakeModel::start().await,
            FakeOnlyFans::start().await,
        );
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
        let store = fanops::store::connect(&db).await.unwrap();
        store.migrate().await.unwrap();
        charge(&store, "1", 42.0).await;
        let text = crate::helpers::telegram_config(&tg, &model, &api, &db, "poll_timeout = 1", "");
        let served = crate::helpers::serve_text("tg.toml", text).await;
        tg.push_text(1, 1, "/usage chart 30d by kind");
        let probe = tg.clone();
        assert!(
            tg.wait_for(move |_| !probe.calls_of("sendphoto").is_empty(), WAIT)
                .await
        );
        let photo = tg.calls_of("sendphoto").pop().unwrap().body;
        assert_eq!(photo["_file"]["filename"], "usage.png", "{photo}");
        assert!(photo["_file"]["bytes"].as_u64().unwrap() > 5_000);
        assert_eq!(model.request_count(), 0);
        served.shutdown.cancel();
        served.server.await.unwrap().unwrap();
    }
}

#[test]
fn budget_config_mistakes_are_located() {
    use fanops::config::{Config, ConfigSource};
    let text = "timezone = \"UTC\"\n\n[budgets]\nmonthly_credits = -5\nwarn_at = 1.5\nnotify = { channel = \"slack\", to = \"\" }\n";
    let source = ConfigSource::Text {
        origin: "fanops.toml".into(),
        text: text.into(),
    };
    let problems: Vec<String> =
        match Config::load_with_env(source, &|_| None, &fanops::channels::configs()) {
            Ok(_) => panic!("the mistakes are problems"),
            Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
        };
    assert!(
        problems.contains(&"fanops.toml:4: monthly_credits must be 0 or more credits".to_string()),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("fanops.toml:5: warn_at must be")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p
            .starts_with("fanops.toml:6: notify channel `slack` must be a configured connection")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("notify needs `to`")),
        "{problems:?}"
    );
}

/// Two processes on one database: the spend one records is the other's refusal, and the
/// warning is said once between them.
#[tokio::test]
async fn replicas_share_spend_and_say_the_warning_once() {
    let model = crate::support::FakeModel::start().await;
    let api = crate::support::FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(
        &model.url(),
        &api.url(),
        &db,
        "[budgets]\nmonthly_credits = 10\nwarn_at = 0.5\n",
    );
    let (first, _) = crate::helpers::build_app("a.toml", text.clone(), false).await;
    let (second, _) = crate::helpers::build_app("b.toml", text, false).await;
    let say = |app, user: &'static str, words: &'static str| async move {
        let body = fanops::core::InboundBody::Text(words.into());
        crate::helpers::send_to(app, user, "100", body).await.last()
    };

    charge(&first.store, "9", 6.0).await;
    model.push(Reply::text("One."));
    let warned = say(&first, "1", "Hi").await.text;
    assert!(warned.contains("Budget warning"), "{warned}");
    model.push(Reply::text("Two."));
    assert_eq!(
        say(&second, "3", "Hi").await.text,
        "Two.",
        "warned once, by either"
    );

    charge(&first.store, "9", 4.0).await;
    let refused = say(&second, "1", "More?").await.text;
    assert!(
        refused.contains("budget of 10 credits is spent"),
        "{refused}"
    );
    assert_eq!(model.request_count(), 2);
}
