//! Requests a provider's prompt cache can reuse (DESIGN §12.5): two turns a minute or a
//! day apart send the same tools and a first system message that differs only at its end
//! (the date and time), and the conversation follows it.

use crate::helpers::spawn_app;
use crate::support::Reply;
use serde_json::Value;
use std::time::Duration;

fn first_system(request: &Value) -> String {
    request["messages"][0]["content"]
        .as_str()
        .expect("the first message is the system prompt")
        .to_string()
}

/// How many leading characters two texts share.
fn shared_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

#[tokio::test]
async fn turns_a_minute_and_a_day_apart_share_their_prefix() {
    let t = spawn_app().await;
    t.model.respond_with(|_| Reply::text("Fine."));
    t.say("How much did we earn this week?").await;
    t.clock.advance(Duration::from_secs(61));
    t.say("And the week before?").await;
    t.clock.advance(Duration::from_secs(24 * 3600));
    t.say("And today?").await;
    let requests = t.model.requests();
    assert_eq!(requests.len(), 3);
    let systems: Vec<String> = requests.iter().map(first_system).collect();
    for later in &systems[1..] {
        assert_ne!(&systems[0], later, "the time moved");
        assert_eq!(
            requests[0]["tools"], requests[1]["tools"],
            "the tools are the same"
        );
        let shared = shared_prefix(&systems[0], later);
        let tail = &later[later.char_indices().nth(shared).unwrap().0..];
        assert!(
            !tail.trim_end().contains('\n'),
            "only the last line differs, after {shared} shared characters: {tail:?}"
        );
        assert!(
            later
                .trim_end()
                .rsplit('\n')
                .next()
                .unwrap()
                .starts_with("Today is"),
            "{later}"
        );
        let last_line = systems[0].trim_end().rfind('\n').unwrap() + 1;
        assert!(shared >= last_line, "{shared} of {}", systems[0].len());
    }
    // The conversation follows the system prompt: the second turn's request starts
    // with the first turn's messages.
    let (one, two) = (&requests[0]["messages"], &requests[1]["messages"]);
    assert_eq!(one[1], two[1], "the first question is carried as it was");
}

/// A tool result carries the data without nulls or empty values, and the pagination as
/// one "more pages" sentence the model can act on.
#[tokio::test]
async fn tool_results_are_compact_and_say_how_to_get_more() {
    let t = spawn_app().await;
    let chats =
        serde_json::json!({"endpoint": "chats/list-chats", "account": "acct_8f3k2j1h0g9f8e7d"});
    t.model.push_all([
        Reply::ToolCalls(vec![("call_endpoint".into(), chats)]),
        Reply::Text("Jake wrote last.".into()),
    ]);
    assert_eq!(
        t.say("Who wrote last?").await.last().text,
        "Jake wrote last."
    );
    let results = crate::helpers::tool_messages(&t.model.requests()[1]);
    let result: Value = serde_json::from_str(results.last().unwrap()).unwrap();
    let text = result.to_string();
    assert!(text.contains("\"name\":\"Jake\""), "{text}");
    for gone in [
        "null",
        "\"\"",
        "[]",
        "{}",
        "_meta",
        "_pagination",
        "next_page",
    ] {
        assert!(!text.contains(gone), "no {gone}: {text}");
    }
    assert_eq!(
        result["more"], "More pages: call again with offset=10 (and limit=10, filter=unread).",
        "{text}"
    );
}
