//! The gateway session (resume, heartbeats, one holder among replicas) and what is
//! posted without one: scheduled digests, oversized files, `fanops check`.

use super::{discord_app, discord_config, running, serve, OPERATOR, WAIT};
use crate::support::{FakeDiscord, FakeModel, FakeOnlyFans, Reply, GENERAL};
use std::time::Duration;

const DIGEST: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "discord"
to = "GENERAL"
"#;

#[tokio::test]
async fn a_file_over_ten_megabytes_is_refused_with_a_note() {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let (app, _) = discord_app(discord_config(&dc, &model, &api, &db, "", "")).await;
    let discord = app
        .channels
        .iter()
        .find(|c| c.name() == "discord")
        .unwrap()
        .clone();
    let big = fanops::chat::Attachment {
        name: "huge.csv".into(),
        mime: "text/csv",
        kind: fanops::chat::AttachmentKind::Document,
        bytes: vec![b'x'; 11 * 1024 * 1024],
    };
    discord
        .delivery()
        .deliver(&GENERAL.to_string(), "The export:", &[big], 0)
        .await
        .unwrap();
    let texts = dc.texts_in(GENERAL);
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[1].contains("huge.csv") && texts[1].contains("10 MB"),
        "{texts:?}"
    );
    assert!(
        dc.messages_in(GENERAL).iter().all(|m| m.files.is_empty()),
        "nothing uploaded"
    );
}

#[tokio::test]
async fn a_scheduled_digest_is_posted_to_its_channel_once() {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        DIGEST.replace("GENERAL", &GENERAL.to_string()),
    )
    .unwrap();
    let extra = format!("[scheduler]\nworkflows_dir = \"{}\"", workflows.display());
    let (app, _) = discord_app(discord_config(&dc, &model, &api, &db, "", &extra)).await;
    let utc = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    app.scheduler
        .tick(utc("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    model.push(Reply::Text("Yesterday the agency earned $1,912.40.".into()));
    let tick = app
        .scheduler
        .tick(utc("2026-11-22T08:00:20Z"))
        .await
        .unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let again = app
        .scheduler
        .tick(utc("2026-11-22T08:00:40Z"))
        .await
        .unwrap();
    assert!(again.started.is_empty());
    let texts = dc.texts_in(GENERAL);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(
        texts[0].contains("Morning digest") && texts[0].contains("$1,912.40"),
        "{texts:?}"
    );
    assert!(
        dc.identifies().is_empty(),
        "delivery needs no gateway session"
    );
}

#[tokio::test]
async fn a_dropped_gateway_resumes_without_a_lost_or_doubled_answer() {
    let r = running("").await;
    r.model.push(Reply::Text("first answer".into()));
    let thread = r.dc.mention(GENERAL, OPERATOR, "first question");
    assert!(r.wait_text(thread, "first answer").await);

    // The connection drops; a message sent meanwhile waits for the resumed session, which
    // also gets the first message again (as a client that lost its place would).
    r.dc.replay_all_on_resume(true);
    r.dc.drop_connection();
    r.model.push(Reply::Text("second answer".into()));
    r.dc.push_message(thread, OPERATOR, "second question", &[]);
    assert!(
        r.wait_text(thread, "second answer").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let resumes = r.dc.resumes();
    assert_eq!(resumes.len(), 1, "serenity resumed");
    assert_eq!(resumes[0]["session_id"], "session-1");
    assert_eq!(r.dc.identifies().len(), 1, "no new session was needed");

    // Another message after the replay proves the replayed one was handled (or skipped).
    r.model.push(Reply::Text("third answer".into()));
    r.dc.push_message(thread, OPERATOR, "third question", &[]);
    assert!(r.wait_text(thread, "third answer").await);
    assert_eq!(
        r.dc.texts_in(thread),
        ["first answer", "second answer", "third answer"],
        "each answered once, in order"
    );
    assert_eq!(r.model.request_count(), 3);
    r.stop().await;
}

#[tokio::test]
async fn a_session_that_stops_acknowledging_heartbeats_is_replaced() {
    let r = running("").await;
    r.dc.go_quiet(true);
    assert!(
        r.dc.wait_for(
            |dc| dc.identifies().len() + dc.resumes().len() >= 2,
            Duration::from_secs(30)
        )
        .await,
        "a new connection after missed heartbeat acks"
    );
    r.dc.go_quiet(false);
    assert!(r.dc.wait_for(|dc| dc.connected(), WAIT).await);
    r.model.push(Reply::Text("still here".into()));
    let thread = r.dc.mention(GENERAL, OPERATOR, "still there?");
    assert!(r.wait_text(thread, "still here").await);
    r.stop().await;
}

#[tokio::test]
async fn two_replicas_hold_one_gateway_session_and_the_other_takes_over() {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = discord_config(&dc, &model, &api, &db, "", "");
    let (first, _) = discord_app(text.clone()).await;
    let (stop_first, first) = serve(first).await;
    assert!(dc.wait_for(|dc| dc.connected(), WAIT).await);
    let (second, _) = discord_app(text).await;
    let (stop_second, second) = serve(second).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(dc.identifies().len(), 1, "the second replica stands by");

    stop_first.cancel();
    first.await.unwrap().unwrap();
    assert!(
        dc.wait_for(
            |dc| dc.identifies().len() == 2 && dc.connected(),
            Duration::from_secs(30)
        )
        .await,
        "the standby takes the gateway over"
    );
    model.push(Reply::Text("from the other replica".into()));
    let thread = dc.mention(GENERAL, OPERATOR, "who answers?");
    assert!(dc.wait_text(thread, "from the other replica", WAIT).await);
    stop_second.cancel();
    second.await.unwrap().unwrap();
}

#[tokio::test]
async fn fanops_check_accepts_discord_and_deliveries_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        DIGEST.replace("GENERAL", "123456789012345678"),
    )
    .unwrap();
    let config = dir.path().join("fanops.toml");
    std::fs::write(
        &config,
        format!(
            "[channels.discord]\nallow_everyone = false\npermitted_members = [\"80351110224678912\"]\nroles = {{ \"80351110224678912\" = \"admin\" }}\n\n[scheduler]\nworkflows_dir = \"{}\"\n",
            workflows.display()
        ),
    )
    .unwrap();
    let out = crate::helpers::fanops(&["check"], &config, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("ignored"), "{stdout}");
    assert!(stdout.contains("1 active"), "{stdout}");

    std::fs::write(
        &config,
        "[channels.discord]\neveryone_role = \"boss\"\npermitted_members = [\"me\"]\n",
    )
    .unwrap();
    let out = crate::helpers::fanops(&["check"], &config, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let file = config.display().to_string();
    assert!(
        stdout.contains(&format!("{file}:2: everyone_role `boss`")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}:3: `me` is not a Discord member id")),
        "{stdout}"
    );
}

#[tokio::test]
async fn a_message_a_dead_process_claimed_is_answered_by_the_next_one() {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let store = fanops::store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    let id = dc.next_id();
    let mention = format!("<@{}> the lost question", crate::support::BOT_ID);
    let message = dc.message_json(id, GENERAL, OPERATOR, &mention, &[crate::support::BOT_ID]);
    let now = chrono::Utc::now();
    let claimed = store
        .claim_inbound(&fanops::store::InboundClaim {
            source: "discord.event".into(),
            id: format!("m{id}"),
            payload: serde_json::json!({"kind": "message", "event": message}).to_string(),
            owner: "a process that died".into(),
            claimed_at: now - chrono::Duration::minutes(1),
            lease_until: now - chrono::Duration::seconds(30),
            attempts: 1,
            placeholder: None,
        })
        .await
        .unwrap();
    assert!(claimed);
    model.push(Reply::Text("answered after all".into()));
    let (app, _) = discord_app(discord_config(&dc, &model, &api, &db, "", "")).await;
    let (shutdown, server) = serve(app).await;
    assert!(
        dc.wait_text(id, "answered after all", Duration::from_secs(30))
            .await,
        "the thread of the lost message gets its answer: {:?}",
        dc.calls()
    );
    assert_eq!(dc.calls_to("POST", "/threads").len(), 1);
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
