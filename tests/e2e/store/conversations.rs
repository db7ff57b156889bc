//! Conversation history checks.

use fanops::store::{MessageRole, SharedStore, StoredMessage, StoredToolCall};

pub(super) fn user(text: &str) -> StoredMessage {
    StoredMessage {
        role: MessageRole::User,
        content: Some(text.into()),
        tool_calls: vec![],
        tool_call_id: None,
        tokens: 5,
    }
}

fn assistant_calling(call_id: &str) -> StoredMessage {
    StoredMessage {
        role: MessageRole::Assistant,
        content: None,
        tool_calls: vec![StoredToolCall {
            id: call_id.into(),
            name: "send_message".into(),
            arguments: r#"{"text": "hi"}"#.into(),
        }],
        tool_call_id: None,
        tokens: 12,
    }
}

fn tool_result(call_id: &str, text: &str) -> StoredMessage {
    StoredMessage {
        role: MessageRole::Tool,
        content: Some(text.into()),
        tool_calls: vec![],
        tool_call_id: Some(call_id.into()),
        tokens: 7,
    }
}

pub(super) async fn history_keeps_order_and_limit(store: SharedStore) {
    let first = [
        user("one"),
        assistant_calling("call_1"),
        tool_result("call_1", "two"),
    ];
    let second = [user("three"), user("four")];
    store.append_messages("c1", &first).await.unwrap();
    store
        .append_messages("c2", &[user("elsewhere")])
        .await
        .unwrap();
    store.append_messages("c1", &second).await.unwrap();
    store.append_messages("c1", &[]).await.unwrap();

    let all = store.history("c1", 100).await.unwrap();
    let expected: Vec<StoredMessage> = first.iter().chain(&second).cloned().collect();
    assert_eq!(all, expected, "every field survives, oldest first");

    let newest = store.history("c1", 2).await.unwrap();
    assert_eq!(newest, second.to_vec(), "the newest two, oldest first");
    assert!(store.history("c1", 0).await.unwrap().is_empty());
    assert!(store.history("unknown", 10).await.unwrap().is_empty());
    assert_eq!(
        store.history("c2", 10).await.unwrap(),
        vec![user("elsewhere")]
    );
}

pub(super) async fn replace_tool_result_edits_one_message(store: SharedStore) {
    let turn = [
        user("send hi"),
        assistant_calling("call_1"),
        tool_result("call_1", "Waiting for a person to confirm"),
        user("thanks"),
    ];
    store.append_messages("c1", &turn).await.unwrap();
    store.append_messages("c2", &turn).await.unwrap();

    let replaced = store
        .replace_tool_result("c1", "call_1", "Sent to 2 fans", 4)
        .await
        .unwrap();
    assert!(replaced);

    let mut expected = turn.to_vec();
    expected[2].content = Some("Sent to 2 fans".into());
    expected[2].tokens = 4;
    assert_eq!(store.history("c1", 10).await.unwrap(), expected);
    assert_eq!(
        store.history("c2", 10).await.unwrap(),
        turn.to_vec(),
        "the same call id in another conversation is untouched"
    );

    let missing = store.replace_tool_result("c1", "call_9", "x", 1).await;
    assert!(!missing.unwrap(), "no message answers call_9");
    assert!(!store
        .replace_tool_result("c3", "call_1", "x", 1)
        .await
        .unwrap());
}

pub(super) async fn clear_history_removes_one_conversation(store: SharedStore) {
    store
        .append_messages("c1", &[user("a"), user("b"), user("c")])
        .await
        .unwrap();
    store.append_messages("c2", &[user("keep")]).await.unwrap();

    assert_eq!(store.clear_history("c1").await.unwrap(), 3);
    assert!(store.history("c1", 10).await.unwrap().is_empty());
    assert_eq!(store.clear_history("c1").await.unwrap(), 0);
    assert_eq!(store.history("c2", 10).await.unwrap(), vec![user("keep")]);

    store.append_messages("c1", &[user("again")]).await.unwrap();
    assert_eq!(store.history("c1", 10).await.unwrap(), vec![user("again")]);
}

fn sized(mut message: StoredMessage, tokens: u32) -> StoredMessage {
    message.tokens = tokens;
    message
}

/// A conversation of every kind of unit: an orphaned result first, a call with two
/// results, a result far over any small budget, a message counted as 0 tokens, and a
/// newest unit (a call and its result) bigger than the smallest budgets.
fn mixed_conversation() -> Vec<StoredMessage> {
    vec![
        sized(tool_result("gone", "orphan"), 3),
        user("one"),
        assistant_calling("a"),
        tool_result("a", "first"),
        sized(tool_result("a", "second"), 9),
        sized(user("free"), 0),
        assistant_calling("b"),
        sized(tool_result("b", "huge"), 400),
        user("three"),
        sized(user("four"), 1),
        assistant_calling("c"),
        sized(tool_result("c", "newest"), 30),
    ]
}

pub(super) async fn history_within_a_budget_keeps_what_fit_keeps(store: SharedStore) {
    use fanops::agent::history::fit;
    let messages = mixed_conversation();
    store.append_messages("c1", &messages).await.unwrap();
    store
        .append_messages("c2", &[user("elsewhere")])
        .await
        .unwrap();
    for limit in [100, 7, 2] {
        let all = store.history("c1", limit).await.unwrap();
        for budget in 0..=500 {
            let within = store.history_within("c1", budget, limit).await.unwrap();
            assert!(
                all.ends_with(&within),
                "budget {budget}, limit {limit}: the newest messages, oldest first"
            );
            assert_eq!(
                fit(&within, budget),
                fit(&all, budget),
                "budget {budget}, limit {limit}"
            );
        }
    }
    let small = store.history_within("c1", 50, 100).await.unwrap();
    assert_eq!(
        small,
        messages[8..].to_vec(),
        "only what fits 50 tokens is read"
    );
    let tiny = store.history_within("c1", 1, 100).await.unwrap();
    assert_eq!(
        tiny,
        messages[10..].to_vec(),
        "the newest unit whole, even over the budget"
    );
    assert!(store
        .history_within("c3", 100, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(store.history_within("c1", 100, 0).await.unwrap().is_empty());
}
