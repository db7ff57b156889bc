//! The team on Discord: a stranger's access request reaches the admin in a direct
//! message with a button for each role; the admin's press there lets them in. And several
//! bots (connections), each with its own people, token and deliveries.

use super::{discord_app_with, discord_config, running, serve, Running, ADMIN, OPERATOR, WAIT};
use crate::support::{DcMessage, FakeDiscord, FakeModel, FakeOnlyFans, Reply, GENERAL};
use serde_json::json;

/// A member of the server nobody named.
const STRANGER: u64 = 444;
/// Only the admin may use the bot; everyone else is a stranger.
const LOCKED: &str = "allow_everyone = false\npermitted_members = [\"333\"]";

/// The stranger @mentions the bot; returns the admin's direct channel and the notice
/// posted there.
async fn stranger_asks(r: &Running) -> (u64, DcMessage) {
    r.dc.mention(GENERAL, STRANGER, "How much did we earn this week?");
    assert!(
        r.wait_text(GENERAL, &STRANGER.to_string()).await,
        "the stranger is told their id where they wrote: {:?}",
        r.dc.texts_in(GENERAL)
    );
    assert!(
        r.dc.wait_for(
            |dc| dc
                .direct_channel(ADMIN)
                .is_some_and(|dm| !dc.messages_in(dm).is_empty()),
            WAIT
        )
        .await,
        "the admin gets a direct message: {:?}",
        r.dc.calls()
    );
    let dm = r.dc.direct_channel(ADMIN).unwrap();
    let notice = r.dc.messages_in(dm).remove(0);
    (dm, notice)
}

/// The payload of the notice's button whose label contains `label`.
fn button(notice: &DcMessage, label: &str) -> String {
    let row = &notice.components[0]["components"];
    row.as_array()
        .unwrap()
        .iter()
        .find(|b| b["label"].as_str().unwrap().contains(label))
        .unwrap_or_else(|| panic!("no {label} button: {row}"))["custom_id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_stranger_gets_their_id_and_the_admin_a_direct_message_with_four_buttons() {
    let r = running(LOCKED).await;
    let (dm, notice) = stranger_asks(&r).await;
    let refusal = &r.dc.texts_in(GENERAL)[0];
    assert!(refusal.contains("not allowed"), "{refusal}");
    assert_eq!(r.model.request_count(), 0, "no model call for a stranger");
    assert!(
        r.dc.calls_to("POST", "/threads").is_empty(),
        "no thread for a stranger"
    );

    let opened = r.dc.calls_to("POST", "/users/@me/channels");
    assert_eq!(opened.len(), 1, "one admin, one direct channel");
    assert_eq!(opened[0].body, json!({ "recipient_id": ADMIN.to_string() }));
    assert_eq!(r.dc.messages_in(dm).len(), 1, "one notice");
    let named = [
        "Member 444 (@member444)",
        "id `444`",
        "Discord",
        &GENERAL.to_string(),
    ];
    assert!(
        named.iter().all(|part| notice.content.contains(part)),
        "the notice names the stranger, the platform and where they wrote: {}",
        notice.content
    );
    let post = r.dc.calls_to("POST", &format!("/channels/{dm}/messages"));
    assert_eq!(post[0].body["allowed_mentions"], json!({"parse": []}));
    let row = &notice.components[0];
    assert_eq!(row["type"], 1, "an action row");
    let labels: Vec<&str> = row["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            assert_eq!(b["type"], 2, "a button: {b}");
            assert!(b["custom_id"].as_str().unwrap().starts_with("fo:a:"), "{b}");
            b["label"].as_str().unwrap()
        })
        .collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    for (label, word) in labels.iter().zip(["viewer", "operator", "admin", "Ignore"]) {
        assert!(label.contains(word), "{labels:?}");
    }
    let styles: Vec<&serde_json::Value> = row["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["style"])
        .collect();
    assert_eq!(styles, [&json!(2), &json!(1), &json!(2), &json!(4)]);
    r.stop().await;
}

#[tokio::test]
async fn the_admin_s_press_in_a_direct_message_lets_the_stranger_in_once() {
    let r = running(LOCKED).await;
    let (dm, notice) = stranger_asks(&r).await;
    let viewer = button(&notice, "viewer");

    r.dc.press_in_dm(dm, notice.id, ADMIN, &viewer);
    assert!(
        r.wait_text(GENERAL, "You're in").await,
        "the stranger is told where they wrote: {:?}",
        r.dc.texts_in(GENERAL)
    );
    assert!(
        r.wait_text(dm, "can now use discord as viewer").await,
        "{:?}",
        r.dc.texts_in(dm)
    );
    let edited =
        r.dc.messages_in(dm)
            .into_iter()
            .find(|m| m.id == notice.id)
            .unwrap();
    assert!(
        edited.content.contains("Allowed as viewer by Member 333"),
        "the notice says who decided: {}",
        edited.content
    );
    assert_eq!(edited.components, json!([]), "its buttons are gone");

    // In without a restart: the next mention reaches the model, in a thread.
    r.model.push(Reply::Text("Welcome aboard.".into()));
    let thread = r.dc.mention(GENERAL, STRANGER, "hello again");
    assert!(
        r.wait_text(thread, "Welcome aboard.").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    assert_eq!(r.model.request_count(), 1);

    // A second press changes nothing; nor does a press by someone who is not an admin.
    r.dc.press_in_dm(dm, notice.id, ADMIN, &button(&notice, "admin"));
    r.dc.press(GENERAL, notice.id, STRANGER, &button(&notice, "admin"));
    assert!(
        r.dc.wait_for(|_| r.told_pressers().len() >= 2, WAIT).await,
        "{:?}",
        r.told_pressers()
    );
    let told = r.told_pressers();
    assert!(
        told.iter().any(|t| t.contains("Already decided")),
        "{told:?}"
    );
    assert!(
        told.iter()
            .any(|t| t.contains("Only an admin") && t.contains("viewer")),
        "{told:?}"
    );
    r.dc.push_message(thread, STRANGER, "/whoami", &[]);
    assert!(
        r.wait_text(thread, "your role is viewer").await,
        "still a viewer: {:?}",
        r.dc.texts_in(thread)
    );
    assert_eq!(
        r.dc.calls_to("POST", "/callback").len(),
        3,
        "every press is acknowledged"
    );
    r.stop().await;
}

const TO_B: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "discord:b"
to = "GENERAL"
"#;

/// A member permitted on bot b only.
const B_MEMBER: u64 = 555;

#[tokio::test]
async fn two_bots_answer_their_own_people_and_deliver_with_their_own_token() {
    let (a, b, model, api) = (
        FakeDiscord::start().await,
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
        TO_B.replace("GENERAL", &GENERAL.to_string()),
    )
    .unwrap();
    let accounts = format!(
        "allow_everyone = false\npermitted_members = [\"{OPERATOR}\"]\n\n[channels.discord.accounts.b]\napi_url = \"{}\"\ntoken_env = \"DISCORD_B_TOKEN\"\nallow_everyone = false\npermitted_members = [\"{B_MEMBER}\"]\n",
        b.url()
    );
    let extra = format!("[scheduler]\nworkflows_dir = \"{}\"", workflows.display());
    let text = discord_config(&a, &model, &api, &db, &accounts, &extra);
    let tokens = [("DISCORD_B_TOKEN", "discord-b-token")];

    // The task names bot b: it posts through b alone.
    let (app, _) = discord_app_with(text.clone(), &tokens).await;
    let names: Vec<&str> = app.channels.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["discord", "discord:b"]);
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
    assert!(
        b.texts_in(GENERAL).iter().any(|t| t.contains("$1,912.40")),
        "{:?}",
        b.calls()
    );
    assert!(
        a.calls().is_empty(),
        "nothing through bot a: {:?}",
        a.calls()
    );
    drop(app);

    // Each bot serves its own people: the member of one is a stranger to the other.
    let (app, _) = discord_app_with(text, &tokens).await;
    let (shutdown, server) = serve(app).await;
    for dc in [&a, &b] {
        assert!(dc.wait_for(|dc| dc.connected(), WAIT).await);
    }
    model.push(Reply::Text("answer from a".into()));
    let on_a = a.mention(GENERAL, OPERATOR, "question for a");
    assert!(a.wait_text(on_a, "answer from a", WAIT).await);
    b.mention(GENERAL, OPERATOR, "question for b");
    assert!(
        b.wait_text(GENERAL, &format!("Your user id is {OPERATOR}"), WAIT)
            .await,
        "{:?}",
        b.texts_in(GENERAL)
    );
    model.push(Reply::Text("answer from b".into()));
    let on_b = b.mention(GENERAL, B_MEMBER, "question for b");
    assert!(b.wait_text(on_b, "answer from b", WAIT).await);
    a.mention(GENERAL, B_MEMBER, "question for a");
    assert!(
        a.wait_text(GENERAL, &format!("Your user id is {B_MEMBER}"), WAIT)
            .await,
        "{:?}",
        a.texts_in(GENERAL)
    );
    assert_eq!(model.request_count(), 3, "strangers make no model call");
    assert_eq!(a.identifies().len(), 1);
    assert_eq!(b.identifies().len(), 1);
    assert!(b.identifies()[0]["token"]
        .as_str()
        .unwrap()
        .ends_with("discord-b-token"));
    shutdown.cancel();
    server.await.unwrap().unwrap();

    for (dc, token) in [(&a, "discord-test-token"), (&b, "discord-b-token")] {
        let calls = dc.calls();
        assert!(!calls.is_empty());
        for call in calls {
            assert_eq!(call.authorization, format!("Bot {token}"), "{call:?}");
        }
    }
}

#[tokio::test]
async fn fanops_check_names_the_account_whose_keys_are_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fanops.toml");
    std::fs::write(
        &config,
        "[channels.discord]\npermitted_members = [\"80351110224678912\"]\n\n[channels.discord.accounts.b]\ntoken_env = \"DISCORD_B_TOKEN\"\neveryone_role = \"boss\"\npermitted_members = [\"me\"]\n",
    )
    .unwrap();
    let out = crate::helpers::fanops(&["check"], &config, dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let file = config.display().to_string();
    assert!(
        stdout.contains(&format!("{file}:6: everyone_role `boss`")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}:7: `me` is not a Discord member id")),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&format!("{file}:2:")),
        "the top-level bot is fine: {stdout}"
    );
}
