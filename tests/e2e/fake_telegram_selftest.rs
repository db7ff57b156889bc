//! Self-test of `support::FakeTelegram`: what it answers and what it records.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{FakeTelegram, TgFailure};

const TOKEN: &str = "123:test-token";

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// POSTs `body` as JSON to `{url}/bot{TOKEN}/{method}`; (status, body).
async fn call(
    client: &reqwest::Client,
    tg: &FakeTelegram,
    method: &str,
    body: Value,
) -> (u16, Value) {
    let response = client
        .post(format!("{}/bot{TOKEN}/{method}", tg.url()))
        .json(&body)
        .send()
        .await
        .expect("fake answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn get_me_and_method_names_are_case_insensitive() {
    let tg = FakeTelegram::start().await;
    let client = client();
    for method in ["GetMe", "getMe", "getme", "GETME"] {
        let (status, body) = call(&client, &tg, method, json!({})).await;
        assert_eq!(status, 200, "{method}: {body}");
        let me = &body["result"];
        assert_eq!(body["ok"], true);
        assert_eq!(me["id"], 7_000_000_001_i64, "BOT_ID");
        assert_eq!(me["is_bot"], true);
        assert_eq!(me["username"], "fanops_test_bot");
        for flag in [
            "can_join_groups",
            "can_read_all_group_messages",
            "supports_inline_queries",
            "has_main_web_app",
        ] {
            assert!(me[flag].is_boolean(), "{flag}");
        }
    }
    let (status, body) = call(&client, &tg, "DeleteWebhook", json!({})).await;
    assert_eq!((status, &body["result"]), (200, &json!(true)));
    let (_, body) = call(&client, &tg, "GetWebhookInfo", json!({})).await;
    assert_eq!(body["result"]["url"], "");
    let (status, body) = call(&client, &tg, "NoSuchMethod", json!({})).await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"})
    );

    assert_eq!(tg.calls().len(), 7);
    assert_eq!(tg.calls_of("GETme").len(), 4);
    assert!(tg.calls().iter().all(|c| c.token == TOKEN));
    assert_eq!(tg.calls()[0].method, "getme");
    assert_eq!(
        tg.calls_of("nosuchmethod").len(),
        1,
        "unknown methods are recorded too"
    );
}

#[tokio::test]
async fn a_long_poll_is_woken_by_a_push_and_times_out_otherwise() {
    let tg = FakeTelegram::start().await;
    let client = client();

    let started = Instant::now();
    let (_, body) = call(&client, &tg, "GetUpdates", json!({"timeout": 1})).await;
    assert_eq!(body["result"], json!([]));
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(1800),
        "{waited:?}"
    );

    let poll = {
        let (client, tg) = (client.clone(), tg.clone());
        tokio::spawn(async move { call(&client, &tg, "GetUpdates", json!({"timeout": 30})).await })
    };
    assert!(
        tg.wait_for(|calls| calls.len() == 2, Duration::from_secs(2))
            .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let id = tg.push_text(7, 7, "wake up");
    let (status, body) = poll.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(status, 200);
    let updates = body["result"].as_array().unwrap();
    assert_eq!(updates.len(), 1);
    let message = &updates[0]["message"];
    assert_eq!(updates[0]["update_id"], id);
    assert_eq!(message["text"], "wake up");
    assert_eq!(
        message["chat"],
        json!({"id": 7, "type": "private", "first_name": "User7", "username": "user7"})
    );
    assert_eq!(message["from"]["first_name"], "User7");
    assert_eq!(message["from"]["username"], "user7");

    // Held for the whole timeout when there is nothing to deliver, as Telegram does.
    let started = Instant::now();
    let (_, body) = call(
        &client,
        &tg,
        "getUpdates",
        json!({"offset": id + 1, "timeout": 3}),
    )
    .await;
    assert_eq!(body["result"], json!([]));
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(tg.get_updates_count(), 3);
}

#[tokio::test]
async fn an_offset_confirms_and_drops_earlier_updates() {
    let tg = FakeTelegram::start().await;
    let client = client();
    let ids: Vec<i64> = (0..4)
        .map(|i| tg.push_text(1, -100, &format!("m{i}")))
        .collect();
    assert_eq!(ids, vec![1, 2, 3, 4]);
    assert_eq!(tg.last_offset(), None);

    let (_, body) = call(&client, &tg, "GetUpdates", json!({"limit": 2})).await;
    let got: Vec<&Value> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["update_id"])
        .collect();
    assert_eq!(got, vec![1, 2], "limit");
    assert_eq!(body["result"][0]["message"]["chat"]["type"], "group");
    let (_, body) = call(&client, &tg, "GetUpdates", json!({})).await;
    assert_eq!(
        body["result"].as_array().unwrap().len(),
        4,
        "nothing confirmed yet"
    );

    let (_, body) = call(&client, &tg, "GetUpdates", json!({"offset": 3})).await;
    let got: Vec<&Value> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["update_id"])
        .collect();
    assert_eq!(got, vec![3, 4]);
    assert_eq!(tg.last_offset(), Some(3));
    let (_, body) = call(&client, &tg, "GetUpdates", json!({})).await;
    assert_eq!(
        body["result"].as_array().unwrap().len(),
        2,
        "1 and 2 are gone"
    );

    let (_, body) = call(&client, &tg, "GetUpdates", json!({"offset": "5"})).await;
    assert_eq!(body["result"], json!([]));
    assert_eq!(tg.last_offset(), Some(5));
    assert_eq!(tg.push_update(json!({"message": {"message_id": 1, "date": 0, "chat": {"id": 1, "type": "private"}, "text": "raw"}})), 5);
    assert_eq!(tg.push_update(json!({"update_id": 40})), 40);
    assert_eq!(tg.push_text(1, 1, "after"), 41);
    let (_, body) = call(&client, &tg, "GetUpdates", json!({"offset": 5})).await;
    let got: Vec<&Value> = body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["update_id"])
        .collect();
    assert_eq!(got, vec![5, 40, 41]);
    assert_eq!(tg.get_updates_count(), 6);
}

#[tokio::test]
async fn sent_texts_follow_sends_edits_and_deletes() {
    let tg = FakeTelegram::start().await;
    let client = client();
    let keyboard = json!({"inline_keyboard": [[{"text": "Yes", "callback_data": "fo:c:1"}]]});
    let (status, body) = call(
        &client,
        &tg,
        "SendMessage",
        json!({"chat_id": 1, "text": "On it…", "reply_markup": keyboard}),
    )
    .await;
    assert_eq!(status, 200);
    let sent = &body["result"];
    assert_eq!(sent["message_id"], 1000);
    assert_eq!(sent["chat"]["id"], 1);
    assert_eq!(sent["from"]["is_bot"], true);
    assert_eq!(sent["text"], "On it…");
    assert_eq!(sent["reply_markup"], keyboard);
    assert!(sent["date"].as_i64().unwrap() > 1_700_000_000);
    let (_, body) = call(
        &client,
        &tg,
        "sendMessage",
        json!({"chat_id": "1", "text": "second"}),
    )
    .await;
    assert_eq!(body["result"]["message_id"], 1001);
    let (_, body) = call(
        &client,
        &tg,
        "sendMessage",
        json!({"chat_id": -100, "text": "elsewhere"}),
    )
    .await;
    assert_eq!(body["result"]["message_id"], 1000, "ids are per chat");
    assert_eq!(body["result"]["chat"]["type"], "group");
    let (status, _) = call(
        &client,
        &tg,
        "sendMessage",
        json!({"chat_id": 1, "text": ""}),
    )
    .await;
    assert_eq!(status, 400);

    let (status, body) = call(
        &client,
        &tg,
        "EditMessageText",
        json!({"chat_id": 1, "message_id": 1000, "text": "The answer"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["text"], "The answer");
    assert!(
        body["result"].get("reply_markup").is_none(),
        "an edit without markup drops it"
    );
    assert!(body["result"]["edit_date"].is_i64());
    let (status, body) = call(
        &client,
        &tg,
        "editMessageText",
        json!({"chat_id": 1, "message_id": 999, "text": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: message to edit not found"
    );

    assert_eq!(tg.sent_texts(1), vec!["The answer", "second"]);
    assert_eq!(tg.sent_texts(-100), vec!["elsewhere"]);
    assert!(tg.sent_texts(2).is_empty());
    let (status, _) = call(
        &client,
        &tg,
        "DeleteMessage",
        json!({"chat_id": 1, "message_id": 1001}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(tg.sent_texts(1), vec!["The answer"]);
    assert_eq!(
        tg.calls_of("sendmessage").len(),
        4,
        "the rejected send is recorded"
    );

    let (_, body) = call(
        &client,
        &tg,
        "AnswerCallbackQuery",
        json!({"callback_query_id": "x"}),
    )
    .await;
    assert_eq!(body["result"], true);
    let (_, body) = call(
        &client,
        &tg,
        "SendChatAction",
        json!({"chat_id": 1, "action": "typing"}),
    )
    .await;
    assert_eq!(body["result"], true);
}

#[tokio::test]
async fn injected_failures_come_in_order_then_calls_succeed() {
    let tg = FakeTelegram::start().await;
    let client = client();
    tg.fail_next(
        "SendMessage",
        vec![
            TgFailure::RetryAfter(3),
            TgFailure::Status(502),
            TgFailure::Drop,
        ],
    );
    let send = json!({"chat_id": 1, "text": "hello"});
    let (status, body) = call(&client, &tg, "sendMessage", send.clone()).await;
    assert_eq!(status, 429);
    assert_eq!(body["ok"], false);
    assert_eq!(body["error_code"], 429);
    assert_eq!(body["parameters"]["retry_after"], 3);
    assert_eq!(body["description"], "Too Many Requests: retry after 3");
    let (status, body) = call(&client, &tg, "getMe", json!({})).await;
    assert_eq!(status, 200, "other methods are not affected: {body}");
    let (status, body) = call(&client, &tg, "SENDMESSAGE", send.clone()).await;
    assert_eq!((status, &body["error_code"]), (502, &json!(502)));
    let dropped = client
        .post(format!("{}/bot{TOKEN}/SendMessage", tg.url()))
        .json(&send)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection is dropped: {dropped:?}");
    let (status, body) = call(&client, &tg, "SendMessage", send).await;
    assert_eq!(status, 200);
    assert_eq!(
        body["result"]["message_id"], 1000,
        "failed sends store nothing"
    );
    assert_eq!(tg.sent_texts(1), vec!["hello"]);
    assert_eq!(tg.calls_of("sendmessage").len(), 4);

    tg.fail_next("getUpdates", vec![TgFailure::Status(500)]);
    let (status, body) = call(&client, &tg, "GetUpdates", json!({"offset": 9})).await;
    assert_eq!(
        (status, &body["description"]),
        (500, &json!("Internal Server Error"))
    );
    assert_eq!(tg.get_updates_count(), 1, "failed polls count");
    assert_eq!(tg.last_offset(), Some(9));
}

#[tokio::test]
async fn multipart_uploads_record_fields_and_file() {
    let tg = FakeTelegram::start().await;
    let client = client();
    let boundary = "XyZbOuNdArY";
    let mut body = Vec::new();
    for (name, value) in [("chat_id", "-100"), ("caption", "Weekly chart")] {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").bytes());
    }
    body.extend(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"chart.png\"\r\nContent-Type: image/png\r\n\r\n"
        )
        .bytes(),
    );
    body.extend([0u8, 13, 10, 45, 45, 255, 1, 2, 3, 4]);
    body.extend(format!("\r\n--{boundary}--\r\n").bytes());
    let response = client
        .post(format!("{}/bot{TOKEN}/SendPhoto", tg.url()))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["result"]["caption"], "Weekly chart");
    assert_eq!(answer["result"]["photo"][0]["file_size"], 10);
    let recorded = tg.calls_of("sendphoto").pop().unwrap().body;
    assert_eq!(recorded["chat_id"], "-100");
    assert_eq!(recorded["caption"], "Weekly chart");
    assert_eq!(
        recorded["_file"],
        json!({"field": "photo", "filename": "chart.png", "bytes": 10})
    );
    assert!(tg.sent_texts(-100).is_empty(), "photos are not texts");
}

#[tokio::test]
async fn pushed_updates_have_the_expected_shapes() {
    let tg = FakeTelegram::start().await;
    let client = client();
    let (_, sent) = call(
        &client,
        &tg,
        "sendMessage",
        json!({"chat_id": -100, "text": "Bot says"}),
    )
    .await;
    let bot_id = sent["result"]["message_id"].as_i64().unwrap();
    tg.push_mention(1, -100, " how are we doing?");
    tg.push_reply_to_bot(2, -100, "thanks", bot_id);
    tg.push_callback(1, -100, bot_id, "fo:c:9");
    tg.push_text(3, 3, "/start now");
    let (_, body) = call(&client, &tg, "getUpdates", json!({})).await;
    let updates = body["result"].as_array().unwrap();

    let mention = &updates[0]["message"];
    assert_eq!(mention["text"], "@fanops_test_bot how are we doing?");
    assert_eq!(
        mention["entities"],
        json!([{"type": "mention", "offset": 0, "length": 16}])
    );
    assert_eq!(mention["chat"]["type"], "group");
    let reply = &updates[1]["message"];
    assert_eq!(reply["from"]["id"], 2);
    assert_eq!(reply["reply_to_message"]["message_id"], bot_id);
    assert_eq!(reply["reply_to_message"]["text"], "Bot says");
    assert_eq!(
        reply["reply_to_message"]["from"]["username"],
        "fanops_test_bot"
    );
    let callback = &updates[2]["callback_query"];
    assert_eq!(callback["from"]["id"], 1);
    assert_eq!(callback["data"], "fo:c:9");
    assert_eq!(callback["message"]["message_id"], bot_id);
    assert!(callback["id"].is_string() && callback["chat_instance"].is_string());
    let command = &updates[3]["message"];
    assert_eq!(
        command["entities"],
        json!([{"type": "bot_command", "offset": 0, "length": 6}])
    );
}

/// teloxide itself against the fake: every answer deserializes.
#[cfg(feature = "telegram")]
#[tokio::test]
async fn teloxide_understands_the_answers() {
    use teloxide::prelude::*;
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, InputFile, UpdateKind};
    use teloxide::RequestError;

    let _ = rustls::crypto::ring::default_provider().install_default();
    let tg = FakeTelegram::start().await;
    let bot = Bot::new(TOKEN).set_api_url(tg.url().parse().unwrap());
    let me = bot.get_me().await.unwrap();
    assert_eq!(me.username(), "fanops_test_bot");
    assert!(bot.get_webhook_info().await.unwrap().url.is_none());
    bot.delete_webhook().await.unwrap();

    let keyboard = InlineKeyboardMarkup::new([[InlineKeyboardButton::callback("Yes", "fo:c:1")]]);
    let sent = bot
        .send_message(ChatId(1), "On it…")
        .reply_markup(keyboard)
        .await
        .unwrap();
    assert_eq!(sent.id.0, 1000);
    assert!(sent.reply_markup().is_some());
    let edited = bot
        .edit_message_text(ChatId(1), sent.id, "Done")
        .await
        .unwrap();
    assert_eq!(edited.text(), Some("Done"));
    bot.send_chat_action(ChatId(1), teloxide::types::ChatAction::Typing)
        .await
        .unwrap();
    let photo = bot
        .send_photo(
            ChatId(1),
            InputFile::memory(vec![1u8; 42]).file_name("chart.png"),
        )
        .caption("A chart")
        .await
        .unwrap();
    assert_eq!(photo.caption(), Some("A chart"));
    let upload = tg.calls_of("sendphoto").pop().unwrap().body;
    assert_eq!(upload["chat_id"], "1");
    assert_eq!(upload["caption"], "A chart");
    assert_eq!(upload["_file"]["filename"], "chart.png");
    assert_eq!(upload["_file"]["bytes"], 42);
    let document = bot
        .send_document(
            ChatId(1),
            InputFile::memory("a,b\n1,2\n").file_name("t.csv"),
        )
        .await
        .unwrap();
    assert_eq!(
        document.document().unwrap().file_name.as_deref(),
        Some("t.csv")
    );

    tg.fail_next("sendmessage", vec![TgFailure::RetryAfter(2)]);
    match bot.send_message(ChatId(1), "x").await {
        Err(RequestError::RetryAfter(after)) => assert_eq!(after.seconds(), 2),
        other => panic!("{other:?}"),
    }
    assert_eq!(tg.sent_texts(1), vec!["Done".to_string()]);

    tg.push_text(1, 1, "hello");
    tg.push_mention(1, -100, " hi");
    tg.push_reply_to_bot(2, 1, "re", sent.id.0.into());
    tg.push_callback(1, 1, sent.id.0.into(), "fo:c:1");
    let updates = bot.get_updates().timeout(1).await.unwrap();
    assert_eq!(updates.len(), 4);
    for update in &updates {
        assert!(!matches!(update.kind, UpdateKind::Error(_)), "{update:?}");
    }
    let UpdateKind::Message(reply) = &updates[2].kind else {
        panic!("{:?}", updates[2])
    };
    assert_eq!(reply.reply_to_message().unwrap().id, sent.id);
    let UpdateKind::CallbackQuery(query) = &updates[3].kind else {
        panic!("{:?}", updates[3])
    };
    assert_eq!(query.data.as_deref(), Some("fo:c:1"));
    assert_eq!(query.regular_message().unwrap().id, sent.id);
    let next = bot
        .get_updates()
        .offset(updates[3].id.0 as i32 + 1)
        .await
        .unwrap();
    assert!(next.is_empty());
    assert_eq!(tg.last_offset(), Some(updates[3].id.0 as i64 + 1));
}
