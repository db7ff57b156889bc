//! The Telegram channel end to end: the real `fanops run` wiring against a fake Bot API,
//! the fake model and the fake OnlyFansAPI.

use crate::support::{FakeModel, FakeOnlyFans, FakeTelegram, Reply, TgFailure};
use fanops::clock::Clock;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(10);
const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";

struct Running {
    tg: FakeTelegram,
    model: FakeModel,
    api: FakeOnlyFans,
    base: String,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: tempfile::TempDir,
    clock: Clock,
}

async fn start(
    tg: FakeTelegram,
    model: FakeModel,
    api: FakeOnlyFans,
    dir: tempfile::TempDir,
    extra: &str,
) -> Running {
    crate::helpers::quiet_logs();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let telegram =
        format!("poll_timeout = 1\nroles = {{ \"2\" = \"viewer\", \"3\" = \"admin\" }}\n{extra}");
    let text = crate::helpers::telegram_config(&tg, &model, &api, &db, &telegram, "");
    let served = crate::helpers::serve_text("tg.toml", text).await;
    let (clock, base, shutdown, server) =
        (served.clock, served.base, served.shutdown, served.server);
    Running {
        tg,
        model,
        api,
        base,
        shutdown,
        server,
        dir,
        clock,
    }
}

async fn running(extra: &str) -> Running {
    let (tg, model, api) = (
        FakeTelegram::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    start(tg, model, api, tempfile::tempdir().unwrap(), extra).await
}

impl Running {
    async fn wait_text(&self, chat: i64, needle: &str) -> bool {
        let tg = self.tg.clone();
        let needle = needle.to_string();
        let found = self
            .tg
            .wait_for(
                move |_| tg.sent_texts(chat).iter().any(|t| t.contains(&needle)),
                WAIT,
            )
            .await;
        found
    }

    async fn stop(self) -> (FakeTelegram, FakeModel, FakeOnlyFans, tempfile::TempDir) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
        (self.tg, self.model, self.api, self.dir)
    }
}

fn sends_to(tg: &FakeTelegram, chat: i64) -> Vec<Value> {
    tg.calls_of("sendmessage")
        .into_iter()
        .filter(|c| {
            c.body["chat_id"] == json!(chat) || c.body["chat_id"] == json!(chat.to_string())
        })
        .map(|c| c.body)
        .collect()
}

#[tokio::test]
async fn a_stranger_gets_their_id_once_and_nothing_else_happens() {
    let r = running("").await;
    r.tg.push_text(4242, 4242, "How much did we earn?");
    assert!(
        r.wait_text(4242, "4242").await,
        "the stranger is told their id"
    );
    assert!(r.tg.sent_texts(4242)[0].contains("not allowed"));
    r.tg.push_text(4242, 4242, "please?");
    r.tg.push_text(4242, 4242, "/whoami");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        sends_to(&r.tg, 4242).len(),
        1,
        "not answered more than once a minute"
    );
    assert_eq!(r.model.request_count(), 0, "no model call");
    assert!(r.api.requests().is_empty(), "no API call");
    r.stop().await;
}

#[tokio::test]
async fn a_permitted_user_gets_on_it_then_the_answer_edited_in() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("This week: **$1,912.40** net for <Luna & co>".into()),
    ]);
    r.tg.push_text(1, 1, "How much did we earn this week?");
    assert!(r.wait_text(1, "1,912.40").await, "{:?}", r.tg.sent_texts(1));
    assert!(
        !r.tg.calls_of("sendchataction").is_empty(),
        "a typing action"
    );
    let sent = sends_to(&r.tg, 1);
    assert_eq!(sent.len(), 1, "one message: the placeholder, later edited");
    assert_eq!(sent[0]["text"], "On it…");
    let edit = r.tg.calls_of("editmessagetext").pop().unwrap().body;
    assert_eq!(edit["parse_mode"], "HTML");
    assert_eq!(
        edit["text"],
        "This week: <b>$1,912.40</b> net for &lt;Luna &amp; co&gt;"
    );
    assert_eq!(
        r.api.count(
            "GET",
            "/api/acct_8f3k2j1h0g9f8e7d/statistics/statements/earnings"
        ),
        1
    );
    let ready: Value = reqwest::get(format!("{}/readyz", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["channels"]["telegram"]["ok"], true, "{ready}");
    r.stop().await;
}

fn send_call() -> Reply {
    Reply::ToolCalls(vec![(
        "call_endpoint".into(),
        json!({"endpoint": "chat-messages/send-message", "account": "acct_8f3k2j1h0g9f8e7d", "params": {"chat_id": 99120455, "text": "Thanks Jake!"}}),
    )])
}

/// Asks for a write; returns (prompt message id, action id).
async fn prompt(r: &Running, chat: i64) -> (i64, String) {
    r.model.push(send_call());
    r.tg.push_text(1, chat, "Thank Jake");
    assert!(
        r.wait_text(chat, "Should I go ahead?").await,
        "{:?}",
        r.tg.sent_texts(chat)
    );
    let call =
        r.tg.calls()
            .into_iter()
            .rev()
            .find(|c| c.body["reply_markup"]["inline_keyboard"].is_array())
            .expect("a message with buttons");
    let buttons = &call.body["reply_markup"]["inline_keyboard"][0];
    let data = buttons[0]["callback_data"].as_str().unwrap().to_string();
    assert!(data.starts_with("fo:c:"));
    assert_eq!(buttons[1]["callback_data"], format!("fo:x:{}", &data[5..]));
    // The prompt is the "On it…" placeholder edited into the question.
    let message_id = call.body["message_id"]
        .as_i64()
        .expect("an edit of the placeholder");
    (message_id, data[5..].to_string())
}

#[tokio::test]
async fn buttons_confirm_once_and_refuse_everyone_else() {
    let r = running("").await;
    let (prompt_id, action) = prompt(&r, 1).await;
    assert_eq!(r.api.count("POST", SEND), 0);

    // A viewer, a forged button, then the operator twice.
    r.tg.push_callback(2, 1, prompt_id, &format!("fo:c:{action}"));
    r.tg.push_callback(1, 1, prompt_id, "fo:c:forged");
    r.tg.push_callback(1, 1, prompt_id, "something else");
    r.model.push(Reply::Text("Sent.".into()));
    r.tg.push_callback(1, 1, prompt_id, &format!("fo:c:{action}"));
    assert!(r.wait_text(1, "Sent.").await, "{:?}", r.tg.sent_texts(1));
    r.tg.push_callback(1, 1, prompt_id, &format!("fo:c:{action}"));
    let tg = r.tg.clone();
    assert!(
        r.tg.wait_for(move |_| tg.calls_of("answercallbackquery").len() >= 5, WAIT)
            .await
    );

    let answers: Vec<String> =
        r.tg.calls_of("answercallbackquery")
            .iter()
            .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
            .collect();
    assert!(answers.iter().any(|a| a.contains("viewer")), "{answers:?}");
    assert!(
        answers
            .iter()
            .any(|a| a.contains("don't know that request")),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.contains("not one of mine")),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.contains("Confirmed")),
        "{answers:?}"
    );
    assert!(
        answers.iter().any(|a| a.contains("already confirmed")),
        "{answers:?}"
    );
    assert_eq!(r.api.count("POST", SEND), 1, "the write ran exactly once");
    assert!(
        r.tg.sent_texts(1)
            .iter()
            .any(|t| t.contains("Confirmed by User1")),
        "the prompt shows who decided: {:?}",
        r.tg.sent_texts(1)
    );
    r.stop().await;
}

#[tokio::test]
async fn cancel_and_plain_no_send_nothing() {
    let r = running("").await;
    let (prompt_id, action) = prompt(&r, 1).await;
    r.tg.push_callback(1, 1, prompt_id, &format!("fo:x:{action}"));
    assert!(
        r.wait_text(1, "Cancelled by User1").await,
        "{:?}",
        r.tg.sent_texts(1)
    );
    prompt(&r, 1).await;
    r.tg.push_text(1, 1, "no");
    assert!(r.wait_text(1, "Nothing was changed").await);
    assert_eq!(r.api.count("POST", SEND), 0);
    r.stop().await;
}

#[tokio::test]
async fn a_press_after_expiry_changes_nothing_and_says_so() {
    let r = running("").await;
    let (prompt_id, action) = prompt(&r, 1).await;
    r.clock.advance(Duration::from_secs(11 * 60));
    r.tg.push_callback(1, 1, prompt_id, &format!("fo:c:{action}"));
    let tg = r.tg.clone();
    assert!(
        r.tg.wait_for(
            move |_| !tg.calls_of("answercallbackquery").is_empty(),
            WAIT
        )
        .await
    );
    let answer = r.tg.calls_of("answercallbackquery").pop().unwrap().body;
    assert!(
        answer["text"].as_str().unwrap().contains("expired"),
        "{answer}"
    );
    assert_eq!(r.api.count("POST", SEND), 0);
    r.stop().await;
}

#[tokio::test]
async fn start_clears_history_and_introduces_the_bot_once() {
    let r = running("").await;
    r.model.push(Reply::Text("first answer".into()));
    r.tg.push_text(1, 1, "first question");
    assert!(r.wait_text(1, "first answer").await);
    r.tg.push_text(1, 1, "/start");
    assert!(r.wait_text(1, "your agency assistant").await);
    r.model.push(Reply::Text("second answer".into()));
    r.tg.push_text(1, 1, "second question");
    assert!(r.wait_text(1, "second answer").await);
    let last = r.model.requests().pop().unwrap();
    let messages = last["messages"].as_array().unwrap();
    // The system prompt, the question and the time: no earlier turns.
    assert_eq!(messages.len(), 3, "no earlier turns: {messages:?}");
    r.tg.push_text(1, 1, "/start");
    assert!(
        r.wait_text(1, "Fresh start").await,
        "no second introduction"
    );
    r.stop().await;
}

#[tokio::test]
async fn groups_answer_only_when_mentioned_or_replied_to() {
    let r = running("").await;
    r.tg.push_text(1, -100, "chatter between people");
    r.model.push(Reply::Text("group answer".into()));
    r.tg.push_mention(1, -100, " how are we doing?");
    assert!(r.wait_text(-100, "group answer").await);
    assert_eq!(
        r.model.request_count(),
        1,
        "only the mention reached the model"
    );
    let asked = r.model.requests()[0]["messages"][1]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(asked, "how are we doing?");
    r.model.push(Reply::Text("reply answer".into()));
    r.tg.push_reply_to_bot(1, -100, "and yesterday?", 1000);
    assert!(r.wait_text(-100, "reply answer").await);
    // A stranger mentioning the bot in the group is not served.
    r.tg.push_mention(77, -100, " hi");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(r.model.request_count(), 2);
    r.stop().await;
}

#[tokio::test]
async fn a_429_storm_delivers_each_message_exactly_once() {
    let r = running("").await;
    r.tg.fail_next(
        "sendmessage",
        vec![
            TgFailure::RetryAfter(1),
            TgFailure::RetryAfter(1),
            TgFailure::RetryAfter(1),
        ],
    );
    r.model.push(Reply::Text("storm answer".into()));
    r.tg.push_text(1, 1, "hello");
    assert!(r.wait_text(1, "storm answer").await);
    let delivered =
        r.tg.sent_texts(1)
            .iter()
            .filter(|t| t.contains("storm answer"))
            .count();
    assert_eq!(delivered, 1);
    assert_eq!(
        r.tg.calls_of("sendmessage").len(),
        4,
        "three 429s waited out, then one delivery"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_from_the_stored_offset_without_answering_again() {
    let r = running("").await;
    r.model.push(Reply::Text("answered once".into()));
    r.tg.push_text(1, 1, "question before restart");
    assert!(r.wait_text(1, "answered once").await);
    let (tg, model, api, dir) = r.stop().await;
    let r = start(tg, model, api, dir, "").await;
    let tg = r.tg.clone();
    let before = tg.get_updates_count();
    assert!(
        r.tg.wait_for(move |_| tg.get_updates_count() > before + 1, WAIT)
            .await
    );
    assert!(
        r.tg.last_offset().unwrap_or(0) > 0,
        "polling resumed from the stored offset"
    );
    assert_eq!(
        r.model.request_count(),
        1,
        "the old update was not answered again"
    );
    assert_eq!(
        r.tg.sent_texts(1)
            .iter()
            .filter(|t| t.contains("answered once"))
            .count(),
        1
    );
    r.stop().await;
}

#[tokio::test]
async fn webhook_mode_checks_the_secret_and_answers_each_update_once() {
    let r =
        running("mode = \"webhook\"\nwebhook_url = \"https://bot.example.com/telegram/webhook\"\n")
            .await;
    let tg = r.tg.clone();
    assert!(
        r.tg.wait_for(move |_| !tg.calls_of("setwebhook").is_empty(), WAIT)
            .await
    );
    let registered = r.tg.calls_of("setwebhook").pop().unwrap().body;
    assert_eq!(registered["secret_token"], "hook-secret");
    let update = json!({"update_id": 77, "message": {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private", "first_name": "User1"}, "from": {"id": 1, "is_bot": false, "first_name": "User1"}, "text": "hi via webhook"}});
    let http = reqwest::Client::new();
    let url = format!("{}/telegram/webhook", r.base);
    let wrong = http
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "nope")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let garbage = http
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "hook-secret")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 400);
    r.model.push(Reply::Text("webhook answer".into()));
    for _ in 0..2 {
        let ok = http
            .post(&url)
            .header("X-Telegram-Bot-Api-Secret-Token", "hook-secret")
            .json(&update)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), 200);
    }
    assert!(r.wait_text(1, "webhook answer").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.model.request_count(),
        1,
        "a redelivered update is answered once"
    );
    assert!(
        r.tg.calls_of("getupdates").is_empty(),
        "no polling in webhook mode"
    );
    r.stop().await;
}

#[tokio::test]
async fn files_are_sent_as_documents() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "make_csv".into(),
            json!({"filename": "top fans", "columns": ["fan", "spent"], "rows": [["Jake <3", 1210.5], ["Marco", 655]]}),
        )]),
        Reply::Text("Here is the export.".into()),
    ]);
    r.tg.push_text(1, 1, "export my top fans");
    let tg = r.tg.clone();
    assert!(
        r.tg.wait_for(move |_| !tg.calls_of("senddocument").is_empty(), WAIT)
            .await
    );
    let sent = r.tg.calls_of("senddocument").pop().unwrap().body;
    assert_eq!(sent["_file"]["filename"], "top_fans.csv", "{sent}");
    assert_eq!(
        sent["_file"]["bytes"],
        "fan,spent\nJake <3,1210.5\nMarco,655\n".len()
    );
    assert!(r
        .tg
        .sent_texts(1)
        .iter()
        .any(|t| t.contains("Here is the export.")));
    r.stop().await;
}

#[tokio::test]
async fn charts_are_sent_as_photos() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "make_chart".into(),
            json!({"title": "Net by creator", "labels": ["Luna", "Mia"], "series": [{"name": "net", "values": [1912.4, 0]}]}),
        )]),
        Reply::Text("Chart attached.".into()),
    ]);
    r.tg.push_text(1, 1, "chart my earnings");
    let tg = r.tg.clone();
    assert!(
        r.tg.wait_for(move |_| !tg.calls_of("sendphoto").is_empty(), WAIT)
            .await
    );
    let photo = r.tg.calls_of("sendphoto").pop().unwrap().body;
    assert_eq!(photo["_file"]["filename"], "chart.png", "{photo}");
    assert!(photo["_file"]["bytes"].as_u64().unwrap() > 5_000);
    r.stop().await;
}

#[tokio::test]
async fn a_telegram_outage_makes_polling_back_off_and_resume() {
    let r = running("").await;
    // teloxide itself pauses 10 s after a 5xx; fanops then backs off and polls again.
    r.tg.fail_next("getupdates", vec![TgFailure::Status(502)]);
    r.model.push(Reply::Text("back again".into()));
    r.tg.push_text(1, 1, "are you there?");
    let tg = r.tg.clone();
    let answered =
        r.tg.wait_for(
            move |_| tg.sent_texts(1).iter().any(|t| t.contains("back again")),
            Duration::from_secs(30),
        )
        .await;
    assert!(answered);
    assert!(
        r.tg.get_updates_count() >= 2,
        "polling resumed after the failure"
    );
    assert_eq!(r.model.request_count(), 1, "answered once after the outage");
    r.stop().await;
}
