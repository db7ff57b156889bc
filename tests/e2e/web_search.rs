//! Web search end to end against a fake provider: the query and key cross the wire, the
//! results come back as title/URL/snippet, and each search is billed as `web_search`.

use crate::helpers::{spawn_app_with, tool_messages};
use crate::support::{FakeSearch, Reply};
use fanops::store::UsageDimension;
use serde_json::json;

fn config(provider: &str, url: &str) -> String {
    format!(
        "[web_search]\nprovider = \"{provider}\"\napi_url = \"{url}\"\napi_key_env = \"FAKE_SEARCH_KEY\"\nusd_per_search = 0.005\n"
    )
}

#[tokio::test]
async fn a_brave_search_sends_the_query_and_key_and_is_billed() {
    let search = FakeSearch::start().await;
    let t = spawn_app_with(&config("brave", &search.url())).await;
    t.model.push_all([
        Reply::tool(
            "web_search",
            json!({"query": "fitness creator prices", "count": 2}),
        ),
        Reply::text("Median is $9.99."),
    ]);
    t.say("What do fitness creators charge?").await;

    let sent = search.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/res/v1/web/search");
    assert_eq!(sent[0].query["q"], "fitness creator prices");
    assert_eq!(sent[0].query["count"], "2");
    assert_eq!(sent[0].headers["x-subscription-token"], "test-search-key");

    let result = tool_messages(&t.model.last_request().unwrap())
        .pop()
        .unwrap();
    assert!(
        result.contains("\"url\":\"https://example.com/pricing\""),
        "{result}"
    );
    assert!(
        result.contains("\"snippet\":\"Median subscription price is $9.99.\""),
        "{result}"
    );

    let rows = t
        .store()
        .usage_report(None, UsageDimension::Kind)
        .await
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r.key == "web_search")
        .expect("a web_search row");
    assert!((row.cost_usd - 0.005).abs() < 1e-9, "{row:?}");
    assert!((row.credits - 0.5).abs() < 1e-9, "{row:?}");
    assert_eq!(row.model_calls, 0);
}

#[tokio::test]
async fn tavily_and_searxng_are_called_in_their_own_shapes() {
    for provider in ["tavily", "searxng"] {
        let search = FakeSearch::start().await;
        let t = spawn_app_with(&config(provider, &search.url())).await;
        t.model.push_all([
            Reply::tool("web_search", json!({"query": "onlyfans trends"})),
            Reply::text("Done."),
        ]);
        t.say("Any trends?").await;
        let sent = &search.requests()[0];
        assert_eq!(sent.path, "/search", "{provider}");
        match provider {
            "tavily" => {
                assert_eq!(sent.method, "POST");
                assert_eq!(sent.body.as_ref().unwrap()["query"], "onlyfans trends");
                assert_eq!(sent.headers["authorization"], "Bearer test-search-key");
            }
            _ => {
                assert_eq!(sent.query["q"], "onlyfans trends");
                assert_eq!(sent.query["format"], "json");
            }
        }
        let result = tool_messages(&t.model.last_request().unwrap())
            .pop()
            .unwrap();
        assert!(
            result.contains("Short workout clips sell best."),
            "{provider}: {result}"
        );
    }
}

#[tokio::test]
async fn without_a_provider_the_tool_is_not_offered() {
    let t = spawn_app_with("").await;
    t.model.push(Reply::text("Hi."));
    t.say("hello").await;
    let tools = t.model.requests()[0]["tools"].to_string();
    assert!(!tools.contains("web_search"), "{tools}");
}

#[test]
fn a_provider_without_its_key_or_address_is_a_located_problem() {
    let load = |text: &str| {
        fanops::config::Config::load_with_env(
            fanops::config::ConfigSource::Text {
                origin: "fanops.toml".into(),
                text: text.into(),
            },
            &|_| None,
            &fanops::channels::configs(),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
    };
    let found = load("timezone = \"UTC\"\n\n[web_search]\nprovider = \"brave\"\n");
    assert!(
        found.contains("fanops.toml:4: web search provider `brave` needs api_key_env"),
        "{found}"
    );
    let found = load("[web_search]\nprovider = \"searxng\"\n");
    assert!(
        found.contains("fanops.toml:2: searxng needs api_url"),
        "{found}"
    );
    let found = load("[web_search]\nprovider = \"bing\"\n");
    assert!(
        found
            .contains("fanops.toml:2: web search provider `bing` must be brave, searxng or tavily"),
        "{found}"
    );
    let found = load("[[mcp]]\nname = \"a__b\"\nurl = \"http://x/mcp\"\n");
    assert!(
        found.contains("fanops.toml:2: MCP server name `a__b`"),
        "{found}"
    );
}

#[tokio::test]
async fn a_spent_budget_stops_a_search_before_the_provider_is_called() {
    let search = FakeSearch::start().await;
    let text = format!(
        "{}\n[budgets]\nuser_monthly_credits = 5\n",
        config("brave", &search.url())
    );
    let t = spawn_app_with(&text).await;
    // Just under the budget: the model's first call goes out and crosses it.
    crate::budgets::charge(t.store(), "1", 4.99).await;
    t.model.push(Reply::tool(
        "web_search",
        json!({"query": "creator prices"}),
    ));
    let reply = t.say("What do creators charge?").await.last();
    assert!(reply.text.contains("is spent"), "{reply:?}");
    assert!(search.requests().is_empty(), "no search on a spent budget");
    assert_eq!(t.model.request_count(), 1, "and no further model call");
}
