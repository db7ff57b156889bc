//! MCP integrations end to end against a fake server built with rmcp's server side:
//! tools found through `find_tools`, a read runs at once, a write only after a person
//! confirms and exactly once, and a server that is down is reported, not fatal.

use crate::helpers::{spawn_app_with, tool_messages};
use crate::support::{FakeMcp, Reply};
use fanops::store::Decision;
use serde_json::json;

fn mcp_config(url: &str) -> String {
    format!(
        "[[mcp]]\nname = \"sheets\"\nurl = \"{url}\"\nheaders_env = {{ Authorization = \"FAKE_MCP_AUTH\" }}\n"
    )
}

#[tokio::test]
async fn tools_are_found_by_words_and_a_read_runs_at_once() {
    let server = FakeMcp::start(0).await;
    let t = spawn_app_with(&mcp_config(&server.url())).await;
    t.model.push_all([
        Reply::tool("find_tools", json!({"query": "sheet row"})),
        Reply::tool(
            "call_tool",
            json!({"name": "mcp__sheets__lookup_fan", "arguments": {"username": "jake"}}),
        ),
        Reply::text("Jake is a VIP."),
    ]);
    let out = t.say("Is jake in our VIP sheet?").await;
    assert_eq!(out.last().text, "Jake is a VIP.");
    assert!(out.last().confirm.is_none());
    assert_eq!(
        server.calls(),
        vec![("lookup_fan".to_string(), json!({"username": "jake"}))]
    );

    let requests = t.model.requests();
    let system = requests[0]["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("Connected apps (MCP): sheets (2 tools)"),
        "{system}"
    );
    let tools = requests[0]["tools"].to_string();
    assert!(
        !tools.contains("lookup_fan"),
        "MCP schemas are not sent every turn"
    );
    let found = &tool_messages(&requests[1])[0];
    assert!(found.contains("mcp__sheets__append_row"), "{found}");
    assert!(found.contains("\"effect\":\"write\""), "{found}");
    assert!(found.contains("\"connected\":true"), "{found}");
    let result = &tool_messages(&requests[2])[1];
    assert!(result.contains("VIP since 2025-03"), "{result}");
}

#[tokio::test]
async fn a_write_tool_runs_only_after_confirmation_and_exactly_once() {
    let server = FakeMcp::start(0).await;
    let t = spawn_app_with(&mcp_config(&server.url())).await;
    t.model.push(Reply::tool(
        "call_tool",
        json!({"name": "mcp__sheets__append_row", "arguments": {"sheet": "Top fans", "values": ["jake", "1240"]}}),
    ));
    let out = t.say("Add jake to the Top fans sheet").await;
    let confirm = out.last().confirm.expect("a confirmation prompt");
    assert!(
        confirm.summary.contains("`append_row`") && confirm.summary.contains("`sheets`"),
        "{}",
        confirm.summary
    );
    assert_eq!(
        server.count("append_row"),
        0,
        "nothing runs before a decision"
    );

    t.model.push(Reply::text("Added jake."));
    let (a, b) = tokio::join!(
        t.press("1", "100", &confirm.action_id, Decision::Confirm),
        t.press("3", "100", &confirm.action_id, Decision::Confirm),
    );
    let texts = [a.last().text, b.last().text];
    assert!(texts.iter().any(|t| t == "Added jake."), "{texts:?}");
    assert_eq!(server.count("append_row"), 1, "exactly once");
    let again = t
        .press("1", "100", &confirm.action_id, Decision::Confirm)
        .await;
    assert!(again.last().text.contains("already confirmed"));
    assert_eq!(server.count("append_row"), 1);
}

#[tokio::test]
async fn a_server_that_is_down_is_reported_and_nothing_else_fails() {
    // A port that was free a moment ago: nothing answers there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/mcp", listener.local_addr().unwrap());
    drop(listener);
    let t = spawn_app_with(&mcp_config(&url)).await;

    let report = t.app.health.report();
    let part = &report["mcp:sheets"];
    assert!(!part.ok && part.optional, "{part:?}");
    assert!(t.app.health.all_ok() || report.iter().any(|(k, r)| k != "mcp:sheets" && !r.ok));

    t.model.push_all([
        Reply::tool(
            "call_tool",
            json!({"name": "mcp__sheets__append_row", "arguments": {"sheet": "x"}}),
        ),
        Reply::text("The sheets app is not connected right now."),
    ]);
    let out = t.say("Add jake to the sheet").await;
    assert!(
        out.last().confirm.is_none(),
        "nothing to confirm for a server that is down"
    );
    let request = t.model.last_request().unwrap();
    let system = request["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("sheets (not connected:"), "{system}");
    let result = tool_messages(&request).pop().unwrap();
    assert!(
        result.contains("the app `sheets` is not connected right now"),
        "{result}"
    );

    // The rest of the bot works.
    t.model.push(Reply::text("Hello."));
    assert_eq!(t.say("hi").await.last().text, "Hello.");
}

#[tokio::test]
async fn the_tool_list_is_refreshed_when_the_server_says_it_changed() {
    let server = FakeMcp::start(0).await;
    let t = spawn_app_with(&mcp_config(&server.url())).await;
    let mcp = t.app.integrations.mcp.clone().unwrap();
    assert_eq!(mcp.tools().len(), 2);
    server.add_tool().await;
    // Waits for the notification to be handled; fails if it never is.
    let mut refreshed = false;
    for _ in 0..500 {
        if mcp
            .tools()
            .iter()
            .any(|t| t.name == "mcp__sheets__report_0")
        {
            refreshed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refreshed, "tools after the change: {:?}", mcp.tools());
    assert_eq!(mcp.find("saved report", 8)[0].effect, "read");
}

#[tokio::test]
async fn a_stdio_server_is_started_as_a_child_process_and_its_read_tool_runs() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.jsonl");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/support/fake_mcp_stdio.py"
    );
    let config = format!(
        "[[mcp]]\nname = \"files\"\ncommand = [\"python3\", \"{script}\", \"{}\"]\ntools = [\"count_rows\"]\n",
        log.display()
    );
    let t = spawn_app_with(&config).await;
    let mcp = t.app.integrations.mcp.clone().unwrap();
    let status = &mcp.status()[0];
    assert!(
        status.connected,
        "python3 runs the fake stdio server: {status:?}"
    );
    assert_eq!(status.transport, "stdio");
    let names: Vec<String> = mcp.tools().into_iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        ["mcp__files__count_rows"],
        "the allow-list keeps one tool"
    );

    t.model.push_all([
        Reply::tool(
            "call_tool",
            json!({"name": "mcp__files__count_rows", "arguments": {"file": "march.csv"}}),
        ),
        Reply::text("42 rows."),
    ]);
    let out = t.say("How many rows in march.csv?").await;
    assert_eq!(out.last().text, "42 rows.");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        calls.trim(),
        r#"{"name": "count_rows", "arguments": {"file": "march.csv"}}"#
    );
}
