//! Slack's team end to end: a stranger's DM becomes an access request in each admin's DM
//! (`conversations.open`, then the notice with a button for each role), an admin's press
//! lets them in at once, and two workspaces (two connections, each with its own tokens)
//! answer only their own people and post with their own bot token.

use crate::support::{
    message_event, press, slack_signature, FakeModel, FakeOnlyFans, FakeSlack, Reply, SlackFailure,
};
use fanops::app::App;
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);
const ADMIN: &str = "UADMIN";
/// The admin's DM with the bot, as the fake's `conversations.open` names it.
const ADMIN_DM: &str = "DADMIN";
const OPERATOR: &str = "U1OPERATOR";
const OPERATOR_DM: &str = "D1OPERATOR";
const STRANGER: &str = "U9STRANGER";
const STRANGER_DM: &str = "D9STRANGER";
/// The second workspace's member, and their DM with its bot.
const WS2_MEMBER: &str = "U2WSTWO";
const WS2_DM: &str = "D2WSTWO";

/// Each workspace's tokens, in the variables the config names.
const TOKENS: &[(&str, &str)] = &[
    ("SLACK_BOT_TOKEN", "xoxb-ws1"),
    ("SLACK_APP_TOKEN", "xapp-ws1"),
    ("SLACK_WS2_BOT_TOKEN", "xoxb-ws2"),
    ("SLACK_WS2_APP_TOKEN", "xapp-ws2"),
    ("SLACK_WS2_SIGNING_SECRET", WS2_SIGNING_SECRET),
];
const WS2_SIGNING_SECRET: &str = "ws2-signing-secret";

/// The app built from `text`, reading the fakes' keys and [`TOKENS`].
async fn build(text: String) -> (App, Clock) {
    crate::helpers::quiet_logs();
    let env = |name: &str| {
        let fixed = match name {
            "ONLYFANSAPI_API_KEY" => Some("test-ofapi-key"),
            "FAKE_MODEL_KEY" => Some("test-model-key"),
            _ => None,
        };
        let token = TOKENS.iter().find(|(var, _)| *var == name).map(|(_, v)| *v);
        fixed.or(token).map(str::to_string)
    };
    let source = ConfigSource::Text {
        origin: "team.toml".into(),
        text,
    };
    let config = Config::load_with_env(source, &env, &fanops::channels::configs())
        .unwrap_or_else(|e| panic!("team.toml: {e}"));
    let clock = Clock::adjustable();
    let app = App::build_with_clock(config, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("team.toml: the app builds: {e:#}"));
    (app, clock)
}

struct Running {
    slack: FakeSlack,
    model: FakeModel,
    base: String,
    clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _api: FakeOnlyFans,
    _dir: tempfile::TempDir,
}

impl Running {
    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }

    async fn ready(&self) -> Value {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Serves `slack_tables` (with the first workspace's fake at `slack`) and `extra`.
async fn serve(slack: FakeSlack, slack_tables: &str) -> Running {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(&model.url(), &api.url(), &db, slack_tables);
    let (app, clock) = build(text).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Running {
        slack,
        model,
        base,
        clock,
        shutdown,
        server,
        _api: api,
        _dir: dir,
    }
}

/// One workspace whose admin is [`ADMIN`] and whose operator is [`OPERATOR`].
async fn one_workspace() -> Running {
    let slack = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let table = format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{ADMIN}\", \"{OPERATOR}\"]\nroles = {{ \"{ADMIN}\" = \"admin\" }}\n",
        slack.api_url()
    );
    serve(slack, &table).await
}

fn ts(n: u32) -> String {
    format!("1700000000.{n:06}")
}

/// The labels and values of the buttons on a posted message.
fn buttons(blocks: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for block in blocks.as_array().into_iter().flatten() {
        for element in block["elements"].as_array().into_iter().flatten() {
            if element["type"] == "button" {
                let label = element["text"]["text"].as_str().unwrap_or_default();
                let value = element["value"].as_str().unwrap_or_default();
                found.push((label.to_string(), value.to_string()));
            }
        }
    }
    found
}

fn ephemeral_texts(slack: &FakeSlack) -> Vec<String> {
    slack
        .ephemerals()
        .iter()
        .map(|e| {
            let blocks = e["blocks"].as_array().cloned().unwrap_or_default();
            let text = blocks.iter().filter_map(|b| b["text"]["text"].as_str());
            text.collect::<Vec<_>>().join("\n")
        })
        .collect()
}

/// The stranger writes; waits until they have their id and the admin has the notice.
/// The notice's `ts` and its buttons.
async fn stranger_asks(r: &Running) -> (String, Vec<(String, String)>) {
    r.slack.push_event(message_event(
        STRANGER,
        STRANGER_DM,
        "How much did we earn?",
        &ts(1),
        None,
    ));
    assert!(
        r.slack.wait_text(STRANGER_DM, STRANGER, WAIT).await,
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    assert!(
        r.slack.wait_text(ADMIN_DM, STRANGER, WAIT).await,
        "{:?}",
        r.slack.calls()
    );
    let notice = r.slack.messages(ADMIN_DM).remove(0);
    (notice.ts, buttons(&notice.blocks))
}

#[tokio::test]
async fn a_strangers_dm_asks_the_admin_in_their_dm_with_a_button_for_each_role() {
    let r = one_workspace().await;
    let (_, found) = stranger_asks(&r).await;
    assert!(
        r.slack.texts(STRANGER_DM)[0].contains("not allowed"),
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    let opened = r.slack.calls_of("conversations.open");
    assert_eq!(opened.len(), 1, "one admin, one DM opened: {opened:?}");
    assert_eq!(opened[0].body["users"], json!([ADMIN]));
    assert_eq!(opened[0].token, "xoxb-ws1", "with the bot token");
    let notices = r.slack.messages(ADMIN_DM);
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(
        notices[0].text.contains("Access request"),
        "{}",
        notices[0].text
    );
    let labels: Vec<&str> = found.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    for (button, word) in labels.iter().zip(["viewer", "operator", "admin", "Ignore"]) {
        assert!(button.contains(word), "{button} names {word}");
    }
    assert_eq!(r.model.request_count(), 0, "a stranger costs no model call");
    // Nobody else was asked: the operator is no admin.
    assert!(r.slack.messages(OPERATOR_DM).is_empty());
    r.stop().await;
}

#[tokio::test]
async fn an_admins_press_lets_the_stranger_in_at_once_and_other_presses_change_nothing() {
    let r = one_workspace().await;
    let (notice_ts, found) = stranger_asks(&r).await;
    let value = |word: &str| {
        let (_, value) = found
            .iter()
            .find(|(label, _)| label.contains(word))
            .unwrap();
        value.clone()
    };

    // An operator's press (a forged one: the notice is in the admin's DM) changes nothing.
    r.slack.push_interaction(press(
        OPERATOR,
        ADMIN_DM,
        &notice_ts,
        None,
        &value("viewer"),
        "trigger-operator",
    ));
    assert!(
        r.slack
            .wait_for(
                |s| ephemeral_texts(s)
                    .iter()
                    .any(|t| t.contains("Only an admin")),
                WAIT
            )
            .await,
        "{:?}",
        ephemeral_texts(&r.slack)
    );
    assert_eq!(r.slack.ephemerals()[0]["user"], OPERATOR);
    assert_eq!(r.slack.messages(ADMIN_DM)[0].edits, 0, "the notice stands");
    // The stranger is still out: a minute on, they are told their id again.
    r.clock.advance(Duration::from_secs(61));
    r.slack
        .push_event(message_event(STRANGER, STRANGER_DM, "now?", &ts(2), None));
    assert!(
        r.slack
            .wait_for(|s| s.texts(STRANGER_DM).len() == 2, WAIT)
            .await,
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    assert!(r.slack.texts(STRANGER_DM)[1].contains("not allowed"));
    assert_eq!(r.model.request_count(), 0);

    // The admin's press lets them in, tells them, and marks the notice.
    r.slack.push_interaction(press(
        ADMIN,
        ADMIN_DM,
        &notice_ts,
        None,
        &value("viewer"),
        "trigger-admin",
    ));
    assert!(
        r.slack.wait_text(STRANGER_DM, "You're in", WAIT).await,
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    assert!(
        r.slack
            .wait_text(ADMIN_DM, "Allowed as viewer by <@UADMIN>", WAIT)
            .await,
        "{:?}",
        r.slack.texts(ADMIN_DM)
    );
    let notice = r.slack.messages(ADMIN_DM).remove(0);
    assert_eq!(notice.ts, notice_ts, "the notice itself is edited");
    assert!(buttons(&notice.blocks).is_empty(), "its buttons are gone");

    // A second press says it is decided already and changes nothing.
    r.slack.push_interaction(press(
        ADMIN,
        ADMIN_DM,
        &notice_ts,
        None,
        &value("admin"),
        "trigger-again",
    ));
    assert!(
        r.slack
            .wait_for(
                |s| ephemeral_texts(s)
                    .iter()
                    .any(|t| t.contains("Already decided")),
                WAIT
            )
            .await,
        "{:?}",
        ephemeral_texts(&r.slack)
    );

    // With no restart, their next message reaches the model, as a viewer.
    r.model.push(Reply::Text("Welcome aboard".into()));
    r.slack.push_event(message_event(
        STRANGER,
        STRANGER_DM,
        "/whoami",
        &ts(3),
        None,
    ));
    assert!(
        r.slack.wait_text(STRANGER_DM, "role is viewer", WAIT).await,
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    r.slack.push_event(message_event(
        STRANGER,
        STRANGER_DM,
        "How much did we earn?",
        &ts(4),
        None,
    ));
    assert!(
        r.slack.wait_text(STRANGER_DM, "Welcome aboard", WAIT).await,
        "{:?}",
        r.slack.texts(STRANGER_DM)
    );
    assert_eq!(r.model.request_count(), 1);
    r.stop().await;
}

/// Two workspaces: the first at `ws1` (tokens `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`), the
/// second, `slack:ws2`, at `ws2` with its own variables and people.
fn two_workspaces(ws1: &FakeSlack, ws2: &FakeSlack) -> String {
    format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{ADMIN}\", \"{OPERATOR}\"]\nroles = {{ \"{ADMIN}\" = \"admin\" }}\n\n\
         [channels.slack.accounts.ws2]\napi_url = \"{}\"\ntoken_env = \"SLACK_WS2_BOT_TOKEN\"\napp_token_env = \"SLACK_WS2_APP_TOKEN\"\npermitted_users = [\"{WS2_MEMBER}\"]\nroles = {{ \"{WS2_MEMBER}\" = \"admin\" }}\n",
        ws1.api_url(),
        ws2.api_url()
    )
}

/// Every call `slack` received carried one of `tokens`.
fn only_tokens(slack: &FakeSlack, tokens: [&str; 2]) {
    let calls = slack.calls();
    assert!(!calls.is_empty());
    for call in calls {
        assert!(
            tokens.contains(&call.token.as_str()),
            "{} with {}",
            call.method,
            call.token
        );
    }
}

#[tokio::test]
async fn two_workspaces_answer_only_their_own_people_and_post_with_their_own_bot_token() {
    let ws1 = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let ws2 = FakeSlack::workspace("xoxb-ws2", "xapp-ws2").await;
    let tables = two_workspaces(&ws1, &ws2);
    let r = serve(ws1.clone(), &tables).await;

    r.model.push(Reply::Text("answer in the first".into()));
    ws1.push_event(message_event(OPERATOR, OPERATOR_DM, "hi", &ts(10), None));
    assert!(
        ws1.wait_text(OPERATOR_DM, "answer in the first", WAIT)
            .await
    );
    r.model.push(Reply::Text("answer in the second".into()));
    ws2.push_event(message_event(WS2_MEMBER, WS2_DM, "hi", &ts(11), None));
    assert!(
        ws2.wait_text(WS2_DM, "answer in the second", WAIT).await,
        "{:?}",
        ws2.texts(WS2_DM)
    );
    assert_eq!(r.model.request_count(), 2);

    // The first workspace's operator is a stranger to the second: refused there, and
    // the second's admin is asked there.
    ws2.push_event(message_event(OPERATOR, OPERATOR_DM, "hi", &ts(12), None));
    assert!(
        ws2.wait_text(OPERATOR_DM, "not allowed", WAIT).await,
        "{:?}",
        ws2.texts(OPERATOR_DM)
    );
    assert!(ws2.texts(OPERATOR_DM)[0].contains(OPERATOR));
    assert!(ws2.wait_text("D2WSTWO", "Access request", WAIT).await);
    assert_eq!(r.model.request_count(), 2, "no model call for a stranger");
    assert!(ws1.calls_of("conversations.open").is_empty());
    assert_eq!(ws1.texts(OPERATOR_DM).len(), 1, "nothing more in the first");

    let ready = r.ready().await;
    assert_eq!(ready["channels"]["slack"]["ok"], true, "{ready}");
    assert_eq!(ready["channels"]["slack:ws2"]["ok"], true, "{ready}");
    let (model, api) = (r.model.clone(), FakeOnlyFans::start().await);
    r.stop().await;

    // A task delivered to `slack:ws2` goes through the second app's bot only.
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        "name = \"Morning digest\"\ncategory = \"Reports\"\nprompt = \"Summarise yesterday.\"\n\n[schedule]\ndaily = \"08:00\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"slack:ws2\"\nto = \"C2DIGEST\"\n",
    )
    .unwrap();
    let tables = format!(
        "{tables}\n[scheduler]\nworkflows_dir = \"{}\"\n",
        workflows.display()
    );
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(&model.url(), &api.url(), &db, &tables);
    let (app, _) = build(text).await;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    app.scheduler
        .tick(at("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    model.push(Reply::Text("Yesterday: **$1,912.40** net.".into()));
    let tick = app
        .scheduler
        .tick(at("2026-11-22T08:00:20Z"))
        .await
        .unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let posted = ws2.messages("C2DIGEST");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].text.contains("*$1,912.40*"), "{}", posted[0].text);
    assert!(ws1.messages("C2DIGEST").is_empty());
    let digest_posts: Vec<_> = ws2
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == "C2DIGEST")
        .collect();
    assert_eq!(digest_posts.len(), 1);
    assert_eq!(digest_posts[0].token, "xoxb-ws2");
    only_tokens(&ws1, ["xoxb-ws1", "xapp-ws1"]);
    only_tokens(&ws2, ["xoxb-ws2", "xapp-ws2"]);
}

#[tokio::test]
async fn the_fake_opens_a_dm_like_slack_and_refuses_another_workspaces_token() {
    let slack = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let call = |token: &'static str, body: Value| {
        let url = format!("{}/conversations.open", slack.api_url());
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let opened = call("xoxb-ws1", json!({"users": "UADMIN"})).await;
    assert_eq!(opened, json!({"ok": true, "channel": {"id": "DADMIN"}}));
    let again = call("xoxb-ws1", json!({"users": ["UADMIN"]})).await;
    assert_eq!(again["channel"]["id"], "DADMIN", "the same DM each time");
    let nobody = call("xoxb-ws1", json!({"users": "bob"})).await;
    assert_eq!(nobody, json!({"ok": false, "error": "user_not_found"}));
    let foreign = call("xoxb-ws2", json!({"users": "UADMIN"})).await;
    assert_eq!(foreign, json!({"ok": false, "error": "invalid_auth"}));
}

/// Posts `body` as JSON to fanops's `path`, signed now with `secret`.
async fn post_signed(r: &Running, path: &str, body: &str, secret: &str) -> reqwest::StatusCode {
    let at = r.clock.now().timestamp();
    reqwest::Client::new()
        .post(format!("{}{path}", r.base))
        .header("X-Slack-Request-Timestamp", at.to_string())
        .header("X-Slack-Signature", slack_signature(secret, at, body))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_accounts_events_api_has_its_own_routes_and_signing_secret() {
    let ws1 = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let ws2 = FakeSlack::workspace("xoxb-ws2", "xapp-ws2").await;
    let tables = format!(
        "{}mode = \"events\"\nsigning_secret_env = \"SLACK_WS2_SIGNING_SECRET\"\n",
        two_workspaces(&ws1, &ws2)
    );
    let r = serve(ws1.clone(), &tables).await;
    let listening = |ready: &Value| {
        let entry = &ready["channels"]["slack:ws2"];
        entry["ok"] == true
            && entry["detail"]
                .as_str()
                .unwrap_or("")
                .contains("events API")
    };
    let mut ready = r.ready().await;
    for _ in 0..500 {
        if listening(&ready) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = r.ready().await;
    }
    assert!(listening(&ready), "{ready}");

    let event = message_event(WS2_MEMBER, WS2_DM, "hi", &ts(20), None).to_string();
    let wrong = post_signed(
        &r,
        "/slack/ws2/events",
        &event,
        crate::helpers::SLACK_SIGNING_SECRET,
    );
    assert_eq!(
        wrong.await,
        reqwest::StatusCode::UNAUTHORIZED,
        "another app's secret"
    );
    r.model.push(Reply::Text("answer over HTTP".into()));
    let right = post_signed(&r, "/slack/ws2/events", &event, WS2_SIGNING_SECRET).await;
    assert_eq!(right, reqwest::StatusCode::OK);
    assert!(
        ws2.wait_text(WS2_DM, "answer over HTTP", WAIT).await,
        "{:?}",
        ws2.texts(WS2_DM)
    );
    // The top-level app keeps its socket; the account has no socket of its own.
    assert_eq!(ws2.sockets_opened(), 0);
    assert!(ws1.sockets_opened() >= 1);
    assert_eq!(r.model.request_count(), 1);
    r.stop().await;
}

#[test]
fn fanops_check_reads_each_slack_account_at_its_own_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanops.toml");
    let check = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let out = crate::helpers::fanops(&["check"], &path, dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let good = "[channels.slack]\npermitted_users = [\"U012ABCDEF\"]\n\n\
                [channels.slack.accounts.ws2]\ntoken_env = \"SLACK_WS2_BOT_TOKEN\"\napp_token_env = \"SLACK_WS2_APP_TOKEN\"\npermitted_users = [\"U0WS2\"]\n";
    let (code, stdout) = check(good);
    assert_eq!(code, Some(0), "{stdout}");

    let bad = "[channels.slack]\npermitted_users = [\"U012ABCDEF\"]\n\n\
               [channels.slack.accounts.ws2]\npermitted_users = [\"bob\"]\n\n\
               [channels.slack.accounts.ws3]\ntoken_env = \"SLACK_WS3_BOT_TOKEN\"\napp_token_env = \"SLACK_APP_TOKEN\"\nmode = \"rtm\"\n";
    let (code, stdout) = check(bad);
    assert_eq!(code, Some(1), "{stdout}");
    let file = path.display().to_string();
    for expected in [
        format!("{file}:4: [channels.slack.accounts.ws2] needs token_env"),
        format!("{file}:5: `bob` is not a Slack member id"),
        format!(
            "{file}:9: [channels.slack.accounts.ws3] reads `SLACK_APP_TOKEN` like [channels.slack]"
        ),
        format!("{file}:10: mode `rtm` must be \"socket\" or \"events\""),
    ] {
        assert!(stdout.contains(&expected), "{expected:?} in\n{stdout}");
    }
}

#[tokio::test]
async fn notices_reach_a_members_dm_or_a_channel_and_slacks_refusals_are_failures() {
    use fanops::chat::{Outbound, Recipient};
    let (slack, model, api) = (
        FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let tables = format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{ADMIN}\"]\n",
        slack.api_url()
    );
    let (app, _) = build(crate::support::config_text(
        &model.url(),
        &api.url(),
        &db,
        &tables,
    ))
    .await;
    let channel = app.channels.iter().find(|c| c.name() == "slack").unwrap();
    let delivery = channel.clone().delivery();
    let notice = Outbound {
        text: "**Access request** on Slack".into(),
        access: Some("r1".into()),
        ..Outbound::default()
    };

    // A person: their DM is opened (a 429 waited out), then the notice with its buttons.
    slack.fail_next("conversations.open", vec![SlackFailure::RateLimited(1)]);
    delivery
        .notify(Recipient::Person(ADMIN), &notice)
        .await
        .unwrap();
    assert_eq!(slack.calls_of("conversations.open").len(), 2);
    let posted = slack.messages(ADMIN_DM);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(buttons(&posted[0].blocks).len(), 4);

    // A chat: posted there, no DM opened.
    delivery
        .notify(Recipient::Chat("C0REQUESTS"), &Outbound::text("You're in"))
        .await
        .unwrap();
    assert_eq!(slack.texts("C0REQUESTS"), ["You're in"]);
    assert_eq!(slack.calls_of("conversations.open").len(), 2);

    // Slack's refusals are failures that waiting will not fix, in Slack's words.
    slack.fail_next(
        "conversations.open",
        vec![SlackFailure::Error("user_disabled")],
    );
    let gone = delivery.notify(Recipient::Person("UGONE"), &notice).await;
    let gone = gone.unwrap_err();
    assert!(gone.message.contains("user_disabled"), "{gone:?}");
    assert!(!gone.retry);
    assert_eq!(gone.posted, 0);
    slack.fail_next(
        "chat.postMessage",
        vec![SlackFailure::Error("channel_not_found")],
    );
    let missing = delivery.notify(Recipient::Chat("C0GONE"), &notice).await;
    let missing = missing.unwrap_err();
    assert!(missing.message.contains("channel_not_found"), "{missing:?}");
    assert!(!missing.retry);
    let nobody = delivery.notify(Recipient::Person("bob"), &notice).await;
    assert!(nobody
        .unwrap_err()
        .message
        .contains("not a Slack channel or member id"));
    assert!(slack.messages("UGONE").is_empty() && slack.messages("C0GONE").is_empty());
}

#[tokio::test]
async fn requests_to_a_slack_channel_are_posted_there_and_decided_there() {
    let slack = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let table = format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{ADMIN}\"]\nroles = {{ \"{ADMIN}\" = \"admin\" }}\n\n\
         [team]\nrequests_to = {{ channel = \"slack\", to = \"C0REQUESTS\" }}\n",
        slack.api_url()
    );
    let r = serve(slack, &table).await;
    r.slack
        .push_event(message_event(STRANGER, STRANGER_DM, "hi", &ts(30), None));
    assert!(
        r.slack.wait_text("C0REQUESTS", STRANGER, WAIT).await,
        "{:?}",
        r.slack.calls()
    );
    assert!(r.slack.calls_of("conversations.open").is_empty(), "no DM");
    let notice = r.slack.messages("C0REQUESTS").remove(0);
    let found = buttons(&notice.blocks);
    let (_, operator) = found.iter().find(|(l, _)| l.contains("operator")).unwrap();
    r.slack.push_interaction(press(
        ADMIN,
        "C0REQUESTS",
        &notice.ts,
        None,
        operator,
        "trigger-channel",
    ));
    assert!(r.slack.wait_text(STRANGER_DM, "You're in", WAIT).await);
    assert!(
        r.slack
            .wait_text("C0REQUESTS", "Allowed as operator by <@UADMIN>", WAIT)
            .await,
        "{:?}",
        r.slack.texts("C0REQUESTS")
    );
    r.stop().await;
}
