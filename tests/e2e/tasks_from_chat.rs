//! Scheduled tasks managed from chat: created, changed, paused, resumed and deleted through
//! the tools, each confirmed by an admin, and picked up by every scheduler on the database.

use crate::helpers::{send_to, tool_messages, Collector};
use crate::scheduler::{app_from, fakes, utc};
use crate::support::{config_text, FakeModel, FakeOnlyFans, FakeTelegram, Reply};
use fanops::app::App;
use fanops::core::InboundBody;
use fanops::store::Decision;
use serde_json::{json, Value};

const ADMIN: &str = "3";
const OPERATOR: &str = "1";
const CHAT: &str = "100";

/// A config with Telegram users 1 (operator), 2 (viewer) and 3 (admin), delivering to
/// the fake Telegram, on the database `db`.
pub(crate) fn config(tg: &FakeTelegram, model: &FakeModel, api: &FakeOnlyFans, db: &str) -> String {
    config_text(&model.url(), &api.url(), db, "").replace(
        "[channels.telegram]\n",
        &format!("[channels.telegram]\napi_url = \"{}\"\n", tg.url()),
    )
}

async fn say(app: &App, user: &str, text: &str) -> Collector {
    send_to(app, user, CHAT, InboundBody::Text(text.into())).await
}

async fn press(app: &App, user: &str, action_id: &str, decision: Decision) -> Collector {
    let body = InboundBody::Decision {
        action_id: action_id.into(),
        decision,
    };
    send_to(app, user, CHAT, body).await
}

fn last_tool_result(model: &FakeModel) -> String {
    tool_messages(&model.last_request().unwrap())
        .pop()
        .expect("a tool result")
}

fn conversation() -> String {
    format!("telegram:{CHAT}:")
}

/// Asks for a change and returns the id of the action waiting for a press.
async fn ask_change(app: &App, model: &FakeModel, tool: &str, args: Value) -> (String, String) {
    model.push(Reply::tool(tool, args));
    let reply = say(app, ADMIN, &format!("please {tool}")).await.last();
    let prompt = reply
        .confirm
        .unwrap_or_else(|| panic!("{tool} waits for a press; got {:?}", reply.text));
    (prompt.action_id, prompt.summary)
}

#[tokio::test]
async fn a_daily_summary_is_created_from_chat_after_asking_the_zone_and_an_admin_press() {
    let (tg, model, api, dir) = fakes().await;
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let app = app_from(config(&tg, &model, &api, &db)).await;
    let store = app.store.clone();
    let create = json!({
        "name": "Daily earnings summary",
        "prompt": "Summarise yesterday's earnings for the whole agency, per creator, with a chart.",
        "schedule": {"daily": "08:00"}
    });

    // No zone given: the tool says to ask, nothing waits for confirmation.
    model.push_all([
        Reply::tool("create_task", create.clone()),
        Reply::text("Which time zone should 8am be in?"),
    ]);
    let asked = say(
        &app,
        ADMIN,
        "Send me a daily earnings summary for the whole agency every morning at 8am",
    )
    .await
    .last();
    assert_eq!(asked.text, "Which time zone should 8am be in?");
    assert!(asked.confirm.is_none());
    let result = last_tool_result(&model);
    assert!(result.contains("Ask the user which time zone"), "{result}");
    assert!(
        result.contains("Europe/London"),
        "the team zone is offered: {result}"
    );
    assert!(store
        .open_action(&conversation(), chrono::Utc::now())
        .await
        .unwrap()
        .is_none());

    // With the zone: a confirmation that says what, when and where.
    let mut with_zone = create.clone();
    with_zone["timezone"] = json!("America/New_York");
    model.push(Reply::tool("create_task", with_zone));
    let prompt = say(&app, ADMIN, "New York").await.last();
    let confirm = prompt.confirm.expect("creating a task is confirmed first");
    assert!(
        confirm.summary.starts_with("Create the scheduled task “Daily earnings summary”, daily at 08:00 (America/New_York), posting to this chat; first run "),
        "{}",
        confirm.summary
    );
    assert!(
        store.stored_tasks().await.unwrap().is_empty(),
        "nothing before the press"
    );

    // An operator may confirm API writes, but not task changes.
    let refused = press(&app, OPERATOR, &confirm.action_id, Decision::Confirm)
        .await
        .last();
    assert!(refused.text.contains("Only an admin"), "{}", refused.text);
    assert!(store.stored_tasks().await.unwrap().is_empty());

    model.clear_requests();
    model.push(Reply::text(
        "Done: it runs every day at 8am New York time. Want a preview now?",
    ));
    let done = press(&app, ADMIN, &confirm.action_id, Decision::Confirm)
        .await
        .last();
    assert!(done.text.contains("Want a preview now?"));
    let result = last_tool_result(&model);
    assert!(
        result.contains("\"created\":\"daily-earnings-summary\""),
        "{result}"
    );
    assert!(
        result.contains("offer to run it once now as a preview"),
        "{result}"
    );
    let stored = store.stored_tasks().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].created_by, "telegram:3");
    assert!(
        stored[0].definition.contains("daily = \"08:00\""),
        "{}",
        stored[0].definition
    );
    assert!(stored[0].definition.contains("to = \"100\""));
    let task = app
        .scheduler
        .tasks()
        .iter()
        .find(|t| t.id == "daily-earnings-summary")
        .cloned()
        .expect("scheduled at once");
    assert!(task.from_chat);
    let listed = say(&app, ADMIN, "/tasks").await.last().text;
    assert!(
        listed.contains(
            "**Daily earnings summary** · active\ndaily at 08:00 (America/New_York)\nnext run "
        ) && listed.contains("id daily-earnings-summary, made in chat by telegram:3"),
        "{listed}"
    );
    // My tasks: the admin made it; the operator made none; files' tasks are nobody's.
    let mine = say(&app, ADMIN, "/tasks mine").await.last().text;
    assert!(mine.contains("Daily earnings summary"), "{mine}");
    assert!(!mine.contains("from a workflow file"), "{mine}");
    let theirs = say(&app, OPERATOR, "/tasks mine").await.last().text;
    assert!(theirs.starts_with("You have made no tasks"), "{theirs}");
    let unknown = say(&app, OPERATOR, "/tasks `yours`").await.last().text;
    assert!(unknown.contains("/tasks mine"), "{unknown}");

    // The preview runs the task here and posts nothing to the chat.
    model.push_all([
        Reply::tool("run_task", json!({"name": "daily-earnings-summary"})),
        Reply::text("Yesterday the agency made $1,912.40."),
        Reply::text("Preview: yesterday the agency made $1,912.40."),
    ]);
    let preview = say(&app, ADMIN, "yes, show me a preview").await.last();
    assert_eq!(
        preview.text,
        "Preview: yesterday the agency made $1,912.40."
    );
    assert!(tg.sent_texts(100).is_empty(), "a preview is not delivered");
    let runs = store
        .recent_runs("daily-earnings-summary", 5)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1);

    // The schedule fires at 08:00 New York time and posts once.
    let fire = task.schedule.next_after(chrono::Utc::now()).unwrap();
    model.respond_with(|_| Reply::text("Morning digest."));
    let tick = app
        .scheduler
        .tick(fire + chrono::Duration::seconds(3))
        .await
        .unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let again = app
        .scheduler
        .tick(fire + chrono::Duration::seconds(4))
        .await
        .unwrap();
    assert!(again.started.is_empty());
    let sent = tg.sent_texts(100);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].contains("Daily earnings summary") && sent[0].contains("Morning digest."));

    // The zone is remembered as a hint for the next task, not applied silently.
    model.push_all([
        Reply::tool("create_task", json!({"name": "Weekly", "prompt": "Recap the week.", "schedule": {"weekly": {"days": ["mon"], "at": "09:00"}}})),
        Reply::text("Same zone?"),
    ]);
    say(&app, ADMIN, "and a weekly recap on Mondays at 9").await;
    let hint = last_tool_result(&model);
    assert!(
        hint.contains("Their last task used America/New_York"),
        "{hint}"
    );
}

#[tokio::test]
async fn tasks_are_changed_paused_resumed_and_deleted_from_chat_by_admins_only() {
    let (tg, model, api, dir) = fakes().await;
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("file-task.toml"),
        "name = \"File task\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\ndaily = \"07:00\"\n[deliver]\nchannel = \"telegram\"\nto = \"100\"\n",
    )
    .unwrap();
    let text = format!(
        "{}\n[scheduler]\nworkflows_dir = \"{}\"\n",
        config(&tg, &model, &api, &db),
        workflows.display()
    );
    let app = app_from(text).await;
    let store = app.store.clone();

    // An operator cannot ask for task changes: nothing waits.
    model.push_all([
        Reply::tool(
            "create_task",
            json!({"name": "X", "prompt": "p", "schedule": {"daily": "08:00"}, "timezone": "UTC"}),
        ),
        Reply::text("Only admins can do that."),
    ]);
    say(&app, OPERATOR, "create a task").await;
    let result = last_tool_result(&model);
    assert!(
        result.contains("only an admin can manage scheduled tasks; this user's role is operator"),
        "{result}"
    );
    assert!(store
        .open_action(&conversation(), chrono::Utc::now())
        .await
        .unwrap()
        .is_none());

    // Created from a template: its prompt and suggested schedule.
    let (id, summary) = ask_change(
        &app,
        &model,
        "create_task",
        json!({"name": "Top spenders", "template": "top-spenders-weekly", "timezone": "Europe/Berlin"}),
    )
    .await;
    assert!(summary.contains("(Europe/Berlin)"), "{summary}");
    model.push(Reply::text("Created."));
    press(&app, ADMIN, &id, Decision::Confirm).await;
    let created = store.stored_tasks().await.unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0].id, "top-spenders");
    let template = fanops::tasks::find(&app.scheduler.workflows(), "top-spenders-weekly").unwrap();
    assert!(created[0]
        .definition
        .contains(template.prompt.lines().next().unwrap()));

    // Changed: a new schedule; the summary shows before and after.
    let (id, summary) = ask_change(
        &app,
        &model,
        "update_task",
        json!({"name": "top-spenders", "schedule": {"weekly": {"days": ["fri"], "at": "17:30"}}}),
    )
    .await;
    assert!(
        summary.contains("→ weekly on fri at 17:30 (Europe/Berlin)"),
        "{summary}"
    );
    model.push(Reply::text("Changed."));
    press(&app, ADMIN, &id, Decision::Confirm).await;
    let task = fanops::tasks::find(&app.scheduler.workflows(), "top-spenders").unwrap();
    assert_eq!(
        fanops::tasks::describe(&task.schedule_spec, task.schedule.tz.name()),
        "weekly on fri at 17:30 (Europe/Berlin)"
    );

    // Paused: its fire passes without a run. Resumed: active again.
    let (id, summary) =
        ask_change(&app, &model, "pause_task", json!({"name": "Top spenders"})).await;
    assert!(
        summary.starts_with("Pause the scheduled task “Top spenders”"),
        "{summary}"
    );
    model.push(Reply::text("Paused."));
    press(&app, ADMIN, &id, Decision::Confirm).await;
    assert!(say(&app, ADMIN, "/tasks")
        .await
        .last()
        .text
        .contains("**Top spenders** · paused"));
    let fire = task.schedule.next_after(chrono::Utc::now()).unwrap();
    let tick = app
        .scheduler
        .tick(fire + chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert!(tick.started.iter().all(|(t, _, _)| t != "top-spenders"));

    assert!(store
        .recent_runs("top-spenders", 5)
        .await
        .unwrap()
        .is_empty());
    let (id, summary) =
        ask_change(&app, &model, "resume_task", json!({"name": "top-spenders"})).await;
    assert!(
        summary.contains("Runs skipped while paused are not made up"),
        "{summary}"
    );
    model.push(Reply::text("Resumed."));
    press(&app, ADMIN, &id, Decision::Confirm).await;
    assert!(say(&app, ADMIN, "/tasks")
        .await
        .last()
        .text
        .contains("**Top spenders** · active\nweekly on fri at 17:30 (Europe/Berlin)"));

    // A file-defined task is paused here but edited and deleted in its file.
    model.push_all([
        Reply::tool("delete_task", json!({"name": "file-task"})),
        Reply::text("That one lives in a file."),
    ]);
    say(&app, ADMIN, "delete the file task").await;
    let result = last_tool_result(&model);
    assert!(
        result.contains("is defined by") && result.contains("file-task.toml"),
        "{result}"
    );

    // Deleted; a Cancel first changes nothing.
    let (id, summary) =
        ask_change(&app, &model, "delete_task", json!({"name": "top-spenders"})).await;
    assert!(summary.contains("Its run history is kept"), "{summary}");
    press(&app, ADMIN, &id, Decision::Cancel).await;
    assert_eq!(store.stored_tasks().await.unwrap().len(), 1);
    let (id, _) = ask_change(&app, &model, "delete_task", json!({"name": "top-spenders"})).await;
    model.push(Reply::text("Deleted."));
    press(&app, ADMIN, &id, Decision::Confirm).await;
    assert!(store.stored_tasks().await.unwrap().is_empty());
    assert!(fanops::tasks::find(&app.scheduler.workflows(), "top-spenders").is_none());
    assert!(tg.sent_texts(100).is_empty());
}

// The CLI runs as a child process that calls the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_created_on_one_replica_is_run_once_and_deleted_from_the_cli() {
    let (tg, model, api, dir) = fakes().await;
    let db = format!("sqlite://{}", dir.path().join("shared.db").display());
    let text = config(&tg, &model, &api, &db);
    let a = app_from(text.clone()).await;
    let b = app_from(text.clone()).await;
    let start = utc("2026-11-22T12:00:00Z");
    b.scheduler.tick(start).await.unwrap();

    let (id, _) = ask_change(
        &a,
        &model,
        "create_task",
        json!({"name": "Hourly check", "prompt": "Any chargebacks?", "schedule": {"every": "1h"}, "timezone": "UTC"}),
    )
    .await;
    model.push(Reply::text("Created."));
    press(&a, ADMIN, &id, Decision::Confirm).await;

    // Replica b has not looked at the store again yet; a few seconds later it has.
    assert!(fanops::tasks::find(&b.scheduler.workflows(), "hourly-check").is_none());
    let now = chrono::Utc::now();
    b.scheduler.tick(now).await.unwrap();
    let task =
        fanops::tasks::find(&b.scheduler.workflows(), "hourly-check").expect("b sees the new task");
    assert!(task.from_chat);

    let fire = task.schedule.next_after(now).unwrap();
    model.respond_with(|_| Reply::text("No chargebacks."));
    let at = fire + chrono::Duration::seconds(1);
    let (ta, tb) = tokio::join!(a.scheduler.tick(at), b.scheduler.tick(at));
    let mut started = 0;
    for tick in [ta.unwrap(), tb.unwrap()] {
        for (_, _, handle) in tick.started {
            started += 1;
            handle.await.unwrap();
        }
    }
    assert_eq!(started, 1, "one replica ran the fire");
    assert_eq!(tg.sent_texts(100).len(), 1);

    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, &text).unwrap();
    let out = crate::helpers::fanops(&["tasks", "delete", "hourly-check"], &path, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Deleted `hourly-check` (Hourly check). Its run history is kept."),
        "{stdout}"
    );
    a.scheduler
        .tick(at + chrono::Duration::seconds(10))
        .await
        .unwrap();
    assert!(fanops::tasks::find(&a.scheduler.workflows(), "hourly-check").is_none());
    assert_eq!(
        a.store.recent_runs("hourly-check", 5).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn a_new_task_starts_active_even_where_a_deleted_one_was_paused() {
    use fanops::tasks::{self, stored};
    let store = fanops::store::connect("sqlite::memory:").await.unwrap();
    store.migrate().await.unwrap();
    let now = chrono::Utc::now();
    assert!(
        stored::insert(store.as_ref(), "digest", "name = \"A\"", "t:3", now)
            .await
            .unwrap()
    );
    tasks::set_paused(store.as_ref(), "digest", true, now)
        .await
        .unwrap();
    assert!(stored::delete(store.as_ref(), "digest").await.unwrap());
    assert!(
        stored::insert(store.as_ref(), "digest", "name = \"B\"", "t:3", now)
            .await
            .unwrap()
    );
    assert!(!tasks::is_paused(store.as_ref(), "digest").await.unwrap());
}
