//! The scheduler's step function with chosen clock values, delivering to the fake Telegram.

use crate::support::{config_text, FakeModel, FakeOnlyFans, FakeTelegram, Reply};
use chrono::{DateTime, Utc};
use fanops::app::App;
use fanops::store::RunStatus;

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

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

/// A message from permitted Telegram user 1 in chat 1, through the core.
async fn say(app: &App, text: &str) -> crate::helpers::Collector {
    let body = fanops::core::InboundBody::Text(text.into());
    crate::helpers::send_to(app, "1", "1", body).await
}

/// The three fakes and a scratch directory, with logs quiet unless TEST_LOG is set.
pub(crate) async fn fakes() -> (FakeTelegram, FakeModel, FakeOnlyFans, tempfile::TempDir) {
    crate::helpers::quiet_logs();
    let fakes = (
        FakeTelegram::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    (fakes.0, fakes.1, fakes.2, tempfile::tempdir().unwrap())
}

pub(crate) fn config_file(
    tg: &FakeTelegram,
    model: &FakeModel,
    api: &FakeOnlyFans,
    dir: &std::path::Path,
) -> String {
    let db = format!("sqlite://{}", dir.join("fanops.db").display());
    config_with_db(tg, model, api, dir, &db)
}

fn config_with_db(
    tg: &FakeTelegram,
    model: &FakeModel,
    api: &FakeOnlyFans,
    dir: &std::path::Path,
    db: &str,
) -> String {
    let workflows = dir.join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("morning-digest.toml"), TASK).unwrap();
    let base = config_text(&model.url(), &api.url(), db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    format!(
        "{base}\n[channels.telegram]\napi_url = \"{}\"\npermitted_users = [1]\n\n[scheduler]\nworkflows_dir = \"{}\"\n",
        tg.url(),
        workflows.display()
    )
}

async fn app_with_task(
    tg: &FakeTelegram,
    model: &FakeModel,
    api: &FakeOnlyFans,
    dir: &std::path::Path,
) -> App {
    app_from(config_file(tg, model, api, dir)).await
}

pub(crate) async fn app_from(text: String) -> App {
    crate::helpers::build_app("s.toml", text, true).await.0
}

#[tokio::test]
async fn a_daily_task_fires_once_is_delivered_once_and_records_misses() {
    let (tg, model, api, dir) = fakes().await;
    let app = app_with_task(&tg, &model, &api, dir.path()).await;
    let scheduler = app.scheduler.clone();
    assert_eq!(
        scheduler.tasks().len(),
        1,
        "only the active task, not the templates"
    );

    // First sight: the task is anchored, nothing fires.
    let first = scheduler.tick(utc("2026-11-22T07:00:00Z")).await.unwrap();
    assert!(first.started.is_empty() && first.missed.is_empty());

    // 08:00 London (GMT) passes: one run, delivered once.
    model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            serde_json::json!({"start_date": "2026-11-21", "end_date": "2026-11-21"}),
        )]),
        Reply::Text("Yesterday the agency earned $1,912.40.".into()),
    ]);
    let tick = scheduler.tick(utc("2026-11-22T08:00:20Z")).await.unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let again = scheduler.tick(utc("2026-11-22T08:00:40Z")).await.unwrap();
    assert!(again.started.is_empty(), "a fire runs once");
    let texts = tg.sent_texts(555);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("<b>Morning digest</b>") && texts[0].contains("$1,912.40"),
        "{texts:?}"
    );
    let request = &model.requests()[0];
    assert_eq!(
        request["messages"][1]["content"],
        "Summarise yesterday's earnings."
    );
    assert!(request["messages"][0]["content"]
        .as_str()
        .unwrap()
        .contains("unattended"));

    let runs = app.store.recent_runs("morning-digest", 10).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, RunStatus::Succeeded);
    assert_eq!(runs[0].scheduled_for, utc("2026-11-22T08:00:00Z"));
    assert!(runs[0].delivered_at.is_some());
    assert!(
        runs[0].credits > 0.0,
        "the run's model credits are recorded"
    );
    assert_eq!(runs[0].model.as_deref(), Some("test-model"));

    // Down for two days: the older fire and the one 2 h late (grace 1 h) are missed.
    let late = scheduler.tick(utc("2026-11-24T10:00:00Z")).await.unwrap();
    assert!(late.started.is_empty());
    let missed: Vec<_> = late.missed.iter().map(|(_, at)| *at).collect();
    assert_eq!(
        missed,
        [utc("2026-11-23T08:00:00Z"), utc("2026-11-24T08:00:00Z")]
    );
    assert_eq!(
        tg.sent_texts(555).len(),
        1,
        "missed fires are not delivered"
    );

    // A run left `running` by a crash is failed after the timeout.
    app.store
        .claim_run(
            "other-task",
            utc("2026-11-24T09:00:00Z"),
            RunStatus::Running,
            utc("2026-11-24T09:00:00Z"),
        )
        .await
        .unwrap();
    // Crashed runs are looked for once a minute.
    let recovered = scheduler.tick(utc("2026-11-24T10:01:00Z")).await.unwrap();
    assert_eq!(recovered.recovered, 1);
}

#[tokio::test]
async fn a_paused_task_skips_its_fires_and_does_not_make_them_up_when_resumed() {
    use fanops::tasks::set_paused;
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path());
    let app = app_from(text.clone()).await;
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    set_paused(
        app.store.as_ref(),
        "morning-digest",
        true,
        utc("2026-11-22T07:30:00Z"),
    )
    .await
    .unwrap();
    for at in ["2026-11-22T08:00:05Z", "2026-11-23T08:00:05Z"] {
        let tick = app.scheduler.tick(utc(at)).await.unwrap();
        assert!(tick.started.is_empty() && tick.missed.is_empty(), "{at}");
    }
    set_paused(
        app.store.as_ref(),
        "morning-digest",
        false,
        utc("2026-11-23T12:00:00Z"),
    )
    .await
    .unwrap();
    // A restarted replica (nothing remembered in memory) owes nothing for the pause.
    let restarted = app_from(text).await;
    let tick = restarted
        .scheduler
        .tick(utc("2026-11-23T12:00:01Z"))
        .await
        .unwrap();
    assert!(tick.started.is_empty() && tick.missed.is_empty());
    model.respond_with(|_| Reply::Text("digest".into()));
    let tick = restarted
        .scheduler
        .tick(utc("2026-11-24T08:00:05Z"))
        .await
        .unwrap();
    assert!(tick.missed.is_empty());
    let started: Vec<_> = tick.started.iter().map(|(_, at, _)| *at).collect();
    assert_eq!(started, [utc("2026-11-24T08:00:00Z")]);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    assert_eq!(tg.sent_texts(555).len(), 1);
    let runs = app.store.recent_runs("morning-digest", 10).await.unwrap();
    assert_eq!(
        runs.len(),
        1,
        "no run and no miss recorded for the paused days"
    );
}

/// With many tasks to look at (a start or reload), a tick reads their facts in bulk and
/// anchors new ones in one transaction; the outcome is the same as one task at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_are_looked_at_in_bulk_with_the_same_outcome() {
    use fanops::tasks::set_paused;
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path());
    for i in 1..=40 {
        std::fs::write(
            dir.path()
                .join("workflows")
                .join(format!("bulk-{i:02}.toml")),
            TASK.replace("Morning digest", &format!("Bulk {i}"))
                .replace("\"555\"", &format!("\"{}\"", 800 + i)),
        )
        .unwrap();
    }
    let app = app_from(text.clone()).await;
    assert_eq!(app.scheduler.tasks().len(), 41);
    let first = app
        .scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    assert!(first.started.is_empty());
    let anchors = app
        .store
        .states_with_prefix("scheduler.anchor.")
        .await
        .unwrap();
    assert_eq!(anchors.len(), 41, "every task anchored in the first tick");
    for paused in ["bulk-03", "bulk-17"] {
        set_paused(
            app.store.as_ref(),
            paused,
            true,
            utc("2026-11-22T07:10:00Z"),
        )
        .await
        .unwrap();
    }

    // Two replicas that know nothing yet (one restarted) race for the 08:00 fires.
    let restarted = app_from(text.clone()).await;
    model.respond_with(|_| Reply::Text("digest".into()));
    let now = utc("2026-11-22T08:00:05Z");
    let (ta, tb) = tokio::join!(app.scheduler.tick(now), restarted.scheduler.tick(now));
    let mut started = Vec::new();
    for tick in [ta.unwrap(), tb.unwrap()] {
        assert!(tick.missed.is_empty());
        for (task, _, handle) in tick.started {
            started.push(task);
            handle.await.unwrap();
        }
    }
    started.sort();
    assert_eq!(started.len(), 39, "41 tasks, 2 paused, each fire once");
    assert!(!started.contains(&"bulk-03".to_string()) && !started.contains(&"bulk-17".to_string()));
    for i in (1..=40).filter(|i| ![3, 17].contains(i)) {
        assert_eq!(tg.sent_texts(800 + i).len(), 1, "chat {}", 800 + i);
    }
    assert!(tg.sent_texts(803).is_empty());

    // A third replica starting later finds every fire already recorded.
    let late = app_from(text).await;
    let tick = late
        .scheduler
        .tick(utc("2026-11-22T08:00:40Z"))
        .await
        .unwrap();
    assert!(tick.started.is_empty() && tick.missed.is_empty());
}

/// Three schedulers (each its own pool, as separate processes would have) share one
/// database; five tasks fall due in the same minute; each fire is delivered once.
async fn three_schedulers_deliver_each_fire_once(db: &str) {
    let (tg, model, api, dir) = fakes().await;
    let text = config_with_db(&tg, &model, &api, dir.path(), db);
    for i in 1..=4 {
        let extra = TASK
            .replace("Morning digest", &format!("Digest {i}"))
            .replace("\"555\"", &format!("\"{}\"", 600 + i));
        std::fs::write(
            dir.path()
                .join("workflows")
                .join(format!("digest-{i}.toml")),
            extra,
        )
        .unwrap();
    }
    let a = app_from(text.clone()).await;
    let b = app_from(text.clone()).await;
    let c = app_from(text).await;
    assert_eq!(a.scheduler.tasks().len(), 5);
    a.scheduler.tick(utc("2026-11-22T07:00:00Z")).await.unwrap();
    model.respond_with(|_| Reply::Text("digest".into()));
    let now = utc("2026-11-22T08:00:05Z");
    let (ta, tb, tc) = tokio::join!(
        a.scheduler.tick(now),
        b.scheduler.tick(now),
        c.scheduler.tick(now)
    );
    let mut started = 0;
    for tick in [ta.unwrap(), tb.unwrap(), tc.unwrap()] {
        for (_, _, handle) in tick.started {
            started += 1;
            handle.await.unwrap();
        }
    }
    assert_eq!(
        started, 5,
        "each of the five fires has exactly one claimant"
    );
    for chat in [555, 601, 602, 603, 604] {
        assert_eq!(tg.sent_texts(chat).len(), 1, "chat {chat}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_schedulers_on_one_sqlite_file_run_each_fire_once() {
    let dir = tempfile::tempdir().unwrap();
    three_schedulers_deliver_each_fire_once(&format!(
        "sqlite://{}",
        dir.path().join("shared.db").display()
    ))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_schedulers_on_one_postgres_run_each_fire_once() {
    crate::store::in_fresh_postgres("the scheduler", |url| async move {
        three_schedulers_deliver_each_fire_once(&url).await
    })
    .await;
}

// The CLI runs as a child process that calls the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_are_listed_run_and_paused_from_the_cli_and_chat() {
    let (tg, model, api, dir) = fakes().await;
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, config_file(&tg, &model, &api, dir.path())).unwrap();
    model.respond_with(|_| Reply::Text("Run-now digest.".into()));
    let fanops = |args: &[&str]| {
        let out = crate::helpers::fanops(args, &path, dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = fanops(&["tasks", "run", "morning-digest"]);
    assert!(ok, "{out}");
    assert!(
        out.contains("Morning digest — succeeded") && out.contains("Run-now digest."),
        "{out}"
    );
    assert_eq!(
        tg.sent_texts(555).len(),
        1,
        "an active task's run-now is delivered"
    );

    let (ok, out) = fanops(&["tasks", "pause", "Morning digest"]);
    assert!(ok && out.contains("Paused `morning-digest`"), "{out}");
    let (_, out) = fanops(&["tasks", "list"]);
    assert!(out.contains("paused") && out.contains("succeeded"), "{out}");
    assert!(
        out.contains("template"),
        "the built-in templates are listed too: {out}"
    );
    let (ok, out) = fanops(&["tasks", "delete", "morning-digest"]);
    assert!(!ok && out.contains("morning-digest.toml"), "{out}");
    let (ok, out) = fanops(&["tasks", "run", "nope"]);
    assert!(!ok && out.contains("no task or workflow `nope`"), "{out}");

    // The same list in chat, and a paused task does not fire.
    let app = app_with_task(&tg, &model, &api, dir.path()).await;
    let collector = say(&app, "/tasks").await;
    let listing = collector.last().text;
    assert!(
        listing.contains("**Morning digest** · paused\ndaily at 08:00 (Europe/London)"),
        "{listing}"
    );
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    let tick = app
        .scheduler
        .tick(utc("2026-11-22T08:00:10Z"))
        .await
        .unwrap();
    assert!(tick.started.is_empty(), "paused");
}

#[tokio::test]
async fn an_unattended_run_cannot_write_and_says_so() {
    let (tg, model, api, dir) = fakes().await;
    let app = app_with_task(&tg, &model, &api, dir.path()).await;
    model.push_all([
        Reply::ToolCalls(vec![(
            "call_endpoint".into(),
            serde_json::json!({"endpoint": "mass-messaging/send-mass-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"text": "Sale!", "userLists": ["fans"]}}),
        )]),
        Reply::Text("I tried to send a promotion.".into()),
    ]);
    let task = fanops::tasks::find(&app.scheduler.workflows(), "morning-digest")
        .unwrap()
        .clone();
    let run = app.scheduler.run_now(&task, true).await.unwrap();
    let output = run.output.unwrap();
    assert!(
        output.contains("Not done: this run is unattended"),
        "{output}"
    );
    assert!(output.contains("Send Mass Message"), "{output}");
    assert_eq!(
        api.count("POST", "/api/acct_8f3k2j1h0g9f8e7d/mass-messaging"),
        0
    );
    assert!(
        tg.sent_texts(555)[0].contains("Not done"),
        "the delivered message shows the refusal"
    );
}

#[tokio::test]
async fn the_daily_digest_workflow_posts_its_text_and_chart_once() {
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path());
    // The shipped digest, made active by a [deliver] table.
    let shipped = include_str!("../../workflows/daily-earnings-digest.toml");
    let active = format!("{shipped}\n[deliver]\nchannel = \"telegram\"\nto = \"777\"\n");
    let workflows = dir.path().join("workflows");
    std::fs::write(workflows.join("daily-earnings-digest.toml"), active).unwrap();
    // Only the digest is active, so it alone consumes the scripted model replies.
    std::fs::remove_file(workflows.join("morning-digest.toml")).unwrap();
    let app = app_from(text).await;
    assert_eq!(app.scheduler.tasks().len(), 1);
    model.push_all([
        Reply::ToolCalls(vec![
            ("agency_earnings".into(), serde_json::json!({"start_date": "2026-11-21", "end_date": "2026-11-21"})),
            ("agency_earnings".into(), serde_json::json!({"start_date": "2026-11-20", "end_date": "2026-11-20"})),
        ]),
        Reply::ToolCalls(vec![(
            "make_chart".into(),
            serde_json::json!({"title": "Net earnings yesterday", "labels": ["Luna (main)"], "series": [{"name": "net", "values": [1912.4]}]}),
        )]),
        Reply::Text("Yesterday: $1,912.40 net (+7.8%).".into()),
    ]);
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    // 08:00 in UTC (the config's zone: Europe/London, GMT in November) for the digest.
    let tick = app
        .scheduler
        .tick(utc("2026-11-22T08:00:30Z"))
        .await
        .unwrap();
    let digest: Vec<_> = tick
        .started
        .into_iter()
        .filter(|(id, _, _)| id == "daily-earnings-digest")
        .collect();
    assert_eq!(digest.len(), 1);
    for (_, _, handle) in digest {
        handle.await.unwrap();
    }
    app.scheduler
        .tick(utc("2026-11-22T08:00:50Z"))
        .await
        .unwrap();
    let texts = tg.sent_texts(777);
    assert_eq!(texts.len(), 1, "the text, once: {texts:?}");
    assert!(
        texts[0].contains("Daily earnings digest") && texts[0].contains("$1,912.40"),
        "{texts:?}"
    );
    let photos = tg.calls_of("sendphoto");
    assert_eq!(photos.len(), 1, "and the chart, once");
    assert_eq!(photos[0].body["chat_id"].as_str().unwrap_or(""), "777");
    assert_eq!(photos[0].body["_file"]["filename"], "chart.png");
    assert!(model.requests()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("make_chart"));
}

#[tokio::test]
async fn allow_writes_lets_an_unattended_run_make_exactly_the_listed_changes() {
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path());
    let task = format!("{TASK}\n[permissions]\nallow_writes = [\"chat-messages/send-message\"]\n");
    std::fs::write(
        dir.path().join("workflows").join("morning-digest.toml"),
        task,
    )
    .unwrap();
    let app = app_from(text).await;
    model.push_all([
        Reply::ToolCalls(vec![
            (
                "call_endpoint".into(),
                serde_json::json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks for staying!"}}),
            ),
            (
                "call_endpoint".into(),
                serde_json::json!({"endpoint": "mass-messaging/send-mass-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"text": "Sale!"}}),
            ),
        ]),
        Reply::Text("Thanked Jake.".into()),
    ]);
    let task = fanops::tasks::find(&app.scheduler.workflows(), "morning-digest")
        .unwrap()
        .clone();
    let run = app.scheduler.run_now(&task, true).await.unwrap();
    let sent = api
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect::<Vec<_>>();
    assert_eq!(sent.len(), 1, "only the allowed write ran");
    assert_eq!(
        sent[0].path,
        "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages"
    );
    assert!(sent[0].headers.contains_key("idempotency-key"));
    let output = run.output.unwrap();
    assert!(
        output.contains("Send Mass Message") && output.contains("Not done"),
        "{output}"
    );
    let audit = app.store.recent_audit(10).await.unwrap();
    assert!(audit
        .iter()
        .any(|e| e.action == "action.allowed_by_workflow" && e.actor == "workflow:morning-digest"));
}

#[tokio::test]
async fn an_edited_file_is_picked_up_on_reload_and_keeps_its_history() {
    let (tg, model, api, dir) = fakes().await;
    let app = app_with_task(&tg, &model, &api, dir.path()).await;
    let scheduler = app.scheduler.clone();
    model.respond_with(|_| Reply::Text("digest".into()));
    scheduler.tick(utc("2026-11-22T07:00:00Z")).await.unwrap();
    for (_, _, h) in scheduler
        .tick(utc("2026-11-22T08:00:10Z"))
        .await
        .unwrap()
        .started
    {
        h.await.unwrap();
    }
    // The file now says 09:30; what SIGHUP does is re-read the files and reload.
    let path = dir.path().join("workflows").join("morning-digest.toml");
    std::fs::write(
        &path,
        TASK.replace("daily = \"08:00\"", "daily = \"09:30\""),
    )
    .unwrap();
    let (workflows, problems) = fanops::tasks::workflow::load_for_config(&app.config);
    assert!(problems.is_empty());
    scheduler.reload(workflows);
    let task = fanops::tasks::find(&scheduler.workflows(), "morning-digest").unwrap();
    assert_eq!(
        task.schedule.next_after(utc("2026-11-22T08:01:00Z")),
        Some(utc("2026-11-22T09:30:00Z"))
    );
    let tick = scheduler.tick(utc("2026-11-22T09:30:05Z")).await.unwrap();
    assert_eq!(tick.started.len(), 1, "the new time fires");
    for (_, _, h) in tick.started {
        h.await.unwrap();
    }
    let runs = app.store.recent_runs("morning-digest", 10).await.unwrap();
    assert_eq!(runs.len(), 2, "the history from before the edit is kept");
}

#[tokio::test]
async fn tasks_can_be_listed_and_previewed_from_chat() {
    let (tg, model, api, dir) = fakes().await;
    let app = app_with_task(&tg, &model, &api, dir.path()).await;
    model.push_all([
        Reply::ToolCalls(vec![("list_tasks".into(), serde_json::json!({}))]),
        Reply::ToolCalls(vec![(
            "run_task".into(),
            serde_json::json!({"name": "weekly-recap"}),
        )]),
        // The preview run's own answer, then the chat answer.
        Reply::Text("Recap: $1,912.40 last week.".into()),
        Reply::Text("Here is the preview.".into()),
    ]);
    let collector = say(&app, "show my tasks and preview the weekly recap").await;
    assert_eq!(collector.last().text, "Here is the preview.");
    let requests = model.requests();
    let last = requests.last().unwrap()["messages"]
        .as_array()
        .unwrap()
        .clone();
    let results: Vec<&str> = last
        .iter()
        .filter(|m| m["role"] == "tool")
        .filter_map(|m| m["content"].as_str())
        .collect();
    assert!(
        results[0].contains("\"id\":\"morning-digest\"")
            && results[0].contains("\"state\":\"active\""),
        "{results:?}"
    );
    assert!(
        results[1].contains("Recap: $1,912.40 last week."),
        "{results:?}"
    );
    assert!(
        tg.calls_of("sendmessage").is_empty(),
        "a preview posts nothing"
    );
    let runs = app.store.recent_runs("weekly-recap", 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        app.store.last_scheduled("weekly-recap").await.unwrap(),
        None,
        "a manual run does not move the schedule"
    );
}

/// The run's chart is refused with 429s until the outbox gives up: the scheduler sends
/// only the chart again later (the text is not posted twice). A refusal is not retried.
#[tokio::test]
async fn a_delivery_telegram_did_not_accept_is_sent_again_without_repeating_parts() {
    use crate::support::TgFailure;
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path())
        .replace("[scheduler]\n", "[scheduler]\ndelivery_retry = \"100ms\"\n");
    let app = app_from(text).await;
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    model.push_all([
        Reply::ToolCalls(vec![(
            "make_chart".into(),
            serde_json::json!({"title": "Net", "labels": ["Luna"], "series": [{"name": "net", "values": [1912.4]}]}),
        )]),
        Reply::Text("Yesterday: $1,912.40 net.".into()),
    ]);
    tg.fail_next("sendphoto", vec![TgFailure::RetryAfter(0); 8]);
    let tick = app
        .scheduler
        .tick(utc("2026-11-22T08:00:05Z"))
        .await
        .unwrap();
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    // The chart waits in the store to be sent again after `delivery_retry`.
    assert_eq!(tg.calls_of("sendphoto").len(), 8);
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    let sent = app.scheduler.retry_deliveries(chrono::Utc::now()).await;
    assert_eq!(sent.unwrap(), 1);
    assert_eq!(tg.sent_texts(555).len(), 1, "the text is posted once");
    assert_eq!(
        tg.calls_of("sendphoto").len(),
        9,
        "8 refused by the outbox's own retries, then one re-send by the scheduler"
    );
    let run = &app.store.recent_runs("morning-digest", 1).await.unwrap()[0];
    assert!(
        run.delivered_at.is_some() && run.delivery_error.is_none(),
        "{run:?}"
    );

    // Telegram refuses the post outright: recorded, not retried.
    model.push(Reply::Text("Second day.".into()));
    tg.fail_next("sendmessage", vec![TgFailure::Status(400)]);
    let tick = app
        .scheduler
        .tick(utc("2026-11-23T08:00:05Z"))
        .await
        .unwrap();
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let run = &app.store.recent_runs("morning-digest", 1).await.unwrap()[0];
    assert_eq!(run.scheduled_for, utc("2026-11-23T08:00:00Z"));
    assert!(run.delivered_at.is_none());
    let error = run.delivery_error.as_deref().unwrap_or_default();
    assert!(error.contains("Telegram refused it"), "{error}");
    assert!(!error.contains("sending again"), "{error}");
    assert_eq!(tg.sent_texts(555).len(), 1);
    assert_eq!(
        tg.calls_of("sendmessage").len(),
        2,
        "one refused attempt, no retry"
    );
}
