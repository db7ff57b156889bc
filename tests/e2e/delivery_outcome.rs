//! A run reads `succeeded` only when its post reached the chat: a post the platform
//! refused reads `not delivered: <reason>`, one waiting to be sent again
//! `delivering (retry N)`, in `fanops tasks list`, `/tasks` and on the operations page.

use crate::scheduler::{config_file, fakes, utc};
use crate::support::{Reply, TgFailure};
use fanops::app::App;

const REFUSED: &str = "not delivered: Telegram refused it: Bad Request: chat not found";

async fn fire(app: &App) {
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    let tick = app
        .scheduler
        .tick(utc("2026-11-22T08:00:05Z"))
        .await
        .unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
}

async fn tasks_in_chat(app: &App) -> String {
    let body = fanops::core::InboundBody::Text("/tasks".into());
    crate::helpers::send_to(app, "1", "1", body)
        .await
        .last()
        .text
}

// The CLI runs as a child process that calls the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_telegram_refuses_is_not_listed_as_succeeded() {
    let (tg, model, api, dir) = fakes().await;
    tg.forget_chat(555);
    model.respond_with(|_| Reply::text("Yesterday: $1,912.40 net."));
    let text = config_file(&tg, &model, &api, dir.path()) + "\n[server]\ndashboard = true\n";
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, &text).unwrap();
    let served = crate::helpers::serve_text("s.toml", text.clone()).await;
    let fanops = |args: &[&str]| {
        let out = crate::helpers::fanops(args, &path, dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let out = fanops(&["tasks", "run", "morning-digest"]);
    assert!(
        out.contains(&format!("Morning digest — {REFUSED}")),
        "{out}"
    );
    let out = fanops(&["tasks", "list"]);
    assert!(out.contains(REFUSED), "{out}");
    assert!(!out.contains("succeeded"), "{out}");

    let app = crate::helpers::build_app("s.toml", text, true).await.0;
    let listing = tasks_in_chat(&app).await;
    assert!(listing.contains(REFUSED), "{listing}");
    assert!(!listing.contains("succeeded"), "{listing}");

    // The page: a red outcome naming the refusal, in the tasks and in the alerts, and
    // no green "succeeded" anywhere beside it.
    let page = reqwest::Client::new()
        .get(format!("{}/", served.base))
        .bearer_auth(crate::helpers::DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let red = format!("<span class=\"tag bad\">{REFUSED}</span>");
    assert_eq!(page.matches(&red).count(), 2, "tasks and alerts: {page}");
    assert!(!page.contains(">succeeded<"), "{page}");
    served.shutdown.cancel();
    served.server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_post_waiting_to_be_sent_again_reads_delivering_until_it_arrives() {
    let (tg, model, api, dir) = fakes().await;
    let text = config_file(&tg, &model, &api, dir.path())
        .replace("[scheduler]\n", "[scheduler]\ndelivery_retry = \"100ms\"\n");
    let app = crate::helpers::build_app("s.toml", text, true).await.0;
    model.push(Reply::text("Yesterday: $1,912.40 net."));
    // Telegram keeps asking to wait until the outbox gives the post to the store.
    tg.fail_next("sendmessage", vec![TgFailure::RetryAfter(0); 8]);
    fire(&app).await;
    let run = &app.store.recent_runs("morning-digest", 1).await.unwrap()[0];
    assert!(
        run.outcome().starts_with("delivering (retry 1)"),
        "{}",
        run.outcome()
    );
    let listing = tasks_in_chat(&app).await;
    assert!(listing.contains("delivering (retry 1)"), "{listing}");
    assert!(!listing.contains("succeeded"), "{listing}");

    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
    assert_eq!(
        app.scheduler
            .retry_deliveries(chrono::Utc::now())
            .await
            .unwrap(),
        1
    );
    let run = &app.store.recent_runs("morning-digest", 1).await.unwrap()[0];
    assert_eq!(run.outcome(), "succeeded");
    assert_eq!(tg.sent_texts(555).len(), 1);
    assert!(tasks_in_chat(&app).await.contains("succeeded"));
}

#[tokio::test]
async fn tasks_in_chat_fit_a_phone() {
    let (tg, model, api, dir) = fakes().await;
    let app = crate::helpers::build_app("s.toml", config_file(&tg, &model, &api, dir.path()), true)
        .await
        .0;
    model.push(Reply::text("Yesterday: $1,912.40 net."));
    fire(&app).await;
    let listing = tasks_in_chat(&app).await;
    assert!(!listing.contains('|'), "no table: {listing}");
    let task = listing.split("\n\n").next().unwrap();
    assert!(task.starts_with("**Morning digest** · active"), "{listing}");
    for line in task.lines() {
        assert!(line.chars().count() <= 40, "{line:?} is wider than a phone");
    }
    assert!(
        task.contains("last run 22 Nov 08:00 UTC: succeeded"),
        "{task}"
    );
}
