//! The Discord channel end to end: the real `fanops run` wiring (serenity's gateway client
//! included) against a fake Discord (REST and gateway), the fake model and the fake
//! OnlyFansAPI. `session` holds what concerns the gateway session and posting without one;
//! `team` access requests and several bots.

mod harness;
mod media;
mod session;
mod team;

use crate::support::{DcFailure, Reply, BOT_ID, GENERAL};
pub(crate) use harness::{
    discord_app, discord_app_with, discord_config, running, serve, Running, ADMIN, OPERATOR,
};
use serde_json::json;
use std::time::Duration;

pub(super) const WAIT: Duration = Duration::from_secs(15);
const SEND: &str = "/api/acct_8f3k2j1h0g9f8e7d/chats/99120455/messages";
/// Members: a viewer (the server's everyone role), an operator, an admin.
const VIEWER: u64 = 111;

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
        intents & (1 | 1 << 9 | 1 << 12 | 1 << 15),
        1 | 1 << 9 | 1 << 12 | 1 << 15,
        "guilds, guild messages, direct messages, message content"
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
    assert!(
        buttons[0]["label"].as_str().unwrap().contains("Confirm")
            && buttons[1]["label"].as_str().unwrap().contains("Cancel"),
        "{buttons}"
    );
    assert_eq!(
        (&buttons[0]["style"], &buttons[1]["style"]),
        (&json!(1), &json!(4)),
        "primary, danger"
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

#[tokio::test]
async fn a_direct_message_is_answered_there_and_a_strangers_gets_their_id() {
    let locked =
        format!("allow_everyone = false\npermitted_members = [\"{OPERATOR}\", \"{ADMIN}\"]");
    let r = running(&locked).await;
    r.model.push_all(earnings_then("This week: $1,912.40 net."));
    let dm =
        r.dc.push_direct(OPERATOR, "How much did we earn this week?");
    assert!(r.wait_text(dm, "1,912.40").await, "{:?}", r.dc.texts_in(dm));
    assert!(
        r.dc.calls_to("POST", "/threads").is_empty(),
        "no thread in a direct message"
    );
    r.model.push(Reply::Text("Team listed.".into()));
    let admin_dm = r.dc.push_direct(ADMIN, "/team");
    assert!(
        r.wait_text(admin_dm, "operator").await,
        "an admin manages the team from a direct message: {:?}",
        r.dc.texts_in(admin_dm)
    );
    let stranger = r.dc.push_direct(999, "hello?");
    assert!(
        r.wait_text(stranger, "not allowed").await,
        "{:?}",
        r.dc.texts_in(stranger)
    );
    assert!(r.dc.texts_in(stranger)[0].contains("999"));
    r.stop().await;
}
