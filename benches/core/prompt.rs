//! The size of the first model request for a plain question, counted exactly (o200k_base),
//! against what sending every catalog endpoint as its own tool would cost.

use crate::harness::{answer_questions, ask_timed, Fakes, Fanops, Options};
use fanops::onlyfans::catalog::Catalog;
use serde_json::{json, Map, Value};
use std::time::Duration;

const QUESTION: &str = "How much did we earn this week?";

/// Every shipped skill the contract's target names, installed at once.
const SKILLS: &[&str] = &[
    "earnings-recap",
    "top-spenders",
    "whale-watch",
    "churn-rescue",
    "link-performance",
    "mass-message-performance",
    "ppv-pricing-review",
    "chat-backlog-audit",
    "subscriber-movement",
    "content-performance",
    "chargeback-watch",
    "creator-portfolio-overview",
];

/// Put first in `extra`, this lands in the `[channels.telegram]` table the harness writes
/// last before `extra`: chat 1 becomes an admin, who is also offered the admin-only tools.
const ADMIN: &str = "roles = { \"1\" = \"admin\" }\n";

/// The first request for [`QUESTION`] from a fresh fanops started with `extra` config.
async fn first_request(extra: String) -> Value {
    let fakes = Fakes::start().await;
    answer_questions(&fakes.model);
    let options = Options {
        extra,
        ..Options::telegram(1)
    };
    let mut fanops = Fanops::start(&fakes, &options);
    fanops.ready(Duration::from_secs(30)).await;
    crate::support::record_handling(true);
    ask_timed(&fakes.tg, 1, QUESTION, Duration::from_secs(30)).await;
    crate::support::record_handling(false);
    fakes.model.requests()[0].clone()
}

/// What the model reads of each response example (`call_endpoint`'s result): the whole
/// body as OnlyFansAPI sends it, the data with the pagination block as it was read
/// before, and the compact data with its one-line "more pages" note.
fn tool_result_tokens(tokens: &dyn Fn(&Value) -> usize) {
    let (mut raw, mut before, mut after) = (0, 0, 0);
    let names = crate::support::fixture_names();
    for name in &names {
        let body = crate::support::fixture(name);
        let (data, pagination) = match body.as_object() {
            Some(map) if map.contains_key("data") => {
                (map["data"].clone(), map.get("_pagination").cloned())
            }
            Some(map) => {
                let mut rest = map.clone();
                rest.remove("_meta");
                let pagination = rest.remove("_pagination");
                (Value::Object(rest), pagination)
            }
            None => (body.clone(), None),
        };
        let mut old = json!({ "endpoint": name, "data": data });
        if let Some(p) = pagination.clone().filter(|p| !p.is_null()) {
            old["pagination"] = p;
        }
        let mut new = json!({ "endpoint": name, "data": fanops::onlyfans::compact::compact(data) });
        if let Some(more) = pagination
            .as_ref()
            .and_then(fanops::onlyfans::compact::more_pages)
        {
            new["more"] = json!(more);
        }
        raw += tokens(&body);
        before += tokens(&old);
        after += tokens(&new);
    }
    println!(
        "tool results of the {} OnlyFansAPI response examples: {raw} tokens as sent by the API, {before} as the model read them before (no envelope), {after} compact (no nulls or empty values, pagination as one line): {:.0}% of the raw",
        names.len(),
        after as f64 * 100.0 / raw as f64
    );
}

pub async fn prompt_tokens() {
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base is embedded");
    let tokens = |value: &Value| bpe.encode_ordinary(&value.to_string()).len();
    tool_result_tokens(&tokens);
    let request = first_request(String::new()).await;
    let messages = tokens(&request["messages"]);
    let tools = tokens(&request["tools"]);
    let count = request["tools"].as_array().map_or(0, Vec::len);
    println!(
        "first model request for {QUESTION:?}: {} tokens o200k_base (messages {messages}, {count} tools {tools}) (target <= 2,000)",
        messages + tools
    );

    // The same with 12 skills installed, one MCP server of 20 tools and web search on.
    let mcp = crate::support::FakeMcp::start(18).await;
    let search = crate::support::FakeSearch::start().await;
    let installed: Vec<String> = SKILLS.iter().map(|s| format!("\"{s}\"")).collect();
    let extra = format!(
        "[skills]\ninstalled = [{}]\n\n[[mcp]]\nname = \"sheets\"\nurl = \"{}\"\n\n[web_search]\nprovider = \"brave\"\napi_url = \"{}\"\napi_key_env = \"FAKE_SEARCH_KEY\"\nusd_per_search = 0.005\n",
        installed.join(", "),
        mcp.url(),
        search.url()
    );
    let full = first_request(extra.clone()).await;
    let system = full["messages"][0]["content"].as_str().unwrap_or_default();
    assert!(
        system.contains("sheets (20 tools)") && SKILLS.iter().all(|s| system.contains(s)),
        "the integrations are on: {system}"
    );
    let full_messages = tokens(&full["messages"]);
    let full_tools = tokens(&full["tools"]);
    println!(
        "  with {} skills installed, one MCP server of 20 tools and web search on: {} tokens (messages {full_messages}, {} tools {full_tools}) (target <= 2,000)",
        SKILLS.len(),
        full_messages + full_tools,
        full["tools"].as_array().map_or(0, Vec::len),
    );
    let admin = first_request(format!("{ADMIN}{extra}")).await;
    let admin_messages = tokens(&admin["messages"]);
    let admin_tools = tokens(&admin["tools"]);
    println!(
        "  the same for an admin (also offered the admin-only tools): {} tokens (messages {admin_messages}, {} tools {admin_tools}) (target <= 2,000)",
        admin_messages + admin_tools,
        admin["tools"].as_array().map_or(0, Vec::len),
    );
    let every = every_endpoint_as_a_tool();
    println!(
        "  the same request with each of the {} catalog endpoints as its own tool: {} tokens",
        every.as_array().map_or(0, Vec::len),
        messages + tokens(&every)
    );
    println!("  counted over the JSON of `messages` and `tools` as sent to the fake model");
}

/// Every endpoint of the embedded catalog as an OpenAI function tool, parameters typed
/// and described as in the catalog.
pub fn every_endpoint_as_a_tool() -> Value {
    let tools: Vec<Value> = Catalog::embedded()
        .endpoints()
        .iter()
        .filter(|e| e.path.is_some())
        .map(|e| {
            let properties: Map<String, Value> = e
                .params
                .iter()
                .map(|p| {
                    let mut schema = json!({"type": p.kind.as_str(), "description": p.description});
                    if !p.enum_values.is_empty() {
                        schema["enum"] = json!(p.enum_values);
                    }
                    (p.name.clone(), schema)
                })
                .collect();
            let required: Vec<&str> = e
                .params
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name.as_str())
                .collect();
            json!({
                "type": "function",
                "function": {
                    "name": e.id.replace(['/', '-'], "_"),
                    "description": e.summary,
                    "parameters": {"type": "object", "properties": properties, "required": required},
                }
            })
        })
        .collect();
    Value::Array(tools)
}
