//! WhatsApp (Cloud API) end to end: the real `fanops run` wiring against a fake Graph API,
//! with webhooks signed as Meta signs them; the fake model and the fake OnlyFansAPI.

use crate::helpers::{WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN};
use crate::support::{
    button_reply, list_reply, text_message, wa_change as change, wa_signature, FakeModel,
    FakeOnlyFans, FakeWhatsApp, Reply, WA_PHONE_NUMBER_ID,
};
use fanops::channels::Channel;
use fanops::clock::Clock;
use fanops::store::SharedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";
/// Numbers: an operator, a viewer and an admin.
pub(crate) const OPERATOR: &str = "447700900001";
pub(crate) const VIEWER: &str = "447700900002";
pub(crate) const ADMIN: &str = "447700900003";
pub(crate) const STRANGER: &str = "447700900099";
pub(crate) const HOOK: &str = "/whatsapp/webhook";

pub(crate) struct Running {
    pub(crate) wa: FakeWhatsApp,
    pub(crate) model: FakeModel,
    pub(crate) api: FakeOnlyFans,
    pub(crate) base: String,
    pub(crate) store: SharedStore,
    pub(crate) scheduler: Arc<fanops::scheduler::engine::Scheduler>,
    pub(crate) channels: Vec<Arc<dyn Channel>>,
    pub(crate) clock: Clock,
    pub(crate) shutdown: CancellationToken,
    pub(crate) server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub(crate) _dir: tempfile::TempDir,
}

/// `[channels.whatsapp]` for the fake with the three numbers, `extra` inside the table;
/// `after` follows it.
pub(crate) fn config(
    wa: &FakeWhatsApp,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    extra: &str,
    after: &str,
) -> String {
    let table = format!(
        "[channels.whatsapp]\napi_url = \"{}\"\nphone_number_id = \"{WA_PHONE_NUMBER_ID}\"\npermitted_numbers = [\"{OPERATOR}\", \"{VIEWER}\", \"{ADMIN}\"]\nroles = {{ \"{VIEWER}\" = \"viewer\", \"{ADMIN}\" = \"admin\" }}\n{extra}\n\n{after}\n",
        wa.api_url()
    );
    crate::support::config_text(&model.url(), &api.url(), db, &table)
}

pub(crate) async fn running_with(
    extra: &str,
    after: impl Fn(&std::path::Path) -> String,
) -> Running {
    let (wa, model, api) = (
        FakeWhatsApp::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&wa, &model, &api, &db, extra, &after(dir.path()));
    let (app, clock) = crate::helpers::build_app("whatsapp.toml", text, false).await;
    let (store, scheduler, channels) = (
        app.store.clone(),
        app.scheduler.clone(),
        app.channels.clone(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Running {
        wa,
        model,
        api,
        base,
        store,
        scheduler,
        channels,
        clock,
        shutdown,
        server,
        _dir: dir,
    }
}

pub(crate) async fn running(extra: &str) -> Running {
    running_with(extra, |_| String::new()).await
}

impl Running {
    pub(crate) fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Posts `body` to the webhook with `signature` (Meta's, when `None`).
    pub(crate) async fn post(&self, body: &Value, signature: Option<&str>) -> reqwest::Response {
        let body = body.to_string();
        let signature = signature
            .map(str::to_string)
            .unwrap_or_else(|| wa_signature(WHATSAPP_APP_SECRET, &body));
        reqwest::Client::new()
            .post(format!("{}{HOOK}", self.base))
            .header("X-Hub-Signature-256", signature)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Posts `body` signed; asserts Meta gets its 200.
    pub(crate) async fn deliver(&self, body: Value) {
        assert_eq!(self.post(&body, None).await.status(), 200);
    }

    pub(crate) async fn say(&self, from: &str, id: &str, text: &str) {
        self.deliver(text_message(from, "Kerry", id, self.now(), text))
            .await;
    }

    pub(crate) async fn wait_text(&self, to: &str, needle: &str) -> bool {
        self.wa.wait_text(to, needle, WAIT).await
    }

    pub(crate) fn delivery(&self) -> Arc<dyn fanops::chat::Delivery> {
        let channel = self
            .channels
            .iter()
            .find(|c| c.name() == "whatsapp")
            .unwrap();
        channel.clone().delivery()
    }

    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

pub(crate) fn send_call() -> Reply {
    Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks Jake!"}}),
    )])
}

/// The reply-button ids of interactive message `m`.
pub(crate) fn button_ids(m: &Value) -> Vec<String> {
    m["interactive"]["action"]["buttons"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|b| b["reply"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_webhook_answers_meta_s_challenge_only_with_the_verify_token() {
    let r = running("").await;
    let check = |token: &str| {
        format!(
            "{}{HOOK}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            r.base
        )
    };
    let answer = reqwest::get(check(WHATSAPP_VERIFY_TOKEN)).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.text().await.unwrap(), "1158201444");
    for wrong in [
        check("guess"),
        check(""),
        format!("{}{HOOK}?hub.challenge=1", r.base),
    ] {
        let refused = reqwest::get(wrong).await.unwrap();
        assert_eq!(refused.status(), 403);
        assert!(!refused.text().await.unwrap().contains("1158201444"));
    }
    let ready: Value = reqwest::get(format!("{}/readyz", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["channels"]["whatsapp"]["ok"], true, "{ready}");
    r.stop().await;
}

#[tokio::test]
async fn a_forged_or_missing_signature_is_refused_and_nothing_is_stored() {
    let r = running("").await;
    let body = text_message(OPERATOR, "Kerry", "wamid.FORGED", r.now(), "hello?");
    let forged = wa_signature("not-the-app-secret", &body.to_string());
    for signature in [
        Some(forged.as_str()),
        Some("sha256=00ff"),
        Some("deadbeef"),
        Some(""),
    ] {
        assert_eq!(
            r.post(&body, signature).await.status(),
            401,
            "{signature:?}"
        );
    }
    let unsigned = reqwest::Client::new()
        .post(format!("{}{HOOK}", r.base))
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);
    let seen = r
        .store
        .state(&format!("whatsapp.seen.{OPERATOR}"))
        .await
        .unwrap();
    assert_eq!(seen, None, "nothing of a refused request is kept");
    assert_eq!(r.model.request_count(), 0);
    assert!(r.wa.messages().is_empty() && r.wa.receipts().is_empty());

    // The same message signed by Meta was never claimed: it is answered now.
    r.model.push(Reply::Text("signed answer".into()));
    r.deliver(body).await;
    assert!(r.wait_text(OPERATOR, "signed answer").await);
    r.stop().await;
}

#[tokio::test]
async fn a_question_is_marked_read_with_typing_then_answered_once_though_redelivered() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("This week: **$1,912.40** net for *Luna* _x_ fans".into()),
    ]);
    let question = text_message(
        OPERATOR,
        "Kerry",
        "wamid.Q1",
        r.now(),
        "How much did we earn this week?",
    );
    r.deliver(question.clone()).await;
    assert!(
        r.wait_text(OPERATOR, "1,912.40").await,
        "{:?}",
        r.wa.texts_to(OPERATOR)
    );
    // Meta redelivers what it thinks went unanswered.
    r.deliver(question.clone()).await;
    r.deliver(question).await;
    let receipts = r.wa.receipts();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(receipts[0]["message_id"], "wamid.Q1");
    assert_eq!(receipts[0]["typing_indicator"]["type"], "text");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.model.request_count(),
        2,
        "one turn: the tool call and the answer"
    );
    assert_eq!(
        r.wa.texts_to(OPERATOR),
        ["This week: *$1,912.40* net for _Luna_ _x_ fans"],
        "WhatsApp's own formatting, sent once"
    );
    let sent = &r.wa.messages_to(OPERATOR)[0];
    assert_eq!(sent["type"], "text");
    assert_eq!(sent["text"]["preview_url"], false);
    assert_eq!(
        r.model.requests()[0]["messages"][1]["content"],
        "How much did we earn this week?"
    );
    r.stop().await;
}

#[tokio::test]
async fn confirm_and_cancel_are_reply_buttons_and_a_write_runs_once() {
    let r = running("").await;
    r.model.push(send_call());
    r.say(OPERATOR, "wamid.W1", "thank Jake").await;
    assert!(r.wait_text(OPERATOR, "Should I go ahead?").await);
    let prompt = r.wa.messages_to(OPERATOR).pop().unwrap();
    assert_eq!(prompt["interactive"]["type"], "button");
    let ids = button_ids(&prompt);
    assert_eq!(ids.len(), 2);
    assert!(
        ids[0].starts_with("fo:c:") && ids[1].starts_with("fo:x:"),
        "{ids:?}"
    );
    let prompt_id = prompt["id"].as_str().unwrap().to_string();

    // A viewer cannot confirm; the operator's press runs it once, a second press nothing.
    r.deliver(button_reply(
        VIEWER,
        "wamid.P0",
        r.now(),
        &prompt_id,
        &ids[0],
    ))
    .await;
    assert!(
        r.wa.wait_for(|w| !w.messages_to(VIEWER).is_empty(), WAIT)
            .await
    );
    assert_eq!(r.api.count("POST", SEND), 0);
    r.model.push(Reply::Text("Sent to Jake.".into()));
    let press = button_reply(OPERATOR, "wamid.P1", r.now(), &prompt_id, &ids[0]);
    r.deliver(press.clone()).await;
    r.deliver(press).await;
    assert!(r.wait_text(OPERATOR, "Sent to Jake.").await);
    assert!(r.wait_text(OPERATOR, "Confirmed by").await);
    r.deliver(button_reply(
        OPERATOR,
        "wamid.P2",
        r.now(),
        &prompt_id,
        &ids[0],
    ))
    .await;
    r.deliver(button_reply(
        OPERATOR,
        "wamid.P3",
        r.now(),
        &prompt_id,
        &ids[1],
    ))
    .await;
    let after = r.wa.messages_to(OPERATOR).len();
    assert!(
        r.wa.wait_for(|w| w.messages_to(OPERATOR).len() >= after, WAIT)
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.api.count("POST", SEND), 1, "one execution");

    // Cancel on a new prompt runs nothing; a forged button is not one of fanops's.
    r.model.push(send_call());
    r.say(OPERATOR, "wamid.W2", "thank Jake again").await;
    assert!(
        r.wa.wait_for(
            |w| w
                .messages_to(OPERATOR)
                .iter()
                .filter(|m| m["type"] == "interactive")
                .count()
                == 2,
            WAIT
        )
        .await
    );
    let prompt =
        r.wa.messages_to(OPERATOR)
            .into_iter()
            .rfind(|m| m["type"] == "interactive")
            .unwrap();
    let cancel = button_ids(&prompt)[1].clone();
    r.deliver(button_reply(
        OPERATOR,
        "wamid.P4",
        r.now(),
        prompt["id"].as_str().unwrap(),
        &cancel,
    ))
    .await;
    assert!(r.wait_text(OPERATOR, "Cancelled by").await);
    r.deliver(button_reply(
        OPERATOR,
        "wamid.P5",
        r.now(),
        "wamid.X",
        "other:thing",
    ))
    .await;
    assert!(r.wait_text(OPERATOR, "not one of mine").await);
    assert_eq!(r.api.count("POST", SEND), 1);
    r.stop().await;
}

#[tokio::test]
async fn a_stranger_gets_their_id_and_an_admin_who_wrote_today_the_request() {
    let r = running("").await;
    // The admin wrote in the last 24 hours: WhatsApp lets the bot write to them.
    r.model.push(Reply::Text("hello admin".into()));
    r.say(ADMIN, "wamid.A1", "hi").await;
    assert!(r.wait_text(ADMIN, "hello admin").await);

    let stranger = text_message(STRANGER, "Jo *bold* @all", "wamid.S1", r.now(), "let me in");
    r.deliver(stranger).await;
    assert!(
        r.wait_text(STRANGER, STRANGER).await,
        "{:?}",
        r.wa.texts_to(STRANGER)
    );
    assert!(r.wait_text(ADMIN, "Access request").await);
    let notice = r.wa.messages_to(ADMIN).pop().unwrap();
    assert_eq!(
        notice["interactive"]["type"], "list",
        "four choices: a list"
    );
    let body = notice["interactive"]["body"]["text"].as_str().unwrap();
    assert!(body.contains(STRANGER) && body.contains("Jo"), "{body}");
    assert!(!body.contains("*bold*"), "a name formats nothing: {body}");
    let rows = notice["interactive"]["action"]["sections"][0]["rows"]
        .as_array()
        .unwrap()
        .clone();
    let titles: Vec<&str> = rows.iter().map(|r| r["title"].as_str().unwrap()).collect();
    assert_eq!(
        titles,
        [
            "Allow as viewer",
            "Allow as operator",
            "Allow as admin",
            "Ignore"
        ]
    );
    assert_eq!(r.model.request_count(), 1, "a stranger costs no model call");

    let operator = rows[1]["id"].as_str().unwrap();
    r.deliver(list_reply(
        ADMIN,
        "wamid.A2",
        r.now(),
        notice["id"].as_str().unwrap(),
        operator,
    ))
    .await;
    assert!(
        r.wait_text(STRANGER, "You're in").await,
        "{:?}",
        r.wa.texts_to(STRANGER)
    );
    r.model.push(Reply::Text("welcome aboard".into()));
    r.say(STRANGER, "wamid.S2", "what can you do?").await;
    assert!(r.wait_text(STRANGER, "welcome aboard").await);
    r.stop().await;
}

#[tokio::test]
async fn an_admin_outside_the_24_hour_window_gets_no_request_and_it_waits_in_team() {
    let r = running("").await;
    // The admin last wrote 30 hours ago.
    let long_ago = r.now() - 30 * 3600;
    r.model.push(Reply::Text("old answer".into()));
    r.deliver(text_message(ADMIN, "Admin", "wamid.A1", long_ago, "hi"))
        .await;
    assert!(r.wait_text(ADMIN, "old answer").await);
    r.deliver(text_message(
        STRANGER,
        "Jo",
        "wamid.S1",
        r.now(),
        "let me in",
    ))
    .await;
    assert!(r.wait_text(STRANGER, STRANGER).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.wa.messages_to(ADMIN).len(),
        1,
        "nothing WhatsApp would refuse is sent"
    );
    r.model.push(Reply::Text("unused".into()));
    r.say(ADMIN, "wamid.A2", "/team").await;
    assert!(
        r.wait_text(ADMIN, STRANGER).await,
        "{:?}",
        r.wa.texts_to(ADMIN)
    );
    r.stop().await;
}

#[tokio::test]
async fn a_stranger_s_photo_asks_for_access_too() {
    let r = running("").await;
    r.model.push(Reply::Text("hello admin".into()));
    r.say(ADMIN, "wamid.A1", "hi").await;
    assert!(r.wait_text(ADMIN, "hello admin").await);
    let photo = json!({"from": STRANGER, "id": "wamid.S1", "timestamp": r.now().to_string(), "type": "image", "image": {"id": "m1", "mime_type": "image/jpeg"}});
    r.deliver(change(
        json!({"contacts": [{"wa_id": STRANGER, "profile": {"name": "Jo"}}], "messages": [photo]}),
    ))
    .await;
    assert!(
        r.wait_text(STRANGER, STRANGER).await,
        "{:?}",
        r.wa.texts_to(STRANGER)
    );
    assert!(r.wait_text(ADMIN, "Access request").await);
    // A permitted person's photo goes to the core, which says this model cannot see it;
    // a location gets a note. No model call is made for either.
    let photo = json!({"from": OPERATOR, "id": "wamid.O1", "timestamp": r.now().to_string(), "type": "image", "image": {"id": "m2"}});
    r.deliver(change(json!({"messages": [photo]}))).await;
    assert!(r.wait_text(OPERATOR, "cannot see images").await);
    let pin = json!({"from": OPERATOR, "id": "wamid.O2", "timestamp": r.now().to_string(), "type": "location", "location": {"latitude": 51.5, "longitude": -0.1}});
    r.deliver(change(json!({"messages": [pin]}))).await;
    assert!(r.wait_text(OPERATOR, "text messages").await);
    assert_eq!(r.model.request_count(), 1);
    r.stop().await;
}

#[test]
fn check_names_wrong_numbers_and_ids_at_their_lines() {
    let text = "[channels.whatsapp]\nphone_number_id = \"+1 555 0100\"\npermitted_numbers = [\"+447700900001\"]\nroles = { \"447700900002\" = \"admin\" }\ndigest_template = \"Morning Digest\"\n\n[channels.whatsapp.accounts.managers]\ntoken_env = \"WHATSAPP_MANAGERS_TOKEN\"\n";
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
    let expect = [
        "fanops.toml:2: phone_number_id `+1 555 0100` is not a Graph API id",
        "fanops.toml:3: `+447700900001` is not a WhatsApp id",
        "fanops.toml:4: number 447700900002 has a role but is not in permitted_numbers",
        "fanops.toml:5: digest_template `Morning Digest` is not a template name",
        // An account inherits the top-level number unless it names its own.
        "fanops.toml:7: [channels.whatsapp.accounts.managers] has the phone_number_id of [channels.whatsapp]",
    ];
    for e in expect {
        assert!(
            problems.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {problems:#?}"
        );
    }
}
