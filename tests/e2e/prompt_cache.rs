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

/// The request's messages as JSON text.
fn messages_of(request: &Value) -> String {
    request["messages"].to_string()
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
    assert_eq!(requests[0]["tools"], requests[1]["tools"]);
    assert_eq!(requests[0]["tools"], requests[2]["tools"]);
    // A minute later: the same first system message, and the earlier request, all but its
    // closing note of the time, is where the new one starts.
    assert_eq!(
        systems[0], systems[1],
        "within a day the system prompt is the same"
    );
    let (one, two) = (&requests[0]["messages"], &requests[1]["messages"]);
    let kept = one.as_array().unwrap().len() - 1;
    assert_eq!(
        one.as_array().unwrap()[..kept],
        two.as_array().unwrap()[..kept]
    );
    for request in &requests {
        let last = request["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["role"], "system");
        assert!(
            last["content"].as_str().unwrap().starts_with("Time now: "),
            "{last}"
        );
    }
    assert_ne!(
        requests[0]["messages"].as_array().unwrap().last(),
        requests[1]["messages"].as_array().unwrap().last(),
        "the minute moved"
    );
    // A day later: the first system message differs only in its last line, the date.
    let shared = shared_prefix(&systems[0], &systems[2]);
    let last_line = systems[0].trim_end().rfind('\n').unwrap() + 1;
    assert_ne!(systems[0], systems[2], "the day moved");
    assert!(shared >= last_line, "{shared} of {}", systems[0].len());
    assert!(systems[2]
        .trim_end()
        .rsplit('\n')
        .next()
        .unwrap()
        .starts_with("Today is"));
    assert!(messages_of(&requests[2]).contains("And the week before?"));
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
