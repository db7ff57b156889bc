//! Microsoft Teams end to end: the real `fanops run` wiring against a fake Bot Framework
//! (token endpoint, OpenID metadata and JWKS, Bot Connector), the fake model and the fake
//! OnlyFansAPI. Activities are signed with the test keys as the Bot Framework signs them.

use crate::support::{
    send_activity, FakeModel, FakeOnlyFans, FakeTeams, Person, Reply, Signer, TeamsFailure,
    TestKey, TEAMS_APP_ID, TEAMS_OPS_APP_ID,
};
use fanops::clock::Clock;
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub(crate) const WAIT: Duration = Duration::from_secs(10);
pub(crate) const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";

pub(crate) const OPERATOR: Person = Person {
    aad: "0a0a0a0a-0000-4000-8000-000000000001",
    member: "29:1operator",
    name: "Olive Operator",
};
pub(crate) const ADMIN: Person = Person {
    aad: "0a0a0a0a-0000-4000-8000-00000000000a",
    member: "29:1admin",
    name: "Ada Admin",
};
pub(crate) const STRANGER: Person = Person {
    aad: "0a0a0a0a-0000-4000-8000-000000000009",
    member: "29:1stranger",
    name: "Sam <at>Stranger</at>",
};
pub(crate) const OPERATOR_CHAT: &str = "a:1operator-personal";
pub(crate) const ADMIN_CHAT: &str = "a:1admin-personal";
pub(crate) const STRANGER_CHAT: &str = "a:1stranger-personal";
pub(crate) const CHANNEL: &str = "19:general@thread.tacv2";

pub(crate) struct Running {
    pub(crate) teams: FakeTeams,
    pub(crate) model: FakeModel,
    pub(crate) api: FakeOnlyFans,
    pub(crate) url: String,
    pub(crate) base: String,
    pub(crate) clock: Clock,
    pub(crate) text: String,
    pub(crate) shutdown: CancellationToken,
    pub(crate) server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

pub(crate) fn config(
    teams: &FakeTeams,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    extra: &str,
) -> String {
    let table = format!(
        "[channels.teams]\napp_id = \"{TEAMS_APP_ID}\"\nopenid_url = \"{}\"\ntoken_url = \"{}\"\npermitted_users = [\"{}\", \"{}\"]\nroles = {{ \"{}\" = \"admin\" }}\n\n{extra}\n",
        teams.openid_url(),
        teams.token_url(),
        OPERATOR.aad,
        ADMIN.aad,
        ADMIN.aad,
    );
    crate::support::config_text(&model.url(), &api.url(), db, &table)
}

pub(crate) async fn running(extra: &str) -> Running {
    let (teams, model, api) = (
        FakeTeams::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&teams, &model, &api, &db, extra);
    let (app, clock) = crate::helpers::build_app("teams.toml", text.clone(), false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    let r = Running {
        teams,
        model,
        api,
        url: format!("{base}/teams/messages"),
        base,
        clock,
        text,
        shutdown,
        server,
        _dir: dir,
    };
    r.wait_ready().await;
    r
}

impl Running {
    pub(crate) async fn ready(&self) -> Value {
        reqwest::get(format!("{}/readyz", self.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Waits until `/readyz` says the bot has its token and keys.
    pub(crate) async fn wait_ready(&self) {
        let until = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = self.ready().await;
            if ready["channels"]["teams"]["ok"] == true {
                return;
            }
            assert!(tokio::time::Instant::now() < until, "never ready: {ready}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Posts `activity` signed with a good token; fanops must take it.
    pub(crate) async fn send(&self, activity: &Value) {
        let token = Signer::good(&self.teams.service_url());
        let answer = send_activity(&self.url, activity, Some(&token)).await;
        assert_eq!(answer.status(), 200, "{activity}");
    }

    pub(crate) async fn wait_text(&self, conversation: &str, needle: &str) -> bool {
        self.teams.wait_text(conversation, needle, WAIT).await
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

/// The titles and payloads of the Adaptive Card buttons on an activity.
pub(crate) fn card_buttons(attachments: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for attachment in attachments.as_array().into_iter().flatten() {
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        for action in attachment["content"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(action["type"], "Action.Submit");
            let title = action["title"].as_str().unwrap_or_default().to_string();
            let payload = action["data"]["fo"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            found.push((title, payload));
        }
    }
    found
}

#[tokio::test]
async fn tokens_that_are_missing_expired_for_another_app_or_wrongly_signed_are_refused() {
    let r = running("").await;
    let service = r.teams.service_url();
    let activity = r
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "m-1", "How much did we earn?");
    let now = r.clock.now();
    let refused = [
        None,
        Some("not-a-jwt".to_string()),
        // Expired ten minutes ago, beyond the five minutes of skew allowed.
        Some(Signer::token(
            TestKey::A,
            TestKey::A.kid(),
            TEAMS_APP_ID,
            -600,
            &service,
        )),
        // Issued for another bot.
        Some(Signer::token(
            TestKey::A,
            TestKey::A.kid(),
            "11111111-2222-3333-4444-555555555555",
            3600,
            &service,
        )),
        // Signed with key B, claiming to be key A.
        Some(Signer::token(
            TestKey::B,
            TestKey::A.kid(),
            TEAMS_APP_ID,
            3600,
            &service,
        )),
        // Issued for another service URL than the activity names.
        Some(Signer::token(
            TestKey::A,
            TestKey::A.kid(),
            TEAMS_APP_ID,
            3600,
            "https://elsewhere.example/",
        )),
    ];
    // Without the service URL claim: where replies would go is not vouched for.
    let unvouched = json!({"iss": "https://api.botframework.com", "aud": TEAMS_APP_ID,
        "exp": now.timestamp() + 3600});
    let refused: Vec<Option<String>> = refused
        .into_iter()
        .chain([Some(Signer::sign(TestKey::A, TestKey::A.kid(), &unvouched))])
        .collect();
    for token in &refused {
        let answer = send_activity(&r.url, &activity, token.as_deref()).await;
        assert_eq!(answer.status(), 401, "{token:?}");
    }
    assert_eq!(r.model.request_count(), 0, "nothing refused was answered");
    assert!(r.teams.calls().is_empty(), "nothing was posted");
    assert!(r.clock.now() >= now);

    // A key the cache does not know is fetched again, once a minute at most.
    let fetched = r.teams.key_fetches();
    let rotated = Signer::token(TestKey::B, TestKey::B.kid(), TEAMS_APP_ID, 3600, &service);
    r.teams.publish(&[TestKey::A, TestKey::B]);
    r.clock.advance(Duration::from_secs(120));
    r.model.push(Reply::Text("Signed by the new key.".into()));
    let answer = send_activity(&r.url, &activity, Some(&rotated)).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(r.teams.key_fetches(), fetched + 1);
    assert!(r.wait_text(OPERATOR_CHAT, "Signed by the new key.").await);
    let forged = Signer::token(TestKey::B, "no-such-key", TEAMS_APP_ID, 3600, &service);
    for _ in 0..3 {
        let answer = send_activity(&r.url, &activity, Some(&forged)).await;
        assert_eq!(answer.status(), 401);
    }
    assert_eq!(
        r.teams.key_fetches(),
        fetched + 1,
        "unknown key ids within the minute fetch nothing"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_personal_question_gets_on_it_then_the_answer_updated_into_it() {
    let r = running("").await;
    r.model.push_all([
        Reply::ToolCalls(vec![(
            "agency_earnings".into(),
            json!({"start_date": "2025-06-01", "end_date": "2025-06-07"}),
        )]),
        Reply::Text("This week: **$1,912.40** net for <at>Luna</at> & co".into()),
    ]);
    // The connector asks to wait once: the post is made after it, once.
    r.teams.fail_next(vec![TeamsFailure::RateLimited(1)]);
    r.send(
        &r.teams
            .personal(OPERATOR, OPERATOR_CHAT, "m-1", "How much did we earn?"),
    )
    .await;
    assert!(
        r.wait_text(OPERATOR_CHAT, "1,912.40").await,
        "{:?}",
        r.teams.calls()
    );
    let sent = r.teams.sent(OPERATOR_CHAT);
    assert_eq!(sent.len(), 1, "one activity, updated: {sent:?}");
    assert_eq!(sent[0].edits, 1, "\"On it…\" was updated into the answer");
    assert_eq!(
        sent[0].text,
        "This week: <b>$1,912.40</b> net for &lt;at&gt;Luna&lt;/at&gt; &amp; co"
    );
    let calls = r.teams.calls();
    let posts: Vec<_> = calls.iter().filter(|c| c.method == "POST").collect();
    assert_eq!(posts.len(), 2, "the 429 and the post after it");
    assert_eq!(posts[1].body["text"], "On it…");
    assert_eq!(posts[1].body["textFormat"], "xml");
    assert!(calls.iter().all(|c| c.token == "fake-teams-token-1"));
    assert_eq!(r.teams.token_requests().len(), 1, "the token is cached");
    let question = &r.model.requests()[0];
    let asked = question["messages"].to_string();
    assert!(asked.contains("How much did we earn?"));
    let ready = r.ready().await;
    assert_eq!(ready["channels"]["teams"]["ok"], true, "{ready}");
    r.stop().await;
}

#[tokio::test]
async fn a_channel_mention_is_answered_in_its_thread_which_is_then_followed() {
    let r = running("").await;
    let thread = format!("{CHANNEL};messageid=1700");
    r.model.push(Reply::Text("Answer in the thread.".into()));
    r.send(
        &r.teams
            .channel(OPERATOR, CHANNEL, None, "1700", "who tipped most?", true),
    )
    .await;
    assert!(r.wait_text(&thread, "Answer in the thread.").await);
    let first = r.model.requests()[0]["messages"].to_string();
    assert!(first.contains("who tipped most?") && !first.contains("<at>"));

    r.model
        .push(Reply::Text("Followed without a mention.".into()));
    r.send(&r.teams.channel(
        OPERATOR,
        CHANNEL,
        Some("1700"),
        "1701",
        "and yesterday?",
        false,
    ))
    .await;
    assert!(r.wait_text(&thread, "Followed without a mention.").await);

    // Chatter in another thread, without a mention, is not for fanops.
    r.send(
        &r.teams
            .channel(OPERATOR, CHANNEL, Some("1800"), "1801", "lunch?", false),
    )
    .await;
    r.model
        .push(Reply::Text("Back in the first thread.".into()));
    r.send(
        &r.teams
            .channel(OPERATOR, CHANNEL, Some("1700"), "1702", "thanks", false),
    )
    .await;
    assert!(r.wait_text(&thread, "Back in the first thread.").await);
    assert_eq!(
        r.model.request_count(),
        3,
        "the other thread was not answered"
    );
    assert!(r
        .teams
        .sent(&format!("{CHANNEL};messageid=1800"))
        .is_empty());
    r.stop().await;
}

#[tokio::test]
async fn confirm_on_an_adaptive_card_runs_the_write_once() {
    let r = running("").await;
    r.model.push(send_call());
    r.send(
        &r.teams
            .personal(OPERATOR, OPERATOR_CHAT, "m-1", "thank Jake"),
    )
    .await;
    assert!(r.wait_text(OPERATOR_CHAT, "Should I go ahead?").await);
    let prompt = r
        .teams
        .sent(OPERATOR_CHAT)
        .into_iter()
        .find(|s| !card_buttons(&s.attachments).is_empty())
        .unwrap();
    let found = card_buttons(&prompt.attachments);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].0.contains("Confirm") && found[0].1.starts_with("fo:c:"));
    assert!(found[1].0.contains("Cancel") && found[1].1.starts_with("fo:x:"));
    assert_eq!(
        r.api.count("POST", SEND),
        0,
        "nothing runs before the press"
    );

    r.model.push(Reply::Text("Sent the thanks.".into()));
    let conversation = json!({"id": OPERATOR_CHAT, "conversationType": "personal"});
    let press = r.teams.press(
        OPERATOR,
        conversation.clone(),
        "p-1",
        &prompt.id,
        &found[0].1,
    );
    r.send(&press).await;
    // Redelivered, and pressed again: neither runs it again.
    r.send(&press).await;
    assert!(r.wait_text(OPERATOR_CHAT, "Sent the thanks.").await);
    let again = r
        .teams
        .press(OPERATOR, conversation, "p-2", &prompt.id, &found[0].1);
    r.send(&again).await;
    let marked = r
        .teams
        .wait_for(
            |t| {
                t.sent(OPERATOR_CHAT)
                    .iter()
                    .any(|s| s.id == prompt.id && s.text.contains("Confirmed by Olive Operator"))
            },
            WAIT,
        )
        .await;
    assert!(marked, "{:?}", r.teams.sent(OPERATOR_CHAT));
    assert!(
        r.wait_text(OPERATOR_CHAT, "already confirmed").await,
        "the second press is answered: {:?}",
        r.teams.texts(OPERATOR_CHAT)
    );
    assert_eq!(r.api.count("POST", SEND), 1, "one execution");
    let card = r
        .teams
        .sent(OPERATOR_CHAT)
        .into_iter()
        .find(|s| s.id == prompt.id)
        .unwrap();
    assert!(
        card.attachments.is_null(),
        "the decided card has no buttons left"
    );
    r.stop().await;
}

#[tokio::test]
async fn a_stranger_gets_their_id_and_the_admin_an_access_request_in_their_chat() {
    let r = running("").await;
    // The admin has chatted with the bot before: that chat is where requests go.
    r.model.push(Reply::Text("Hello admin.".into()));
    r.send(&r.teams.personal(ADMIN, ADMIN_CHAT, "a-1", "hi"))
        .await;
    assert!(r.wait_text(ADMIN_CHAT, "Hello admin.").await);

    r.send(
        &r.teams
            .personal(STRANGER, STRANGER_CHAT, "s-1", "How much did we earn?"),
    )
    .await;
    assert!(r.wait_text(STRANGER_CHAT, STRANGER.aad).await);
    assert!(r.teams.texts(STRANGER_CHAT)[0].contains("not allowed"));
    assert!(r.wait_text(ADMIN_CHAT, "Access request").await);
    let notice = r
        .teams
        .sent(ADMIN_CHAT)
        .into_iter()
        .find(|s| s.text.contains("Access request"))
        .unwrap();
    assert!(notice.text.contains("Microsoft Teams"), "{}", notice.text);
    assert!(notice.text.contains(STRANGER.aad), "{}", notice.text);
    assert!(
        notice.text.contains("Sam &lt;at&gt;Stranger&lt;/at&gt;"),
        "their name cannot mention anyone: {}",
        notice.text
    );
    let found = card_buttons(&notice.attachments);
    let titles: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Allow as viewer",
            "Allow as operator",
            "Allow as admin",
            "Ignore"
        ]
    );
    assert_eq!(
        r.model.request_count(),
        1,
        "the stranger cost no model call"
    );

    let conversation = json!({"id": ADMIN_CHAT, "conversationType": "personal"});
    let press = r
        .teams
        .press(ADMIN, conversation, "a-2", &notice.id, &found[1].1);
    r.send(&press).await;
    assert!(r.wait_text(STRANGER_CHAT, "You're in").await);
    assert!(
        r.wait_text(ADMIN_CHAT, "Allowed as operator by Ada Admin")
            .await
    );
    r.model.push(Reply::Text("Welcome aboard.".into()));
    r.send(&r.teams.personal(STRANGER, STRANGER_CHAT, "s-2", "now?"))
        .await;
    assert!(r.wait_text(STRANGER_CHAT, "Welcome aboard.").await);
    r.stop().await;
}

#[tokio::test]
async fn a_redelivered_activity_is_answered_once() {
    let r = running("").await;
    r.model.push(Reply::Text("Once.".into()));
    let activity = r
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "m-7", "once please");
    r.send(&activity).await;
    r.send(&activity).await;
    assert!(r.wait_text(OPERATOR_CHAT, "Once.").await);
    // A later message is answered after it, so the redelivery had its chance.
    r.model.push(Reply::Text("Next.".into()));
    r.send(&r.teams.personal(OPERATOR, OPERATOR_CHAT, "m-8", "next"))
        .await;
    assert!(r.wait_text(OPERATOR_CHAT, "Next.").await);
    assert_eq!(r.model.request_count(), 2);
    assert_eq!(r.teams.texts(OPERATOR_CHAT), ["Once.", "Next."]);
    r.stop().await;
}

#[tokio::test]
async fn a_second_bot_is_its_own_connection_with_its_own_route_token_and_people() {
    let extra = format!(
        "[channels.teams.accounts.ops]\ntoken_env = \"TEAMS_OPS_APP_PASSWORD\"\napp_id = \"{TEAMS_OPS_APP_ID}\"\npermitted_users = [\"{}\"]\n",
        ADMIN.aad
    );
    let r = running(&extra).await;
    let until = tokio::time::Instant::now() + WAIT;
    while r.ready().await["channels"]["teams:ops"]["ok"] != true {
        assert!(tokio::time::Instant::now() < until, "{}", r.ready().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let service = r.teams.service_url();
    let ops_url = format!("{}/teams/ops/messages", r.base);
    let activity = FakeTeams::to_bot(
        &r.teams.personal(ADMIN, ADMIN_CHAT, "o-1", "hello ops"),
        TEAMS_OPS_APP_ID,
    );
    // A token for the first bot is not one for the second.
    let theirs = Signer::good(&service);
    let refused = send_activity(&ops_url, &activity, Some(&theirs)).await;
    assert_eq!(refused.status(), 401);
    r.model.push(Reply::Text("From the ops bot.".into()));
    let ours = Signer::token(
        TestKey::A,
        TestKey::A.kid(),
        TEAMS_OPS_APP_ID,
        3600,
        &service,
    );
    let taken = send_activity(&ops_url, &activity, Some(&ours)).await;
    assert_eq!(taken.status(), 200);
    assert!(r.wait_text(ADMIN_CHAT, "From the ops bot.").await);
    let calls = r.teams.calls();
    assert!(
        calls
            .iter()
            .all(|c| c.token.starts_with("fake-teams-ops-token")),
        "posted with the second bot's own token: {calls:?}"
    );
    // The operator is one of the first bot's people, not of the second's.
    let stranger_here = FakeTeams::to_bot(
        &r.teams.personal(OPERATOR, OPERATOR_CHAT, "o-2", "and me?"),
        TEAMS_OPS_APP_ID,
    );
    let taken = send_activity(&ops_url, &stranger_here, Some(&ours)).await;
    assert_eq!(taken.status(), 200);
    assert!(r.wait_text(OPERATOR_CHAT, "not allowed").await);
    assert_eq!(r.model.request_count(), 1);
    r.stop().await;
}

#[tokio::test]
async fn a_chart_is_shown_inline_as_an_image() {
    let r = running("").await;
    r.send(
        &r.teams
            .personal(OPERATOR, OPERATOR_CHAT, "c-1", "/usage chart"),
    )
    .await;
    let shown = r
        .teams
        .wait_for(
            |t| {
                t.sent(OPERATOR_CHAT).iter().any(|s| {
                    s.attachments[0]["contentUrl"]
                        .as_str()
                        .is_some_and(|u| u.starts_with("data:image/png;base64,"))
                })
            },
            WAIT,
        )
        .await;
    assert!(shown, "{:?}", r.teams.sent(OPERATOR_CHAT));
    let image = r
        .teams
        .sent(OPERATOR_CHAT)
        .into_iter()
        .find(|s| !s.attachments.is_null())
        .unwrap();
    assert_eq!(image.attachments[0]["contentType"], "image/png");
    r.stop().await;
}
