//! WhatsApp (Cloud API) end to end: the real `fanops run` wiring against a fake Graph API,
//! with webhooks signed as Meta signs them; the fake model and the fake OnlyFansAPI.

use crate::helpers::{WHATSAPP_APP_SECRET, WHATSAPP_VERIFY_TOKEN};
use crate::support::{
    button_reply, for_number, list_reply, text_message, wa_signature, wa_status, FakeModel,
    FakeOnlyFans, FakeWhatsApp, Reply, WaFailure, WA_PHONE_NUMBER_ID, WA_SECOND_NUMBER_ID,
};
use fanops::channels::Channel;
use fanops::chat::{Attachment, AttachmentKind};
use fanops::clock::Clock;
use fanops::store::SharedStore;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);
const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";
/// Numbers: an operator, a viewer and an admin.
const OPERATOR: &str = "447700900001";
const VIEWER: &str = "447700900002";
const ADMIN: &str = "447700900003";
const STRANGER: &str = "447700900099";
const HOOK: &str = "/whatsapp/webhook";

struct Running {
    wa: FakeWhatsApp,
    model: FakeModel,
    api: FakeOnlyFans,
    base: String,
    store: SharedStore,
    scheduler: Arc<fanops::scheduler::engine::Scheduler>,
    channels: Vec<Arc<dyn Channel>>,
    clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// `[channels.whatsapp]` for the fake with the three numbers, `extra` inside the table;
/// `after` follows it.
fn config(
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

async fn running_with(extra: &str, after: impl Fn(&std::path::Path) -> String) -> Running {
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

async fn running(extra: &str) -> Running {
    running_with(extra, |_| String::new()).await
}

impl Running {
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Posts `body` to the webhook with `signature` (Meta's, when `None`).
    async fn post(&self, body: &Value, signature: Option<&str>) -> reqwest::Response {
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
    async fn deliver(&self, body: Value) {
        assert_eq!(self.post(&body, None).await.status(), 200);
    }

    async fn say(&self, from: &str, id: &str, text: &str) {
        self.deliver(text_message(from, "Kerry", id, self.now(), text))
            .await;
    }

    async fn wait_text(&self, to: &str, needle: &str) -> bool {
        self.wa.wait_text(to, needle, WAIT).await
    }

    fn delivery(&self) -> Arc<dyn fanops::chat::Delivery> {
        let channel = self
            .channels
            .iter()
            .find(|c| c.name() == "whatsapp")
            .unwrap();
        channel.clone().delivery()
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }
}

fn send_call() -> Reply {
    Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks Jake!"}}),
    )])
}

/// The reply-button ids of interactive message `m`.
fn button_ids(m: &Value) -> Vec<String> {
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

const DIGEST: &str = r#"name = "Morning digest"
category = "Reports"
prompt = "Summarise yesterday's earnings."

[schedule]
daily = "08:00"
timezone = "Europe/London"

[deliver]
channel = "whatsapp"
to = "NUMBER"
"#;

/// A workflows folder with the digest posted to `number`.
fn digest_to(number: &'static str) -> impl Fn(&std::path::Path) -> String {
    move |dir| {
        let workflows = dir.join("workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(
            workflows.join("morning-digest.toml"),
            DIGEST.replace("NUMBER", number),
        )
        .unwrap();
        format!("[scheduler]\nworkflows_dir = \"{}\"\n", workflows.display())
    }
}

impl Running {
    /// Fires the digest of the day `days` after the clock's today (a day the serving
    /// scheduler has not reached) and reads how its run ended.
    async fn fire_digest(&self, days: i64) -> String {
        let day = (self.clock.now() + chrono::Duration::days(days)).date_naive();
        let at = |h, m, s| day.and_hms_opt(h, m, s).unwrap().and_utc();
        self.scheduler.tick(at(7, 0, 0)).await.unwrap();
        let tick = self.scheduler.tick(at(8, 0, 5)).await.unwrap();
        assert_eq!(tick.started.len(), 1, "{:?}", tick.missed);
        for (_, _, handle) in tick.started {
            handle.await.unwrap();
        }
        let runs = self.store.recent_runs("morning-digest", 1).await.unwrap();
        runs[0].outcome()
    }
}

#[tokio::test]
async fn a_scheduled_post_inside_the_window_is_text_and_outside_it_the_template() {
    let r = running_with("digest_template = \"morning_digest\"", digest_to(OPERATOR)).await;
    r.model
        .respond_with(|_| Reply::text("Yesterday: **$1,912.40** net."));
    r.say(OPERATOR, "wamid.O1", "hi").await;
    assert!(r.wait_text(OPERATOR, "1,912.40").await);
    let answered = r.wa.messages_to(OPERATOR).len();
    assert_eq!(r.fire_digest(1).await, "succeeded");
    let posted = r.wa.messages_to(OPERATOR);
    assert_eq!(posted.len(), answered + 1);
    assert_eq!(posted[answered]["type"], "text");
    assert_eq!(
        posted[answered]["text"]["body"],
        "*Morning digest*\n\nYesterday: *$1,912.40* net."
    );

    // Thirty hours on, the operator has not written again: the approved template.
    r.clock.advance(Duration::from_secs(30 * 3600));
    assert_eq!(r.fire_digest(2).await, "succeeded");
    let template = r.wa.messages_to(OPERATOR).pop().unwrap();
    assert_eq!(template["type"], "template");
    assert_eq!(template["template"]["name"], "morning_digest");
    assert_eq!(template["template"]["language"]["code"], "en_US");
    assert_eq!(
        template["template"]["components"][0]["parameters"][0]["text"],
        "*Morning digest* Yesterday: *$1,912.40* net.",
        "one line, as a template parameter must be"
    );
    r.stop().await;
}

#[tokio::test]
async fn without_a_template_a_post_outside_the_window_is_recorded_not_delivered() {
    let r = running_with("", digest_to(VIEWER)).await;
    r.model
        .respond_with(|_| Reply::text("Yesterday: $1,912.40 net."));
    assert_eq!(
        r.fire_digest(1).await,
        "not delivered: outside WhatsApp's 24-hour window"
    );
    assert!(
        r.wa.messages().is_empty(),
        "nothing WhatsApp would refuse is sent"
    );
    r.stop().await;
}

#[tokio::test]
async fn statuses_are_recorded_as_each_message_s_delivery_state() {
    let r = running("").await;
    r.model.push(Reply::Text("an answer".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(r.wait_text(OPERATOR, "an answer").await);
    let id = r.wa.messages_to(OPERATOR)[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let state = |id: String| {
        let store = r.store.clone();
        async move { store.state(&format!("whatsapp.status.{id}")).await.unwrap() }
    };
    for status in ["sent", "delivered", "read", "delivered"] {
        r.deliver(wa_status(&id, OPERATOR, status, None)).await;
    }
    assert_eq!(
        state(id.clone()).await.as_deref(),
        Some("read"),
        "a late status never goes back"
    );
    r.deliver(wa_status(
        "wamid.OTHER",
        OPERATOR,
        "failed",
        Some((131026, "Message undeliverable")),
    ))
    .await;
    assert_eq!(
        state("wamid.OTHER".into()).await.as_deref(),
        Some("failed: Message undeliverable (code 131026)")
    );
    let forged = wa_status("wamid.FORGED", OPERATOR, "read", None);
    assert_eq!(r.post(&forged, Some("sha256=00")).await.status(), 401);
    assert_eq!(state("wamid.FORGED".into()).await, None);
    r.stop().await;
}

#[tokio::test]
async fn rate_limits_are_waited_out_and_the_answer_sent_once() {
    let r = running("").await;
    r.wa.fail_next(WaFailure::TooMany(1));
    r.wa.fail_next(WaFailure::PairRate);
    r.wa.fail_next(WaFailure::Throughput);
    r.model.push(Reply::Text("after the wait".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(
        r.wa.wait_text(OPERATOR, "after the wait", Duration::from_secs(20))
            .await
    );
    assert_eq!(
        r.wa.message_attempts(),
        4,
        "three refusals, then the answer"
    );
    assert_eq!(r.wa.texts_to(OPERATOR), ["after the wait"]);
    r.stop().await;
}

#[tokio::test]
async fn files_go_through_the_media_endpoint() {
    let r = running("").await;
    r.model.push(Reply::Text("ok".into()));
    r.say(OPERATOR, "wamid.Q1", "hi").await;
    assert!(r.wait_text(OPERATOR, "ok").await);
    let png = Attachment {
        name: "net.png".into(),
        mime: "image/png",
        kind: AttachmentKind::Image,
        bytes: vec![0x89, b'P', b'N', b'G'],
    };
    let csv = Attachment {
        name: "fans.csv".into(),
        mime: "text/csv",
        kind: AttachmentKind::Document,
        bytes: b"fan,spent\nJake,12\n".to_vec(),
    };
    r.delivery()
        .deliver(OPERATOR, "Your chart", &[png, csv], 0)
        .await
        .unwrap();
    let uploads: Vec<_> =
        r.wa.calls()
            .into_iter()
            .filter(|c| c.endpoint == "media")
            .collect();
    assert_eq!(uploads.len(), 2);
    let raw = uploads[1].body["raw"].as_str().unwrap();
    assert!(
        raw.contains("fans.csv") && raw.contains("Jake,12") && raw.contains("whatsapp"),
        "{raw}"
    );
    assert_eq!(
        r.wa.texts_to(OPERATOR)[1..],
        ["Your chart", "[image]", "[document fans.csv]"]
    );
    let image = &r.wa.messages_to(OPERATOR)[2];
    assert!(image["image"]["id"].as_str().unwrap().starts_with("media-"));

    let nobody = r
        .delivery()
        .deliver("+44 7700", "x", &[], 0)
        .await
        .unwrap_err();
    assert!(
        nobody.message.contains("not a WhatsApp number"),
        "{nobody:?}"
    );
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

#[tokio::test]
async fn replicas_sharing_a_database_answer_a_message_once() {
    let (wa, model, api) = (
        FakeWhatsApp::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&wa, &model, &api, &db, "", "");
    let shutdown = CancellationToken::new();
    let (mut bases, mut servers) = (Vec::new(), Vec::new());
    for n in 0..2 {
        let (app, _) =
            crate::helpers::build_app(&format!("replica{n}.toml"), text.clone(), false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        servers.push(tokio::spawn(app.serve(listener, shutdown.clone())));
    }
    model.push(Reply::Text("answered by one".into()));
    let now = chrono::Utc::now().timestamp();
    let body = text_message(OPERATOR, "Kerry", "wamid.R1", now, "which replica?").to_string();
    for base in &bases {
        let answer = reqwest::Client::new()
            .post(format!("{base}{HOOK}"))
            .header(
                "X-Hub-Signature-256",
                wa_signature(WHATSAPP_APP_SECRET, &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert!(wa.wait_text(OPERATOR, "answered by one", WAIT).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(model.request_count(), 1);
    assert_eq!(wa.texts_to(OPERATOR).len(), 1);
    shutdown.cancel();
    for server in servers {
        server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_message_a_killed_process_claimed_is_answered_by_the_next() {
    let (wa, model, api) = (
        FakeWhatsApp::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&wa, &model, &api, &db, "", "");
    let (app, clock) = crate::helpers::build_app("next.toml", text, false).await;
    // What a process killed (kill -9) mid-turn leaves: a claim whose lease ran out.
    let now = clock.now();
    let claim = fanops::store::InboundClaim {
        source: "whatsapp.message".into(),
        id: "wamid.K1".into(),
        payload: json!({"kind": "message", "id": "wamid.K1", "from": OPERATOR, "name": "Kerry", "text": "still there?"}).to_string(),
        owner: "a-killed-process".into(),
        claimed_at: now - chrono::Duration::minutes(2),
        lease_until: now - chrono::Duration::minutes(1),
        attempts: 1,
        placeholder: None,
    };
    assert!(app.store.claim_inbound(&claim).await.unwrap());
    model.push(Reply::Text("yes, answered after the restart".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    assert!(
        wa.wait_text(OPERATOR, "answered after the restart", WAIT)
            .await
    );
    assert_eq!(
        model.requests()[0]["messages"][1]["content"],
        "still there?"
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_second_number_is_an_account_with_its_own_route_and_people() {
    const SALES: &str = "447700900050";
    let account = format!(
        "[channels.whatsapp.accounts.sales]\ntoken_env = \"WHATSAPP_SALES_TOKEN\"\nphone_number_id = \"{WA_SECOND_NUMBER_ID}\"\npermitted_numbers = [\"{SALES}\"]\n"
    );
    let r = running_with("", move |_| account.clone()).await;
    let to_sales = |id: &str, text: &str| {
        for_number(
            text_message(SALES, "Sam", id, r.now(), text),
            WA_SECOND_NUMBER_ID,
        )
    };
    // At the account's own route.
    r.model.push(Reply::Text("sales answer one".into()));
    let body = to_sales("wamid.S1", "first").to_string();
    let answer = reqwest::Client::new()
        .post(format!("{}/whatsapp/sales/webhook", r.base))
        .header(
            "X-Hub-Signature-256",
            wa_signature(WHATSAPP_APP_SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(r.wait_text(SALES, "sales answer one").await);
    // Meta posts every number of one app to the app's one URL: handed to the account.
    r.model.push(Reply::Text("sales answer two".into()));
    r.deliver(to_sales("wamid.S2", "second")).await;
    assert!(r.wait_text(SALES, "sales answer two").await);
    let sent = r.wa.messages_to(SALES);
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|m| m["from_number"] == WA_SECOND_NUMBER_ID),
        "{sent:?}"
    );
    // The account's people are its own: on the top-level number Sam is a stranger.
    r.deliver(text_message(SALES, "Sam", "wamid.S3", r.now(), "hi"))
        .await;
    assert!(r.wait_text(SALES, "not allowed").await);
    assert_eq!(
        r.wa.messages_to(SALES)[2]["from_number"],
        WA_PHONE_NUMBER_ID
    );
    assert_eq!(r.model.request_count(), 2);
    let ready: Value = reqwest::get(format!("{}/readyz", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["channels"]["whatsapp:sales"]["ok"], true, "{ready}");
    r.stop().await;
}

#[tokio::test]
async fn a_turn_in_flight_at_shutdown_is_finished_and_nothing_new_is_taken() {
    let r = running("").await;
    r.model.set_delay(Duration::from_millis(800));
    r.model.push(Reply::Text("finished while stopping".into()));
    r.say(OPERATOR, "wamid.T1", "slow question").await;
    let until = tokio::time::Instant::now() + WAIT;
    while r.model.request_count() == 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.model.request_count(), 1, "the turn is in flight");
    r.shutdown.cancel();
    // While stopping, Meta is asked to deliver again later (here or to another replica).
    let late = text_message(VIEWER, "Vi", "wamid.T2", r.now(), "too late");
    match reqwest::Client::new()
        .post(format!("{}{HOOK}", r.base))
        .header(
            "X-Hub-Signature-256",
            wa_signature(WHATSAPP_APP_SECRET, &late.to_string()),
        )
        .body(late.to_string())
        .send()
        .await
    {
        Ok(answer) => assert_eq!(answer.status(), 503),
        Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
    }
    r.server.await.unwrap().unwrap();
    assert_eq!(r.wa.texts_to(OPERATOR), ["finished while stopping"]);
    assert!(r.wa.messages_to(VIEWER).is_empty());
    assert_eq!(r.model.request_count(), 1);
}

#[tokio::test]
async fn a_token_graph_refuses_is_said_on_readyz_and_messages_are_left_with_meta() {
    let r = running("token_env = \"WHATSAPP_REVOKED_TOKEN\"").await;
    let until = tokio::time::Instant::now() + WAIT;
    let entry = loop {
        let ready: Value = reqwest::get(format!("{}/readyz", r.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = ready["channels"]["whatsapp"].clone();
        if entry["ok"] == false || tokio::time::Instant::now() >= until {
            break entry;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry["ok"], false, "{entry}");
    let detail = entry["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("refused the access token in `WHATSAPP_REVOKED_TOKEN`"),
        "{entry}"
    );
    assert!(
        !detail.contains("revoked-token"),
        "the token itself is never shown: {entry}"
    );
    let body = text_message(OPERATOR, "Kerry", "wamid.V1", r.now(), "hello?");
    assert_eq!(
        r.post(&body, None).await.status(),
        503,
        "Meta keeps it and delivers it again"
    );
    assert_eq!(r.model.request_count(), 0);
    assert!(r.wa.messages().is_empty());
    r.stop().await;
}
