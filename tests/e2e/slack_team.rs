//! Slack's team end to end: a stranger's DM becomes an access request in each admin's DM
//! (`conversations.open`, then the notice with a button for each role) or in `[team]
//! requests_to`, and an admin's press lets them in at once. The app builder here, with
//! each workspace's tokens, serves `slack_accounts` too.

use crate::support::{
    message_event, press, FakeModel, FakeOnlyFans, FakeSlack, Reply, SlackFailure,
};
use fanops::app::App;
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const ADMIN: &str = "UADMIN";
/// The admin's DM with the bot, as the fake's `conversations.open` names it.
const ADMIN_DM: &str = "DADMIN";
pub(crate) const OPERATOR: &str = "U1OPERATOR";
pub(crate) const OPERATOR_DM: &str = "D1OPERATOR";
const STRANGER: &str = "U9STRANGER";
const STRANGER_DM: &str = "D9STRANGER";
/// The second workspace's member, and their DM with its bot.
pub(crate) const WS2_MEMBER: &str = "U2WSTWO";
pub(crate) const WS2_DM: &str = "D2WSTWO";

/// Each workspace's tokens, in the variables the config names.
const TOKENS: &[(&str, &str)] = &[
    ("SLACK_BOT_TOKEN", "xoxb-ws1"),
    ("SLACK_APP_TOKEN", "xapp-ws1"),
    ("SLACK_WS2_BOT_TOKEN", "xoxb-ws2"),
    ("SLACK_WS2_APP_TOKEN", "xapp-ws2"),
    ("SLACK_WS2_SIGNING_SECRET", WS2_SIGNING_SECRET),
];
pub(crate) const WS2_SIGNING_SECRET: &str = "ws2-signing-secret";

/// The app built from `text`, reading the fakes' keys and [`TOKENS`].
pub(crate) async fn build(text: String) -> (App, Clock) {
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

pub(crate) struct Running {
    pub(crate) slack: FakeSlack,
    pub(crate) model: FakeModel,
    pub(crate) base: String,
    pub(crate) clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _api: FakeOnlyFans,
    _dir: tempfile::TempDir,
}

impl Running {
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }

    pub(crate) async fn ready(&self) -> Value {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Serves `slack_tables` (with the first workspace's fake at `slack`) and `extra`.
pub(crate) async fn serve(slack: FakeSlack, slack_tables: &str) -> Running {
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

pub(crate) fn ts(n: u32) -> String {
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
    // Named as Slack names them (users.info), with their id and where they wrote.
    for part in [
        "Member 9STRANGER (@member9stranger)",
        STRANGER,
        "Slack",
        "private chat",
    ] {
        assert!(
            notices[0].text.contains(part),
            "names {part}: {}",
            notices[0].text
        );
    }
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
