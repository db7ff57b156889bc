//! The team from chat on Telegram (DESIGN §12.2): a stranger's first message asks each
//! admin, with a button per role; a press lets them in at once, on every process of the
//! store; `/team` shows it; a flood of strangers stays a trickle for the admins.

use crate::helpers::{send_to, serve_text, telegram_config, Served};
use crate::support::{FakeModel, FakeOnlyFans, FakeTelegram, Reply};
use fanops::core::InboundBody;
use fanops::store::SharedStore;
use serde_json::Value;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// User 3 is the admin, 2 a viewer, 1 an operator; 4242 is not on the team.
const PEOPLE: &str = "poll_timeout = 1\nroles = { \"2\" = \"viewer\", \"3\" = \"admin\" }\n";
const ADMIN: i64 = 3;
const STRANGER: i64 = 4242;

struct Bot {
    tg: FakeTelegram,
    model: FakeModel,
    api: FakeOnlyFans,
    text: String,
    served: Served,
}

impl Bot {
    async fn start(db: &str) -> Bot {
        Bot::start_with(db, "").await
    }

    /// With `extra` tables after the `[channels.telegram]` one.
    async fn start_with(db: &str, extra: &str) -> Bot {
        let (tg, model, api) = (
            FakeTelegram::start().await,
            FakeModel::start().await,
            FakeOnlyFans::start().await,
        );
        let extra = format!("[server]\ndashboard = true\n\n{extra}");
        let text = telegram_config(&tg, &model, &api, db, PEOPLE, &extra);
        let served = serve_text("team.toml", text.clone()).await;
        Bot {
            tg,
            model,
            api,
            text,
            served,
        }
    }

    /// The same config served again (a restart): same fakes, same store.
    async fn restart(self) -> Bot {
        self.served.shutdown.cancel();
        self.served.server.await.unwrap().unwrap();
        let served = serve_text("team.toml", self.text.clone()).await;
        Bot { served, ..self }
    }

    async fn stop(self) {
        self.served.shutdown.cancel();
        self.served.server.await.unwrap().unwrap();
    }

    async fn wait_text(&self, chat: i64, needle: &str) -> bool {
        let (tg, needle) = (self.tg.clone(), needle.to_string());
        self.tg
            .wait_for(
                move |_| tg.sent_texts(chat).iter().any(|t| t.contains(&needle)),
                WAIT,
            )
            .await
    }

    /// The buttons of the access request the admin got: (label, callback data).
    fn request_buttons(&self) -> Vec<(String, String)> {
        self.buttons_in(ADMIN)
    }

    fn buttons_in(&self, chat: i64) -> Vec<(String, String)> {
        let call = self
            .tg
            .calls_of("sendmessage")
            .into_iter()
            .find(|c| c.body["chat_id"] == chat && c.body["reply_markup"].is_object())
            .expect("the admin got a message with buttons");
        let rows = call.body["reply_markup"]["inline_keyboard"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b: Value| {
                (
                    b["text"].as_str().unwrap_or("").to_string(),
                    b["callback_data"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    fn data_of(&self, word: &str) -> String {
        self.request_buttons()
            .into_iter()
            .find(|(label, _)| label.contains(word))
            .map(|(_, data)| data)
            .unwrap_or_else(|| panic!("a `{word}` button: {:?}", self.request_buttons()))
    }

    /// What the bot answered to the presses, in order.
    fn press_answers(&self) -> Vec<String> {
        self.tg
            .calls_of("answercallbackquery")
            .iter()
            .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
            .collect()
    }

    async fn wait_answers(&self, count: usize) {
        let tg = self.tg.clone();
        let answered = self
            .tg
            .wait_for(
                move |_| tg.calls_of("answercallbackquery").len() >= count,
                WAIT,
            )
            .await;
        assert!(
            answered,
            "{count} presses answered: {:?}",
            self.press_answers()
        );
    }

    /// The stranger's request reached the admin; returns the notice's message id.
    async fn stranger_asks(&self) -> i64 {
        self.tg
            .push_text(STRANGER, STRANGER, "How much did we earn?");
        assert!(self.wait_text(STRANGER, "4242").await, "told their id");
        assert!(
            self.wait_text(STRANGER, "your request is with the admins")
                .await,
            "told the admins have it: {:?}",
            self.tg.sent_texts(STRANGER)
        );
        assert!(
            self.wait_text(ADMIN, "Access request").await,
            "the admin is asked: {:?}",
            self.tg.sent_texts(ADMIN)
        );
        self.tg
            .message_id(ADMIN, "Access request")
            .expect("the notice")
    }
}

fn sqlite(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("fanops.db").display())
}

async fn store_of(db: &str) -> SharedStore {
    let store = fanops::store::connect(db).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn an_admins_press_lets_a_stranger_in_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&sqlite(&dir)).await;
    let notice = bot.stranger_asks().await;
    let text = bot.tg.sent_texts(ADMIN).join("\n");
    for part in ["User4242", "@user4242", "4242", "Telegram", "private chat"] {
        assert!(text.contains(part), "the notice names `{part}`: {text}");
    }
    let labels: Vec<String> = bot.request_buttons().into_iter().map(|b| b.0).collect();
    for word in ["viewer", "operator", "admin", "Ignore"] {
        assert!(
            labels.iter().any(|l| l.contains(word)),
            "a `{word}` button: {labels:?}"
        );
    }
    assert_eq!(bot.model.request_count(), 0, "no model call");
    assert!(bot.api.requests().is_empty(), "no API call");

    // The viewer presses the admin's button (as if it were forwarded): nothing changes.
    let viewer = bot.data_of("viewer");
    bot.tg.push_callback(2, 2, notice, &viewer);
    bot.wait_answers(1).await;
    assert!(
        bot.press_answers()[0].contains("Only an admin"),
        "{:?}",
        bot.press_answers()
    );
    bot.tg.push_text(STRANGER, STRANGER, "still me");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(bot.model.request_count(), 0, "the stranger is still out");

    bot.tg.push_callback(ADMIN, ADMIN, notice, &viewer);
    assert!(
        bot.wait_text(STRANGER, "You're in").await,
        "the person is told"
    );
    assert!(
        bot.wait_text(ADMIN, "Allowed as viewer").await,
        "the notice says who decided: {:?}",
        bot.tg.sent_texts(ADMIN)
    );
    assert!(bot.tg.sent_texts(ADMIN).join("\n").contains("User3"));
    bot.tg
        .push_callback(ADMIN, ADMIN, notice, &bot.data_of("admin"));
    bot.wait_answers(3).await;
    assert!(
        bot.press_answers()[2].contains("Already decided"),
        "{:?}",
        bot.press_answers()
    );

    bot.model.push(Reply::Text("Welcome aboard.".into()));
    bot.tg
        .push_text(STRANGER, STRANGER, "How much did we earn?");
    assert!(bot.wait_text(STRANGER, "Welcome aboard.").await);

    // A restart keeps the grant (it is in the store, not in the file).
    let bot = bot.restart().await;
    bot.model.push(Reply::Text("Still here.".into()));
    bot.tg.push_text(STRANGER, STRANGER, "and now?");
    assert!(bot.wait_text(STRANGER, "Still here.").await);
    bot.tg.push_text(1, 1, "/team");
    assert!(bot.wait_text(1, "(from fanops.toml)").await);
    let team = bot.tg.sent_texts(1).join("\n");
    assert!(team.contains("4242"), "{team}");
    assert!(team.contains("viewer, let in by User3"), "{team}");

    let audit = store_of(&sqlite(&dir))
        .await
        .recent_audit(10)
        .await
        .unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "team.grant" && e.actor.contains("User3")),
        "{audit:?}"
    );
    // The operations page's audit list says who let whom in.
    let page = reqwest::Client::new()
        .get(format!("{}/", bot.served.base))
        .bearer_auth(crate::helpers::DASHBOARD_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("let User4242 (@user4242) (4242) use telegram as viewer"),
        "{page}"
    );
    bot.stop().await;
}

#[tokio::test]
async fn ignore_is_remembered_for_thirty_days() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&sqlite(&dir)).await;
    let notice = bot.stranger_asks().await;
    bot.tg
        .push_callback(ADMIN, ADMIN, notice, &bot.data_of("Ignore"));
    assert!(bot.wait_text(ADMIN, "Ignored").await);
    // Two days later they write again: told their id, no new request.
    bot.served
        .clock
        .advance(chrono::Duration::days(2).to_std().unwrap());
    let before = bot.tg.calls_of("sendmessage").len();
    bot.tg.push_text(STRANGER, STRANGER, "hello again");
    let probe = bot.tg.clone();
    let answered = bot
        .tg
        .wait_for(move |_| probe.sent_texts(STRANGER).len() >= 2, WAIT)
        .await;
    assert!(answered, "told their id again");
    assert!(bot.wait_text(STRANGER, "not allowed").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to_admin = bot
        .tg
        .calls_of("sendmessage")
        .into_iter()
        .skip(before)
        .filter(|c| c.body["chat_id"] == ADMIN)
        .count();
    assert_eq!(to_admin, 0, "no new request while ignored");
    let told = bot.tg.sent_texts(STRANGER);
    assert!(
        !told.last().unwrap().contains("with the admins"),
        "an ignored person is not told an admin has their request: {told:?}"
    );
    assert!(!bot
        .tg
        .sent_texts(STRANGER)
        .iter()
        .any(|t| t.contains("You're in")));
    bot.stop().await;
}

#[tokio::test]
async fn fifty_strangers_in_a_minute_make_fifty_requests_and_few_notices() {
    let dir = tempfile::tempdir().unwrap();
    let bot = Bot::start(&sqlite(&dir)).await;
    // Notices are counted per clock hour: start well inside one.
    use chrono::Timelike;
    if chrono::Utc::now().minute() >= 58 {
        bot.served.clock.advance(Duration::from_secs(300));
    }
    for user in 10_000..10_050 {
        bot.tg.push_text(user, user, "hi");
        bot.tg.push_text(user, user, "hello?");
    }
    let tg = bot.tg.clone();
    let answered = bot
        .tg
        .wait_for(
            move |_| (10_000..10_050).all(|u| !tg.sent_texts(u).is_empty()),
            Duration::from_secs(30),
        )
        .await;
    assert!(answered, "every stranger is told their id");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let store = store_of(&sqlite(&dir)).await;
    let since = chrono::Utc::now() - chrono::Duration::hours(2);
    let requests = store
        .access_requests_since("telegram", since)
        .await
        .unwrap();
    assert_eq!(requests.len(), 50, "one request per person");
    let notices = bot.tg.sent_texts(ADMIN);
    assert!(
        notices.len() == 21,
        "the admin gets 20 requests and one summary: {}",
        notices.len()
    );
    assert!(
        notices
            .iter()
            .any(|t| t.contains("stopped sending each request")),
        "{notices:?}"
    );
    assert_eq!(bot.model.request_count(), 0, "no model call");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_holds_in_a_second_process_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    a_grant_holds_in_a_second_process(sqlite(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_grant_holds_in_a_second_process_on_postgres() {
    crate::store::in_fresh_postgres("a grant seen by a second process", |db| {
        a_grant_holds_in_a_second_process(db)
    })
    .await;
}

/// The first process takes the press; a second one on the same store answers the
/// newcomer at once.
async fn a_grant_holds_in_a_second_process(db: String) {
    let bot = Bot::start(&db).await;
    let notice = bot.stranger_asks().await;
    let (second, _) = crate::helpers::build_app("second.toml", bot.text.clone(), true).await;
    // Still a stranger there (and told their id once a minute at most, by either process).
    let refused = send_to(&second, "4242", "4242", InboundBody::Text("hi".into())).await;
    let replies = refused.replies.lock().unwrap().clone();
    assert!(
        replies.iter().all(|r| r.text.contains("not allowed")),
        "{replies:?}"
    );
    assert_eq!(bot.model.request_count(), 0);
    bot.tg
        .push_callback(ADMIN, ADMIN, notice, &bot.data_of("operator"));
    assert!(bot.wait_text(STRANGER, "You're in").await);
    bot.model
        .push(Reply::Text("Answered by the second process.".into()));
    let answered = send_to(&second, "4242", "4242", InboundBody::Text("hi".into())).await;
    assert_eq!(answered.last().text, "Answered by the second process.");
    bot.stop().await;
}

#[tokio::test]
async fn requests_go_to_the_chat_team_requests_to_names() {
    const MANAGERS_GROUP: i64 = -500;
    let dir = tempfile::tempdir().unwrap();
    let extra =
        format!("[team]\nrequests_to = {{ channel = \"telegram\", to = \"{MANAGERS_GROUP}\" }}\n");
    let bot = Bot::start_with(&sqlite(&dir), &extra).await;
    bot.tg.push_text(STRANGER, STRANGER, "hello");
    assert!(bot.wait_text(MANAGERS_GROUP, "Access request").await);
    assert!(
        bot.tg.sent_texts(ADMIN).is_empty(),
        "not in the admin's private chat"
    );
    let notice = bot.tg.message_id(MANAGERS_GROUP, "Access request").unwrap();
    let buttons = bot.buttons_in(MANAGERS_GROUP);
    let data = |word: &str| {
        buttons
            .iter()
            .find(|(label, _)| label.contains(word))
            .map(|(_, data)| data.clone())
            .unwrap()
    };
    // In the group, a viewer's press changes nothing; the admin's lets them in.
    bot.tg
        .push_callback(2, MANAGERS_GROUP, notice, &data("admin"));
    bot.wait_answers(1).await;
    assert!(
        bot.press_answers()[0].contains("Only an admin"),
        "{:?}",
        bot.press_answers()
    );
    bot.tg
        .push_callback(ADMIN, MANAGERS_GROUP, notice, &data("operator"));
    assert!(bot.wait_text(STRANGER, "You're in").await);
    assert!(bot.wait_text(MANAGERS_GROUP, "Allowed as operator").await);
    bot.stop().await;
}
