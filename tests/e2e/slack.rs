//! The Slack channel end to end: the real `fanops run` wiring against a fake Slack (Web API
//! and Socket Mode), the fake model and the fake OnlyFansAPI.

use crate::support::{
    mention_event, message_event, press, FakeModel, FakeOnlyFans, FakeSlack, Reply, SlackFailure,
};
use fanops::clock::Clock;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";
/// Members: an operator, a viewer and an admin.
pub(crate) const OPERATOR: &str = "U1OPERATOR";
pub(crate) const VIEWER: &str = "U2VIEWER";
pub(crate) const DM: &str = "D0OPERATOR";
pub(crate) const TEAM: &str = "C0TEAM";

pub(crate) struct Running {
    pub(crate) slack: FakeSlack,
    pub(crate) model: FakeModel,
    pub(crate) api: FakeOnlyFans,
    pub(crate) base: String,
    pub(crate) shutdown: CancellationToken,
    pub(crate) server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) clock: Clock,
}

/// `[channels.slack]` for the fake with the three members, `extra` inside the table.
pub(crate) fn config(
    slack: &FakeSlack,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    extra: &str,
) -> String {
    let slack_table = format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{OPERATOR}\", \"{VIEWER}\", \"U3ADMIN\"]\nroles = {{ \"{VIEWER}\" = \"viewer\", \"U3ADMIN\" = \"admin\" }}\n{extra}\n",
        slack.api_url()
    );
    crate::support::config_text(&model.url(), &api.url(), db, &slack_table)
}

pub(crate) async fn start(
    slack: FakeSlack,
    model: FakeModel,
    api: FakeOnlyFans,
    dir: tempfile::TempDir,
    extra: &str,
) -> Running {
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&slack, &model, &api, &db, extra);
    let (app, clock) = crate::helpers::build_app("slack.toml", text, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Running {
        slack,
        model,
        api,
        base,
        shutdown,
        server,
        dir,
        clock,
    }
}

pub(crate) async fn running(extra: &str) -> Running {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    start(slack, model, api, tempfile::tempdir().unwrap(), extra).await
}

impl Running {
    pub(crate) async fn wait_text(&self, channel: &str, needle: &str) -> bool {
        self.slack.wait_text(channel, needle, WAIT).await
    }

    /// Waits until every envelope in `ids` is acknowledged (so it was read and claimed
    /// or ignored).
    async fn acked(&self, ids: &[String]) {
        let ids = ids.to_vec();
        let all = self
            .slack
            .wait_for(move |s| ids.iter().all(|id| s.acks().contains(id)), WAIT)
            .await;
        assert!(
            all,
            "every envelope is acknowledged: {:?}",
            self.slack.acks()
        );
    }

    async fn ready(&self) -> Value {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn stop(self) -> (FakeSlack, FakeModel, FakeOnlyFans, tempfile::TempDir) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
        (self.slack, self.model, self.api, self.dir)
    }
}

pub(crate) fn ts(n: u32) -> String {
    format!("1700000000.{n:06}")
}

#[tokio::test]
async fn a_dm_gets_on_it_then_the_answer_edited_in() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("This week: **$1,912.40** net for <Luna & co> @channel".into()),
    ]);
    let envelope = r.slack.push_event(message_event(
        OPERATOR,
        DM,
        "How much did we earn this week?",
        &ts(1),
        None,
    ));
    assert!(r.wait_text(DM, "1,912.40").await, "{:?}", r.slack.texts(DM));
    r.acked(&[envelope]).await;
    let posted = r.slack.messages(DM);
    assert_eq!(
        posted.len(),
        1,
        "one message: the placeholder, later edited"
    );
    assert_eq!(
        r.slack.calls_of("chat.postMessage")[0].body["text"],
        "On it…"
    );
    assert!(posted[0].edits >= 1);
    assert_eq!(
        posted[0].text, "This week: *$1,912.40* net for &lt;Luna &amp; co&gt; @\u{2060}channel",
        "mrkdwn, escaped, pinging nobody"
    );
    assert_eq!(posted[0].thread_ts, None, "a DM is answered in the DM");
    assert_eq!(
        r.model.requests()[0]["messages"][1]["content"],
        "How much did we earn this week?"
    );
    let ready = r.ready().await;
    assert_eq!(ready["channels"]["slack"]["ok"], true, "{ready}");
    r.stop().await;
}

#[tokio::test]
async fn a_mention_is_answered_in_its_thread_once_and_the_thread_is_followed() {
    let r = running("").await;
    r.model.push(Reply::Text("first answer".into()));
    // Slack sends a channel mention twice: as `message` and as `app_mention`.
    let text = "<@UBOT> how are we doing?";
    let twice = [
        r.slack
            .push_event(message_event(OPERATOR, TEAM, text, &ts(10), None)),
        r.slack
            .push_event(mention_event(OPERATOR, TEAM, text, &ts(10), None)),
    ];
    assert!(r.wait_text(TEAM, "first answer").await);
    r.acked(&twice).await;
    let answer = &r.slack.messages(TEAM)[0];
    assert_eq!(
        answer.thread_ts.as_deref(),
        Some(ts(10).as_str()),
        "answered in the thread"
    );
    assert_eq!(
        r.model.requests()[0]["messages"][1]["content"],
        "how are we doing?"
    );

    // Later messages in that thread need no mention.
    r.model.push(Reply::Text("second answer".into()));
    r.slack.push_event(message_event(
        OPERATOR,
        TEAM,
        "and yesterday?",
        &ts(11),
        Some(&ts(10)),
    ));
    assert!(r.wait_text(TEAM, "second answer").await);

    // Chatter elsewhere in the channel, bots, edits and joins reach no model.
    let mut bot = message_event("U0OTHER", TEAM, "<@UBOT> beep", &ts(13), None);
    bot["event"]["bot_id"] = json!("B0OTHER");
    let mut bot_mention = mention_event("U0OTHER", TEAM, "<@UBOT> beep", &ts(13), None);
    bot_mention["event"]["bot_id"] = json!("B0OTHER");
    let mut edit = message_event(OPERATOR, TEAM, "edited", &ts(14), Some(&ts(10)));
    edit["event"]["subtype"] = json!("message_changed");
    let mut join = message_event(OPERATOR, TEAM, "joined", &ts(15), None);
    join["event"]["subtype"] = json!("channel_join");
    let ignored = [
        r.slack.push_event(message_event(
            OPERATOR,
            TEAM,
            "lunch anyone?",
            &ts(12),
            None,
        )),
        r.slack.push_event(message_event(
            OPERATOR,
            TEAM,
            "in another thread",
            &ts(16),
            Some(&ts(12)),
        )),
        r.slack.push_event(bot_mention),
        r.slack.push_event(bot),
        r.slack.push_event(edit),
        r.slack.push_event(join),
    ];
    r.acked(&ignored).await;
    // A DM answered after them shows every one of them was read and let go.
    r.model.push(Reply::Text("dm answer".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "hi", &ts(17), None));
    assert!(r.wait_text(DM, "dm answer").await);
    assert_eq!(
        r.model.request_count(),
        3,
        "only the mention, the thread and the DM"
    );
    assert_eq!(r.slack.messages(TEAM).len(), 2);

    // The thread is still followed after a restart.
    let (slack, model, api, dir) = r.stop().await;
    let r = start(slack, model, api, dir, "").await;
    r.model.push(Reply::Text("after restart".into()));
    r.slack.push_event(message_event(
        OPERATOR,
        TEAM,
        "still there?",
        &ts(18),
        Some(&ts(10)),
    ));
    assert!(r.wait_text(TEAM, "after restart").await);
    r.stop().await;
}

pub(crate) fn send_call() -> Reply {
    Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks Jake!"}}),
    )])
}

/// Asks for a write in a thread of the team channel started at `root`; returns the
/// prompt's `ts` and the action id.
async fn prompt(r: &Running, root: &str) -> (String, String) {
    r.model.push(send_call());
    r.slack.push_event(message_event(
        OPERATOR,
        TEAM,
        "<@UBOT> thank Jake",
        root,
        None,
    ));
    let in_thread = |s: &FakeSlack| {
        s.messages(TEAM).into_iter().find(|m| {
            m.thread_ts.as_deref() == Some(root) && m.blocks.to_string().contains("fo:c:")
        })
    };
    assert!(
        r.slack.wait_for(|s| in_thread(s).is_some(), WAIT).await,
        "{:?}",
        r.slack.texts(TEAM)
    );
    let prompt = in_thread(&r.slack).unwrap();
    assert!(
        prompt.text.contains("Should I go ahead?"),
        "{}",
        prompt.text
    );
    let actions = prompt.blocks.as_array().unwrap().last().unwrap().clone();
    assert_eq!(actions["type"], "actions");
    let confirm = actions["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(actions["elements"][0]["style"], "primary");
    assert_eq!(actions["elements"][1]["style"], "danger");
    let action = confirm.strip_prefix("fo:c:").unwrap().to_string();
    assert_eq!(actions["elements"][1]["value"], format!("fo:x:{action}"));
    assert_eq!(prompt.thread_ts.as_deref(), Some(root));
    (prompt.ts, action)
}

fn ephemeral_texts(slack: &FakeSlack) -> Vec<String> {
    slack
        .ephemerals()
        .iter()
        .map(|e| {
            e["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test]
async fn buttons_confirm_once_and_refuse_everyone_else_ephemerally() {
    let r = running("").await;
    let root = ts(20);
    let (prompt_ts, action) = prompt(&r, &root).await;
    assert_eq!(r.api.count("POST", SEND), 0);
    let press_by = |user: &str, value: &str, n: u32| {
        r.slack.push_interaction(press(
            user,
            TEAM,
            &prompt_ts,
            Some(&root),
            value,
            &format!("trig{n}"),
        ))
    };
    let refused = [
        press_by(VIEWER, &format!("fo:c:{action}"), 1),
        press_by(OPERATOR, "fo:c:forged", 2),
        press_by(OPERATOR, "something else", 3),
    ];
    r.acked(&refused).await;
    r.model.push(Reply::Text("Sent.".into()));
    press_by(OPERATOR, &format!("fo:c:{action}"), 4);
    assert!(
        r.wait_text(TEAM, "Sent.").await,
        "{:?}",
        r.slack.texts(TEAM)
    );
    press_by(OPERATOR, &format!("fo:c:{action}"), 5);
    assert!(
        r.slack.wait_for(|s| s.ephemerals().len() >= 4, WAIT).await,
        "{:?}",
        ephemeral_texts(&r.slack)
    );
    let notes = ephemeral_texts(&r.slack);
    for expected in [
        "viewer",
        "don't know that request",
        "not one of mine",
        "already confirmed",
    ] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected}: {notes:?}"
        );
    }
    for e in r.slack.ephemerals() {
        assert_eq!(e["thread_ts"], root.as_str(), "notes go to the thread");
        assert!(e["user"] == VIEWER || e["user"] == OPERATOR);
    }
    assert_eq!(r.api.count("POST", SEND), 1, "the write ran exactly once");
    let prompt = r
        .slack
        .messages(TEAM)
        .into_iter()
        .find(|m| m.ts == prompt_ts)
        .unwrap();
    assert!(
        prompt.text.contains(&format!("Confirmed by <@{OPERATOR}>")),
        "{}",
        prompt.text
    );
    assert!(
        !prompt.blocks.to_string().contains("fo:c:"),
        "the buttons are gone"
    );
    r.stop().await;
}

#[tokio::test]
async fn cancel_a_plain_no_and_an_expired_press_change_nothing() {
    let r = running("").await;
    let root = ts(30);
    let (prompt_ts, action) = prompt(&r, &root).await;
    r.slack.push_interaction(press(
        OPERATOR,
        TEAM,
        &prompt_ts,
        Some(&root),
        &format!("fo:x:{action}"),
        "trig-cancel",
    ));
    assert!(
        r.wait_text(TEAM, &format!("Cancelled by <@{OPERATOR}>"))
            .await
    );

    // "no" typed in the thread decides too.
    let root = ts(31);
    prompt(&r, &root).await;
    r.slack
        .push_event(message_event(OPERATOR, TEAM, "no", &ts(32), Some(&root)));
    assert!(r.wait_text(TEAM, "Nothing was changed").await);

    // A press after the request expired says so.
    let root = ts(33);
    let (prompt_ts, action) = prompt(&r, &root).await;
    r.clock.advance(Duration::from_secs(11 * 60));
    r.slack.push_interaction(press(
        OPERATOR,
        TEAM,
        &prompt_ts,
        Some(&root),
        &format!("fo:c:{action}"),
        "trig-late",
    ));
    assert!(r.slack.wait_for(|s| !s.ephemerals().is_empty(), WAIT).await);
    assert!(
        ephemeral_texts(&r.slack)[0].contains("expired"),
        "{:?}",
        ephemeral_texts(&r.slack)
    );
    assert_eq!(r.api.count("POST", SEND), 0);
    r.stop().await;
}

#[tokio::test]
async fn a_refused_member_gets_their_id_once_a_minute_even_across_restarts() {
    let r = running("").await;
    let stranger_dm = "D0STRANGER";
    r.slack.push_event(message_event(
        "U9STRANGER",
        stranger_dm,
        "How much did we earn?",
        &ts(40),
        None,
    ));
    assert!(r.wait_text(stranger_dm, "U9STRANGER").await);
    assert!(r.slack.texts(stranger_dm)[0].contains("not allowed"));
    let more = [
        r.slack.push_event(message_event(
            "U9STRANGER",
            stranger_dm,
            "please?",
            &ts(41),
            None,
        )),
        r.slack.push_event(message_event(
            "U9STRANGER",
            TEAM,
            "<@UBOT> hi",
            &ts(42),
            None,
        )),
    ];
    r.acked(&more).await;
    let (slack, model, api, dir) = r.stop().await;
    let r = start(slack, model, api, dir, "").await;
    r.slack.push_event(message_event(
        "U9STRANGER",
        stranger_dm,
        "hello again",
        &ts(43),
        None,
    ));
    // An operator's DM answered after the stranger's shows the stranger's was handled.
    r.model.push(Reply::Text("for the operator".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "hi", &ts(44), None));
    assert!(r.wait_text(DM, "for the operator").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let told: usize = [stranger_dm, TEAM]
        .iter()
        .map(|c| {
            r.slack
                .texts(c)
                .iter()
                .filter(|t| t.contains("U9STRANGER"))
                .count()
        })
        .sum();
    assert_eq!(told, 1, "one reply a minute, restart or not");
    assert_eq!(r.model.request_count(), 1, "only the operator's message");
    assert_eq!(crate::support::last_user_text(&r.model.requests()[0]), "hi");
    // A minute later they are told again.
    r.clock.advance(Duration::from_secs(61));
    r.slack.push_event(message_event(
        "U9STRANGER",
        stranger_dm,
        "now?",
        &ts(45),
        None,
    ));
    assert!(
        r.slack
            .wait_for(|s| s.texts("D0STRANGER").len() == 2, WAIT)
            .await
    );
    r.stop().await;
}

#[tokio::test]
async fn a_whole_workspace_gets_the_everyone_role() {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(
        &model.url(),
        &api.url(),
        &db,
        &format!(
            "[channels.slack]\napi_url = \"{}\"\nroles = {{ \"U3ADMIN\" = \"admin\" }}\n",
            slack.api_url()
        ),
    );
    let (app, _clock) = crate::helpers::build_app("workspace.toml", text, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    slack.push_event(message_event("U7ANYONE", "D7", "/whoami", &ts(50), None));
    slack.push_event(message_event("U3ADMIN", "D3", "/whoami", &ts(51), None));
    assert!(
        slack.wait_text("D7", "role is viewer", WAIT).await,
        "{:?}",
        slack.texts("D7")
    );
    assert!(
        slack.wait_text("D3", "role is admin", WAIT).await,
        "{:?}",
        slack.texts("D3")
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn commands_work_after_a_mention_and_in_a_dm() {
    let r = running("").await;
    r.slack.push_event(message_event(
        OPERATOR,
        TEAM,
        "<@UBOT> /help",
        &ts(60),
        None,
    ));
    assert!(r.wait_text(TEAM, "/reset").await);
    r.slack
        .push_event(message_event(OPERATOR, DM, "/reset", &ts(61), None));
    assert!(r.wait_text(DM, "forgotten this conversation").await);
    r.slack
        .push_event(message_event(OPERATOR, DM, "/tasks", &ts(62), None));
    r.slack
        .push_event(message_event(OPERATOR, DM, "/usage", &ts(63), None));
    assert!(r.slack.wait_for(|s| s.texts(DM).len() == 3, WAIT).await);
    assert_eq!(r.model.request_count(), 0, "commands need no model");
    r.stop().await;
}

#[tokio::test]
async fn files_go_through_the_external_upload_into_the_thread() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "make_csv".into(),
            json!({"filename": "top-fans", "columns": ["fan", "spent"], "rows": [["Jake", 120.5], ["Ann", 80]]}),
        )]),
        Reply::Text("Here is the export.".into()),
    ]);
    r.slack.push_event(message_event(
        OPERATOR,
        TEAM,
        "<@UBOT> export top fans",
        &ts(70),
        None,
    ));
    assert!(r.slack.wait_for(|s| !s.files().is_empty(), WAIT).await);
    let file = &r.slack.files()[0];
    assert_eq!(file.name, "top-fans.csv");
    assert!(
        String::from_utf8_lossy(&file.bytes).contains("Jake,120.5"),
        "{:?}",
        file.bytes
    );
    assert_eq!(file.channel.as_deref(), Some(TEAM));
    assert_eq!(file.thread_ts.as_deref(), Some(ts(70).as_str()));
    assert_eq!(r.slack.calls_of("files.getUploadURLExternal").len(), 1);
    assert!(r.wait_text(TEAM, "Here is the export.").await);
    r.stop().await;
}

#[tokio::test]
async fn a_429_storm_delivers_each_message_exactly_once() {
    let r = running("").await;
    r.slack.fail_next(
        "chat.postMessage",
        vec![
            SlackFailure::RateLimited(1),
            SlackFailure::RateLimited(1),
            SlackFailure::RateLimited(1),
        ],
    );
    r.model.push(Reply::Text("storm answer".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "hello", &ts(80), None));
    assert!(r.wait_text(DM, "storm answer").await);
    let delivered = r
        .slack
        .texts(DM)
        .iter()
        .filter(|t| t.contains("storm answer"))
        .count();
    assert_eq!(delivered, 1);
    assert_eq!(
        r.slack.calls_of("chat.postMessage").len(),
        4,
        "three 429s waited out, then one delivery"
    );
    r.stop().await;
}

#[tokio::test]
async fn the_socket_is_replaced_when_dropped_or_refreshed_and_redeliveries_are_answered_once() {
    let r = running("").await;
    assert!(r.slack.wait_for(|s| s.sockets_opened() == 1, WAIT).await);
    r.model.push(Reply::Text("before the drop".into()));
    let first = r
        .slack
        .push_event(message_event(OPERATOR, DM, "one", &ts(90), None));
    assert!(r.wait_text(DM, "before the drop").await);
    r.acked(std::slice::from_ref(&first)).await;

    r.slack.drop_sockets();
    assert!(
        r.slack.wait_for(|s| s.sockets_opened() == 2, WAIT).await,
        "a new socket"
    );
    // Slack redelivers an envelope it thinks was lost: it is not answered again.
    r.slack.redeliver(&first);
    r.model.push(Reply::Text("after the drop".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "two", &ts(91), None));
    assert!(r.wait_text(DM, "after the drop").await);

    r.slack.ask_to_reconnect();
    assert!(
        r.slack.wait_for(|s| s.sockets_opened() == 3, WAIT).await,
        "refreshed"
    );
    r.model.push(Reply::Text("after the refresh".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "three", &ts(92), None));
    assert!(r.wait_text(DM, "after the refresh").await);
    assert_eq!(
        r.model.request_count(),
        3,
        "the redelivery was not answered"
    );
    assert_eq!(
        r.slack.acks().iter().filter(|a| **a == first).count(),
        2,
        "both acknowledged"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_scheduled_digest_is_posted_to_a_slack_channel_once() {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        "name = \"Morning digest\"\ncategory = \"Reports\"\nprompt = \"Summarise yesterday.\"\n\n[schedule]\ndaily = \"08:00\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"slack\"\nto = \"C0DIGEST\"\n",
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(
        &slack,
        &model,
        &api,
        &db,
        &format!(
            "\n[scheduler]\nworkflows_dir = \"{}\"\n",
            workflows.display()
        ),
    );
    let (app, _) = crate::helpers::build_app("digest.toml", text, false).await;
    let scheduler = app.scheduler.clone();
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    assert!(scheduler
        .tick(at("2026-11-22T07:00:00Z"))
        .await
        .unwrap()
        .started
        .is_empty());
    model.push(Reply::Text("Yesterday: **$1,912.40** net.".into()));
    let tick = scheduler.tick(at("2026-11-22T08:00:20Z")).await.unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    assert!(scheduler
        .tick(at("2026-11-22T08:00:40Z"))
        .await
        .unwrap()
        .started
        .is_empty());
    let posted = slack.messages("C0DIGEST");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].text.contains("*$1,912.40*"), "{}", posted[0].text);
    assert_eq!(posted[0].thread_ts, None);
}

#[tokio::test]
async fn one_replica_holds_the_socket_and_another_takes_over_when_it_stops() {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&slack, &model, &api, &db, "");
    let mut replicas = Vec::new();
    for n in 0..2 {
        let (app, _) =
            crate::helpers::build_app(&format!("replica{n}.toml"), text.clone(), false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(app.serve(listener, shutdown.clone()));
        replicas.push((base, shutdown, server));
        if n == 0 {
            assert!(slack.wait_for(|s| s.sockets_opened() == 1, WAIT).await);
        }
    }
    // The second stands by and says so.
    let (standby_base, _, _) = &replicas[1];
    let standing_by = async {
        for _ in 0..200 {
            let ready: Value = reqwest::get(format!("{standby_base}/readyz"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let detail = ready["channels"]["slack"]["detail"].to_string();
            if detail.contains("standby") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    };
    assert!(standing_by.await, "the second replica stands by");
    assert_eq!(slack.sockets_opened(), 1, "one socket for the app");

    let (_, first_stop, first) = replicas.remove(0);
    first_stop.cancel();
    first.await.unwrap().unwrap();
    assert!(
        slack
            .wait_for(|s| s.sockets_opened() == 2, Duration::from_secs(15))
            .await,
        "the standby took the socket over"
    );
    model.push(Reply::Text("from the second replica".into()));
    slack.push_event(message_event(OPERATOR, DM, "still here?", &ts(120), None));
    assert!(slack.wait_text(DM, "from the second replica", WAIT).await);
    let (_, stop, server) = replicas.remove(0);
    stop.cancel();
    server.await.unwrap().unwrap();
}

#[test]
fn the_app_manifests_ask_for_what_fanops_uses() {
    let socket = include_str!("../../deploy/slack/manifest-socket-mode.yml");
    let events = include_str!("../../deploy/slack/manifest-events-api.yml");
    for manifest in [socket, events] {
        for needed in [
            "app_mentions:read",
            "channels:history",
            "groups:history",
            "im:history",
            "chat:write",
            "files:write",
            "- app_mention",
            "- message.channels",
            "- message.im",
        ] {
            assert!(manifest.contains(needed), "{needed}");
        }
    }
    assert!(socket.contains("socket_mode_enabled: true"));
    assert!(events.contains("socket_mode_enabled: false"));
    assert!(events.contains("/slack/events") && events.contains("/slack/interactions"));
}

#[test]
fn fanops_check_accepts_slack_and_a_task_that_posts_there() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        "name = \"Digest\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\ndaily = \"08:00\"\n[deliver]\nchannel = \"slack\"\nto = \"C0DIGEST\"\n",
    )
    .unwrap();
    let path = dir.path().join("fanops.toml");
    let good = "[channels.slack]\nmode = \"events\"\npermitted_users = [\"U012ABCDEF\"]\neveryone_role = \"viewer\"\n";
    std::fs::write(&path, good).unwrap();
    let out = crate::helpers::fanops(&["check"], &path, dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.contains("slack"),
        "no warning about Slack: {stdout}"
    );
    assert!(stdout.contains("1 active"), "{stdout}");

    let bad = "[channels.slack]\nmode = \"rtm\"\npermitted_users = [\"bob\"]\neveryone_role = \"owner\"\n";
    std::fs::write(&path, bad).unwrap();
    let out = crate::helpers::fanops(&["check"], &path, dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let file = path.display().to_string();
    for expected in [
        format!("{file}:2: mode `rtm` must be \"socket\" or \"events\""),
        format!("{file}:3: `bob` is not a Slack member id"),
        format!("{file}:4: everyone_role `owner` must be viewer, operator or admin"),
    ] {
        assert!(stdout.contains(&expected), "{expected:?} in\n{stdout}");
    }
}

#[tokio::test]
async fn a_socket_that_goes_quiet_is_replaced_not_trusted() {
    let r = running("socket_watchdog = \"1s\"").await;
    assert!(r.slack.wait_for(|s| s.sockets_opened() == 1, WAIT).await);
    r.slack.deafen_sockets();
    assert!(
        r.slack.wait_for(|s| s.sockets_opened() == 2, WAIT).await,
        "a silent socket is pinged, then replaced"
    );
    r.model.push(Reply::Text("on the new socket".into()));
    r.slack
        .push_event(message_event(OPERATOR, DM, "anyone there?", &ts(130), None));
    assert!(r.wait_text(DM, "on the new socket").await);
    r.stop().await;
}

#[tokio::test]
async fn a_task_created_in_a_slack_thread_posts_to_that_channel() {
    let r = running("").await;
    let root = ts(140);
    r.model.push(Reply::tool(
        "create_task",
        json!({"name": "Daily digest", "prompt": "Summarise yesterday.", "schedule": {"daily": "08:00"}, "timezone": "UTC"}),
    ));
    r.slack.push_event(message_event(
        "U3ADMIN",
        TEAM,
        "<@UBOT> a daily digest here at 8 UTC",
        &root,
        None,
    ));
    let prompt_of = |s: &FakeSlack| {
        s.messages(TEAM)
            .into_iter()
            .find(|m| m.blocks.to_string().contains("fo:c:"))
    };
    assert!(r.slack.wait_for(|s| prompt_of(s).is_some(), WAIT).await);
    let prompt = prompt_of(&r.slack).unwrap();
    assert!(
        prompt.text.contains("posting to this chat"),
        "{}",
        prompt.text
    );
    let value = prompt.blocks.as_array().unwrap().last().unwrap()["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    r.model.push(Reply::Text("Created.".into()));
    r.slack.push_interaction(press(
        "U3ADMIN",
        TEAM,
        &prompt.ts,
        Some(&root),
        &value,
        "trig-task",
    ));
    assert!(r.wait_text(TEAM, "Created.").await);
    let db = format!("sqlite://{}", r.dir.path().join("fanops.db").display());
    let store = fanops::store::connect(&db).await.unwrap();
    let tasks = store.stored_tasks().await.unwrap();
    assert_eq!(tasks.len(), 1);
    let definition = &tasks[0].definition;
    assert!(definition.contains("channel = \"slack\""), "{definition}");
    assert!(definition.contains("to = \"C0TEAM\""), "{definition}");
    r.stop().await;
}
