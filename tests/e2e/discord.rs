//! The Discord channel end to end: the real `fanops run` wiring (serenity's gateway client
//! included) against a fake Discord (REST and gateway), the fake model and the fake
//! OnlyFansAPI.

use crate::support::{
    config_text, DcFailure, FakeDiscord, FakeModel, FakeOnlyFans, Reply, BOT_ID, GENERAL,
};
use fanops::app::App;
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(15);
const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";
/// Members: a viewer (the server's everyone role), an operator, an admin.
const VIEWER: u64 = 111;
const OPERATOR: u64 = 222;
const ADMIN: u64 = 333;

struct Running {
    dc: FakeDiscord,
    model: FakeModel,
    api: FakeOnlyFans,
    clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// A config for the fakes with `[channels.discord]` (plus `discord` in that table) and
/// `extra` after it; no Telegram.
fn discord_config(
    dc: &FakeDiscord,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    discord: &str,
    extra: &str,
) -> String {
    let base = config_text(&model.url(), &api.url(), db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    format!(
        "{base}\n[channels.discord]\napi_url = \"{}\"\nroles = {{ \"{OPERATOR}\" = \"operator\", \"{ADMIN}\" = \"admin\" }}\n{discord}\n\n{extra}\n",
        dc.url()
    )
}

/// The real `App` with the secrets the fakes accept, Discord's token included.
async fn discord_app(text: String) -> (App, Clock) {
    crate::helpers::quiet_logs();
    let env = |name: &str| match name {
        "ONLYFANSAPI_API_KEY" => Some("test-ofapi-key".to_string()),
        "FAKE_MODEL_KEY" => Some("test-model-key".to_string()),
        "DISCORD_BOT_TOKEN" => Some("discord-test-token".to_string()),
        _ => None,
    };
    let source = ConfigSource::Text {
        origin: "discord.toml".into(),
        text,
    };
    let config = Config::load_with_env(source, &env).unwrap_or_else(|e| panic!("{e}"));
    let clock = Clock::adjustable();
    let app = App::build_with_clock(config, clock.clone()).await.unwrap();
    (app, clock)
}

async fn serve(
    app: App,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    (shutdown, server)
}

async fn running(discord: &str) -> Running {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let (app, clock) = discord_app(discord_config(&dc, &model, &api, &db, discord, "")).await;
    let (shutdown, server) = serve(app).await;
    assert!(
        dc.wait_for(|dc| dc.connected(), WAIT).await,
        "the gateway session starts"
    );
    Running {
        dc,
        model,
        api,
        clock,
        shutdown,
        server,
        _dir: dir,
    }
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }

    /// Waits for a bot message containing `needle` in `channel`.
    async fn wait_text(&self, channel: u64, needle: &str) -> bool {
        self.dc.wait_text(channel, needle, WAIT).await
    }

    /// Posts to the bot's messages (`POST /channels/*/messages`) in `channel`.
    fn posts_to(&self, channel: u64) -> Vec<Value> {
        self.dc
            .calls_to("POST", &format!("/channels/{channel}/messages"))
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    /// Ephemeral follow-ups to button presses, their texts.
    fn told_pressers(&self) -> Vec<String> {
        self.dc
            .calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/webhooks/"))
            .map(|c| {
                assert_eq!(c.body["flags"], 64, "only the presser sees it: {}", c.body);
                c.body["content"].as_str().unwrap_or("").to_string()
            })
            .collect()
    }
}

fn earnings_then(text: &str) -> [Reply; 2] {
    [
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text(text.into()),
    ]
}

#[tokio::test]
async fn a_mention_starts_a_thread_answered_there_and_followed_without_mentions() {
    let r = running("").await;
    let intents = r.dc.identifies()[0]["intents"].as_u64().unwrap();
    assert_eq!(
        intents & (1 | 1 << 9 | 1 << 15),
        1 | 1 << 9 | 1 << 15,
        "guilds, guild messages, message content"
    );
    assert!(r.dc.identifies()[0]["token"]
        .as_str()
        .unwrap()
        .ends_with("discord-test-token"));

    r.model
        .push_all(earnings_then("This week: **$1,912.40** net"));
    let question =
        r.dc.mention(GENERAL, VIEWER, "How much did we earn this week?");
    let thread = question; // a thread started from a message gets its id
    assert!(
        r.wait_text(thread, "1,912.40").await,
        "{:?}",
        r.dc.texts_in(thread)
    );

    let started = r.dc.calls_to(
        "POST",
        &format!("/channels/{GENERAL}/messages/{question}/threads"),
    );
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].body["name"], "How much did we earn this week?");
    assert!(
        r.dc.texts_in(GENERAL).is_empty(),
        "nothing is posted in the channel itself"
    );
    assert!(
        !r.dc
            .calls_to("POST", &format!("/channels/{thread}/typing"))
            .is_empty(),
        "typing shows"
    );
    let posts = r.posts_to(thread);
    assert_eq!(
        posts.len(),
        1,
        "one message: \"On it…\", edited into the answer"
    );
    assert_eq!(posts[0]["content"], "On it…");
    assert_eq!(r.dc.texts_in(thread), ["This week: **$1,912.40** net"]);
    for call in
        r.dc.calls()
            .iter()
            .filter(|c| c.path.ends_with("/messages") || c.method == "PATCH")
    {
        assert_eq!(
            call.body["allowed_mentions"],
            json!({"parse": []}),
            "{call:?}"
        );
    }
    assert_eq!(r.dc.calls()[0].authorization, "Bot discord-test-token");
    let asked = crate::support::last_user_text(&r.model.requests()[0]).to_string();
    assert_eq!(
        asked, "How much did we earn this week?",
        "the mention is not part of the question"
    );

    // Later messages in the thread need no mention, and the conversation goes on.
    r.model.push(Reply::Text("Mia earned nothing.".into()));
    r.dc.push_message(thread, OPERATOR, "And Mia?", &[]);
    assert!(
        r.wait_text(thread, "Mia earned nothing.").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let history = r.model.last_request().unwrap()["messages"].to_string();
    assert!(
        history.contains("How much did we earn this week?"),
        "one conversation per thread"
    );

    // Commands typed in a followed thread.
    r.dc.push_message(thread, VIEWER, "/whoami", &[]);
    assert!(
        r.wait_text(
            thread,
            &format!("Your user id is {VIEWER} and your role is viewer")
        )
        .await
    );
    r.dc.push_message(thread, VIEWER, "/reset", &[]);
    assert!(r.wait_text(thread, "forgotten this conversation").await);
    assert_eq!(r.model.request_count(), 3, "commands make no model call");
    r.stop().await;
}

#[tokio::test]
async fn chatter_bots_and_the_bot_itself_are_ignored() {
    let r = running("").await;
    r.dc.push_message(GENERAL, VIEWER, "just chatting, no mention", &[]);
    r.dc.push_message_from(
        GENERAL,
        555,
        true,
        &format!("<@{BOT_ID}> from another bot"),
        &[BOT_ID],
    );
    r.model.push(Reply::Text("first".into()));
    let question = r.dc.mention(GENERAL, OPERATOR, "hello?");
    assert!(r.wait_text(question, "first").await);
    // The bot's own messages in its thread, and a bot's, are not handled.
    r.dc.push_message_from(question, BOT_ID, true, "I said something", &[]);
    r.dc.push_message_from(question, 555, true, "another bot in the thread", &[]);
    r.model.push(Reply::Text("second".into()));
    r.dc.push_message(question, OPERATOR, "and now?", &[]);
    assert!(r.wait_text(question, "second").await);
    assert_eq!(
        r.model.request_count(),
        2,
        "only the two messages to the bot reach the model"
    );
    assert_eq!(r.dc.calls_to("POST", "/threads").len(), 1);
    r.stop().await;
}

#[tokio::test]
async fn a_mention_inside_an_existing_thread_continues_that_thread() {
    let r = running("").await;
    let thread = r.dc.next_id();
    r.dc.add_thread(thread, GENERAL);
    r.model.push(Reply::Text("answered in place".into()));
    r.dc.mention(thread, OPERATOR, "what about here?");
    assert!(r.wait_text(thread, "answered in place").await);
    assert!(
        r.dc.calls_to("POST", "/threads").is_empty(),
        "no thread of a thread"
    );
    r.model.push(Reply::Text("followed now".into()));
    r.dc.push_message(thread, OPERATOR, "and without a mention?", &[]);
    assert!(r.wait_text(thread, "followed now").await);
    r.stop().await;
}

fn send_call() -> Reply {
    Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks Jake!"}}),
    )])
}

/// Asks for a write in a new thread; returns (thread, prompt message id, action id).
async fn prompt(r: &Running) -> (u64, u64, String) {
    r.model.push(send_call());
    let thread = r.dc.mention(GENERAL, OPERATOR, "Thank Jake");
    assert!(
        r.wait_text(thread, "Should I go ahead?").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let prompt =
        r.dc.messages_in(thread)
            .into_iter()
            .find(|m| m.components.is_array() && m.components[0]["components"].is_array())
            .expect("a message with buttons");
    let buttons = &prompt.components[0]["components"];
    let confirm = buttons[0]["custom_id"].as_str().unwrap().to_string();
    assert!(confirm.starts_with("fo:c:"));
    assert_eq!(buttons[1]["custom_id"], format!("fo:x:{}", &confirm[5..]));
    assert_eq!(
        (buttons[0]["label"].as_str(), buttons[1]["label"].as_str()),
        (Some("Confirm"), Some("Cancel"))
    );
    (thread, prompt.id, confirm[5..].to_string())
}

#[tokio::test]
async fn buttons_confirm_once_and_refuse_everyone_else_in_a_private_answer() {
    let r = running("").await;
    let (thread, prompt_id, action) = prompt(&r).await;
    assert_eq!(r.api.count("POST", SEND), 0);

    r.dc.press(thread, prompt_id, VIEWER, &format!("fo:c:{action}"));
    r.dc.press(thread, prompt_id, OPERATOR, "fo:c:forged");
    r.dc.press(thread, prompt_id, OPERATOR, "something else");
    r.model.push(Reply::Text("Sent.".into()));
    r.dc.press(thread, prompt_id, OPERATOR, &format!("fo:c:{action}"));
    assert!(
        r.wait_text(thread, "Sent.").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    r.dc.press(thread, prompt_id, OPERATOR, &format!("fo:c:{action}"));
    assert!(
        r.dc.wait_for(|_| r.told_pressers().len() >= 4, WAIT).await,
        "{:?}",
        r.told_pressers()
    );

    let told = r.told_pressers();
    assert!(told.iter().any(|t| t.contains("viewer")), "{told:?}");
    assert!(
        told.iter().any(|t| t.contains("don't know that request")),
        "{told:?}"
    );
    assert!(
        told.iter().any(|t| t.contains("not one of mine")),
        "{told:?}"
    );
    assert!(
        told.iter().any(|t| t.contains("already confirmed")),
        "{told:?}"
    );
    let callbacks = r.dc.calls_to("POST", "/callback");
    assert_eq!(callbacks.len(), 5, "every press is acknowledged");
    assert!(
        callbacks.iter().all(|c| c.body == json!({"type": 6})),
        "as a deferred update"
    );
    assert_eq!(r.api.count("POST", SEND), 1, "the write ran exactly once");
    let prompt =
        r.dc.messages_in(thread)
            .into_iter()
            .find(|m| m.id == prompt_id)
            .unwrap();
    assert!(
        prompt.content.contains("Confirmed by Member 222"),
        "{}",
        prompt.content
    );
    assert_eq!(prompt.components, json!([]), "the buttons are gone");
    r.stop().await;
}

#[tokio::test]
async fn cancel_and_a_plain_no_in_the_thread_send_nothing() {
    let r = running("").await;
    let (thread, prompt_id, action) = prompt(&r).await;
    r.dc.press(thread, prompt_id, OPERATOR, &format!("fo:x:{action}"));
    assert!(
        r.wait_text(thread, "Cancelled by Member 222").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let (thread, _, _) = prompt(&r).await;
    r.dc.push_message(thread, OPERATOR, "no", &[]);
    assert!(r.wait_text(thread, "Nothing was changed").await);
    let (thread, _, _) = prompt(&r).await;
    r.model.push(Reply::Text("Sent it.".into()));
    r.dc.push_message(thread, OPERATOR, "yes", &[]);
    assert!(r.wait_text(thread, "Sent it.").await);
    assert_eq!(
        r.api.count("POST", SEND),
        1,
        "only the \"yes\" sent anything"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_press_after_expiry_changes_nothing_and_says_so() {
    let r = running("").await;
    let (thread, prompt_id, action) = prompt(&r).await;
    r.clock.advance(Duration::from_secs(11 * 60));
    r.dc.press(thread, prompt_id, OPERATOR, &format!("fo:c:{action}"));
    assert!(r.dc.wait_for(|_| !r.told_pressers().is_empty(), WAIT).await);
    assert!(
        r.told_pressers()[0].contains("expired"),
        "{:?}",
        r.told_pressers()
    );
    assert_eq!(r.api.count("POST", SEND), 0);
    r.stop().await;
}

#[tokio::test]
async fn a_member_not_permitted_gets_their_id_once_and_nothing_else() {
    let r = running(&format!(
        "allow_everyone = false\npermitted_members = [\"{OPERATOR}\"]"
    ))
    .await;
    r.dc.mention(GENERAL, 444, "How much did we earn?");
    assert!(
        r.wait_text(GENERAL, "444").await,
        "the member is told their id"
    );
    assert!(r.dc.texts_in(GENERAL)[0].contains("not allowed"));
    assert!(r.api.requests().is_empty(), "no API call for them");
    r.dc.mention(GENERAL, 444, "please?");
    r.model.push(Reply::Text("for the operator".into()));
    let asked = r.dc.mention(GENERAL, OPERATOR, "and me?");
    assert!(r.wait_text(asked, "for the operator").await);
    assert_eq!(
        r.dc.texts_in(GENERAL).len(),
        1,
        "refused at most once a minute"
    );
    assert_eq!(
        r.dc.calls_to("POST", "/threads").len(),
        1,
        "no thread for the refused member"
    );
    assert_eq!(r.model.request_count(), 1, "no model call for them");
    r.stop().await;
}

#[tokio::test]
async fn mentions_in_api_data_never_ping() {
    let r = running("").await;
    r.model.push(Reply::Text(
        "Top fan: @everyone (<@&4242>) wrote to <@777> and @here ```".into(),
    ));
    let thread = r.dc.mention(GENERAL, OPERATOR, "who is the top fan?");
    assert!(r.wait_text(thread, "Top fan").await);
    let post = r.posts_to(thread).pop().unwrap();
    assert_eq!(
        post["allowed_mentions"],
        json!({"parse": []}),
        "no user, role or mass ping"
    );
    let text = post["content"].as_str().unwrap();
    assert!(
        !text.contains("@everyone") && !text.contains("@here"),
        "{text}"
    );
    assert!(
        !text.contains("```"),
        "data cannot open a code block: {text}"
    );
    r.stop().await;
}

#[tokio::test]
async fn rate_limits_per_route_and_global_are_waited_out_without_doubles() {
    let r = running("").await;
    r.dc.fail_next(
        "POST messages",
        vec![
            DcFailure::RateLimited {
                seconds: 0.3,
                global: false,
            },
            DcFailure::RateLimited {
                seconds: 0.2,
                global: true,
            },
        ],
    );
    r.model.push(Reply::Text("after the wait".into()));
    let thread = r.dc.mention(GENERAL, OPERATOR, "are you limited?");
    assert!(r.wait_text(thread, "after the wait").await);
    assert_eq!(r.posts_to(thread).len(), 3, "two 429s, then the post");
    assert_eq!(r.dc.texts_in(thread), ["after the wait"], "posted once");
    r.stop().await;
}

#[tokio::test]
async fn files_go_as_attachments_in_the_thread() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "make_csv".into(),
            json!({"filename": "top fans", "columns": ["fan", "spent"], "rows": [["Jake <3", 1210.5], ["Marco", 655]]}),
        )]),
        Reply::Text("Here is the export.".into()),
    ]);
    let thread = r.dc.mention(GENERAL, OPERATOR, "export my top fans");
    assert!(
        r.dc.wait_for(
            |dc| dc.messages_in(thread).iter().any(|m| !m.files.is_empty()),
            WAIT
        )
        .await
    );
    let file =
        r.dc.messages_in(thread)
            .into_iter()
            .find(|m| !m.files.is_empty())
            .unwrap();
    assert_eq!(
        file.files,
        [(
            "top_fans.csv".to_string(),
            "fan,spent\nJake <3,1210.5\nMarco,655\n".len()
        )]
    );
    let upload = r.posts_to(thread).pop().unwrap();
    assert_eq!(upload["allowed_mentions"], json!({"parse": []}));
    assert!(r
        .dc
        .texts_in(thread)
        .iter()
        .any(|t| t.contains("Here is the export.")));
    r.stop().await;
}

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
async fn messages_of_one_thread_are_answered_in_order() {
    let r = running("").await;
    r.model.respond_with(|request| {
        Reply::Text(format!("echo: {}", crate::support::last_user_text(request)))
    });
    let thread = r.dc.mention(GENERAL, OPERATOR, "zero");
    assert!(r.wait_text(thread, "echo: zero").await);
    for word in ["one", "two", "three", "four"] {
        r.dc.push_message(thread, OPERATOR, word, &[]);
    }
    assert!(r.wait_text(thread, "echo: four").await);
    assert_eq!(
        r.dc.texts_in(thread),
        [
            "echo: zero",
            "echo: one",
            "echo: two",
            "echo: three",
            "echo: four"
        ]
    );
    r.stop().await;
}

#[tokio::test]
async fn a_task_created_in_a_thread_posts_to_the_thread_s_channel() {
    let r = running("").await;
    let create = json!({
        "name": "Daily earnings summary",
        "prompt": "Summarise yesterday's earnings.",
        "schedule": {"daily": "08:00"},
        "timezone": "UTC"
    });
    r.model.push(Reply::tool("create_task", create));
    let thread = r.dc.mention(
        GENERAL,
        ADMIN,
        "Post a daily earnings summary here at 8am UTC",
    );
    assert!(
        r.wait_text(thread, "posting to this chat").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let prompt =
        r.dc.messages_in(thread)
            .into_iter()
            .find(|m| m.components.is_array())
            .unwrap();
    let confirm = prompt.components[0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    r.model.push(Reply::text("Created."));
    r.dc.press(thread, prompt.id, ADMIN, &confirm);
    assert!(
        r.wait_text(thread, "Created.").await,
        "{:?}",
        r.dc.texts_in(thread)
    );
    let db = format!("sqlite://{}", r._dir.path().join("fanops.db").display());
    let store = fanops::store::connect(&db).await.unwrap();
    let tasks = store.stored_tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    let definition = &tasks[0].definition;
    assert!(definition.contains("channel = \"discord\""), "{definition}");
    assert!(
        definition.contains(&format!("to = \"{GENERAL}\"")),
        "the parent channel, not the thread: {definition}"
    );
    r.stop().await;
}
