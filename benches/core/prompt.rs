//! The size of the first model request for a plain question, counted exactly (o200k_base),
//! against what sending every catalog endpoint as its own tool would cost.

use crate::harness::{answer_questions, ask_timed, Fakes, Fanops, Options};
use fanops::onlyfans::catalog::Catalog;
use serde_json::{json, Map, Value};
use std::time::Duration;

const QUESTION: &str = "How much did we earn this week?";

pub async fn prompt_tokens() {
    let fakes = Fakes::start().await;
    answer_questions(&fakes.model);
    let mut fanops = Fanops::start(&fakes, &Options::telegram(1));
    fanops.ready(Duration::from_secs(30)).await;
    crate::support::record_handling(true);
    ask_timed(&fakes.tg, 1, QUESTION, Duration::from_secs(30)).await;
    crate::support::record_handling(false);
    let request = &fakes.model.requests()[0];
    let bpe = tiktoken_rs::o200k_base().expect("o200k_base is embedded");
    let tokens = |value: &Value| bpe.encode_ordinary(&value.to_string()).len();
    let messages = tokens(&request["messages"]);
    let tools = tokens(&request["tools"]);
    let count = request["tools"].as_array().map_or(0, Vec::len);
    println!(
        "first model request for {QUESTION:?}: {} tokens o200k_base (messages {messages}, {count} tools {tools}) (target <= 2,000)",
        messages + tools
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
fn every_endpoint_as_a_tool() -> Value {
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
