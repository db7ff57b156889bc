//! Microsoft Teams beyond the conversation: scheduled posts and notices through the stored
//! conversation references (a personal chat opened when needed), a refused app password
//! on `/readyz`, and `fanops check` on the section.

use crate::support::{FakeModel, FakeOnlyFans, FakeTeams, Reply, TeamsFailure, TEAMS_APP_ID};
use crate::teams::{
    config, running, ADMIN, CHANNEL, OPERATOR, OPERATOR_CHAT, STRANGER, STRANGER_CHAT, WAIT,
};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn an_admin_known_only_from_a_channel_gets_a_personal_chat_opened() {
    let r = running("").await;
    r.model.push(Reply::Text("Channel answer.".into()));
    r.send(&r.teams.channel(ADMIN, CHANNEL, None, "1900", "hello", true))
        .await;
    assert!(
        r.wait_text(&format!("{CHANNEL};messageid=1900"), "Channel answer.")
            .await
    );
    r.send(
        &r.teams
            .personal(STRANGER, STRANGER_CHAT, "s-1", "let me in"),
    )
    .await;
    let opened_chat = format!("a:personal-{}", ADMIN.member);
    assert!(
        r.wait_text(&opened_chat, "Access request").await,
        "{:?}",
        r.teams.calls()
    );
    let opened = r.teams.opened();
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0]["members"][0]["id"], ADMIN.member);
    assert_eq!(opened[0]["bot"]["id"], format!("28:{TEAMS_APP_ID}"));
    assert_eq!(opened[0]["tenantId"], "tenant-1");
    r.stop().await;
}

const TASK: &str = r#"name = "Morning digest"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "teams"
to = "19:general@thread.tacv2"
"#;

#[tokio::test]
async fn a_scheduled_post_reaches_a_channel_through_its_stored_reference_from_another_process() {
    let r = running("").await;
    // Someone wrote in the channel once: fanops keeps where it is.
    r.model.push(Reply::Text("Noted.".into()));
    r.send(&r.teams.channel(OPERATOR, CHANNEL, None, "2000", "hi", true))
        .await;
    assert!(
        r.wait_text(&format!("{CHANNEL};messageid=2000"), "Noted.")
            .await
    );

    // A second process (the scheduler's) on the same database posts the digest.
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("morning-digest.toml"), TASK).unwrap();
    let text = format!(
        "{}\n[scheduler]\nworkflows_dir = \"{}\"\n",
        r.text,
        workflows.display()
    );
    let (app, _) = crate::helpers::build_app("scheduler.toml", text, false).await;
    let scheduler = app.scheduler.clone();
    let utc = |s: &str| {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    scheduler.tick(utc("2026-11-22T07:00:00Z")).await.unwrap();
    r.teams.fail_next(vec![TeamsFailure::RateLimited(1)]);
    r.model
        .push(Reply::Text("Yesterday: **$1,912.40**.".into()));
    let tick = scheduler.tick(utc("2026-11-22T08:00:20Z")).await.unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let again = scheduler.tick(utc("2026-11-22T08:00:40Z")).await.unwrap();
    assert!(again.started.is_empty());
    let posted = r.teams.texts(CHANNEL);
    assert_eq!(posted.len(), 1, "posted once, after the 429: {posted:?}");
    assert!(posted[0].contains("Morning digest") && posted[0].contains("<b>$1,912.40</b>"));
    let runs = app.store.recent_runs("morning-digest", 10).await.unwrap();
    assert!(runs[0].delivered_at.is_some());

    // Nowhere to post: recorded, not lost.
    let nowhere = app
        .channels
        .iter()
        .find(|c| c.name() == "teams")
        .unwrap()
        .clone()
        .delivery();
    let failure = nowhere
        .deliver("19:unknown@thread.tacv2", "hi", &[], 0)
        .await
        .unwrap_err();
    assert!(
        failure.message.contains("write to the bot there"),
        "{failure:?}"
    );
    // To a person by their object id: their personal chat, opened since they only wrote
    // in the channel.
    nowhere
        .deliver(OPERATOR.aad, "A note for you.", &[], 0)
        .await
        .unwrap();
    let chat = format!("a:personal-{}", OPERATOR.member);
    assert_eq!(r.teams.texts(&chat), ["A note for you."]);
    r.stop().await;
}

#[tokio::test]
async fn a_refused_app_password_is_said_on_readyz() {
    let (teams, model, api) = (
        FakeTeams::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    // Another app id: the fake's token endpoint refuses it.
    let text = config(&teams, &model, &api, &db, "").replace(
        &format!("app_id = \"{TEAMS_APP_ID}\""),
        "app_id = \"99999999-0000-4000-8000-000000000000\"",
    );
    let (app, _) = crate::helpers::build_app("teams.toml", text, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    let said = teams
        .wait_for(|t| !t.token_requests().is_empty(), WAIT)
        .await;
    assert!(said);
    let until = tokio::time::Instant::now() + WAIT;
    let ready = loop {
        let ready: Value = reqwest::get(format!("{base}/readyz"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if ready["channels"]["teams"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("TEAMS_APP_PASSWORD"))
            || tokio::time::Instant::now() > until
        {
            break ready;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(ready["channels"]["teams"]["ok"], false, "{ready}");
    let detail = ready["channels"]["teams"]["detail"].as_str().unwrap();
    assert!(detail.contains("TEAMS_APP_PASSWORD"), "{detail}");
    assert!(!detail.contains(crate::support::TEAMS_APP_PASSWORD));
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[test]
fn fanops_check_locates_teams_problems() {
    let text = "[channels.teams]\napp_id = \"not-a-guid\"\npermitted_users = [\"29:1abc\"]\ntoken_url = \"nope\"\n";
    let source = fanops::config::ConfigSource::Text {
        origin: "fanops.toml".into(),
        text: text.into(),
    };
    let problems: Vec<String> = match fanops::config::Config::load_with_env(
        source,
        &|_| None,
        &fanops::channels::configs(),
    ) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    };
    let joined = problems.join("\n");
    assert!(
        joined.contains("fanops.toml:2:") && joined.contains("not a Microsoft App ID"),
        "{joined}"
    );
    assert!(
        joined.contains("fanops.toml:3:") && joined.contains("Microsoft Entra object id"),
        "{joined}"
    );
    assert!(joined.contains("fanops.toml:4:"), "{joined}");
}

#[tokio::test]
async fn an_admin_who_only_installed_the_bot_gets_access_requests_in_that_chat() {
    let r = running("").await;
    let mut install = r.teams.personal(ADMIN, "a:admin-installed", "i-1", "");
    install["type"] = json!("conversationUpdate");
    install["membersAdded"] = json!([{"id": format!("28:{TEAMS_APP_ID}")}]);
    install.as_object_mut().unwrap().remove("text");
    r.send(&install).await;
    r.send(
        &r.teams
            .personal(STRANGER, STRANGER_CHAT, "s-1", "let me in"),
    )
    .await;
    assert!(r.wait_text("a:admin-installed", "Access request").await);
    assert!(r.teams.opened().is_empty(), "no chat needed opening");
    assert_eq!(r.model.request_count(), 0, "an install is not a question");
    r.stop().await;
}

#[tokio::test]
async fn a_file_in_a_personal_chat_is_offered_and_uploaded_once_accepted() {
    let r = running("").await;
    r.send(
        &r.teams
            .personal(OPERATOR, OPERATOR_CHAT, "f-1", "/usage csv all"),
    )
    .await;
    let consent = "application/vnd.microsoft.teams.card.file.consent";
    let offered = r
        .teams
        .wait_for(
            |t| {
                t.sent(OPERATOR_CHAT)
                    .iter()
                    .any(|s| s.attachments[0]["contentType"] == consent)
            },
            WAIT,
        )
        .await;
    assert!(offered, "{:?}", r.teams.sent(OPERATOR_CHAT));
    let card = r
        .teams
        .sent(OPERATOR_CHAT)
        .into_iter()
        .find(|s| s.attachments[0]["contentType"] == consent)
        .unwrap();
    let content = &card.attachments[0]["content"];
    let size = content["sizeInBytes"].as_u64().unwrap();
    assert!(size > 0);
    let accept = content["acceptContext"].clone();
    let answer = r
        .teams
        .consent(OPERATOR, OPERATOR_CHAT, "f-2", &accept, true);
    r.send(&answer).await;
    // Delivered again: uploaded once.
    r.send(&answer).await;
    let info = "application/vnd.microsoft.teams.card.file.info";
    let shown = r
        .teams
        .wait_for(
            |t| {
                t.sent(OPERATOR_CHAT)
                    .iter()
                    .any(|s| s.attachments[0]["contentType"] == info)
            },
            WAIT,
        )
        .await;
    assert!(shown, "{:?}", r.teams.sent(OPERATOR_CHAT));
    let uploads = r.teams.uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    assert_eq!(uploads[0].bytes.len() as u64, size);
    assert_eq!(
        uploads[0].content_range,
        format!("bytes 0-{}/{size}", size - 1)
    );
    assert!(String::from_utf8_lossy(&uploads[0].bytes).contains(','));
    // A second acceptance of the same card finds nothing waiting.
    let again = r
        .teams
        .consent(OPERATOR, OPERATOR_CHAT, "f-3", &accept, true);
    r.send(&again).await;
    r.model.push(Reply::Text("after the file".into()));
    r.send(&r.teams.personal(OPERATOR, OPERATOR_CHAT, "f-4", "done?"))
        .await;
    assert!(r.wait_text(OPERATOR_CHAT, "after the file").await);
    assert_eq!(r.teams.uploads().len(), 1);
    r.stop().await;
}
