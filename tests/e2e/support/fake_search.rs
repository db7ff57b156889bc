//! A fake web search API speaking the three providers' shapes: Brave
//! (`GET /res/v1/web/search`, `X-Subscription-Token`), SearXNG (`GET /search?format=json`)
//! and Tavily (`POST /search`, bearer key). A request without a key gets 401, as the
//! real services answer. Every request is recorded.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
}

#[derive(Clone)]
pub struct FakeSearch {
    base: String,
    requests: Arc<Mutex<Vec<SearchRequest>>>,
}

/// What every search finds: two results.
const RESULTS: &[(&str, &str, &str)] = &[
    (
        "Creator pricing report 2026",
        "https://example.com/pricing",
        "Median subscription price is $9.99.",
    ),
    (
        "Fitness niche trends",
        "https://example.org/fitness",
        "Short workout clips sell best.",
    ),
];

impl FakeSearch {
    pub async fn start() -> FakeSearch {
        let requests: Arc<Mutex<Vec<SearchRequest>>> = Arc::default();
        let router = Router::new()
            .route("/res/v1/web/search", get(answer))
            .route("/search", get(answer).post(answer))
            .with_state(requests.clone());
        let addr = super::serve(router).await;
        FakeSearch {
            base: format!("http://{addr}"),
            requests,
        }
    }

    pub fn url(&self) -> String {
        self.base.clone()
    }

    pub fn requests(&self) -> Vec<SearchRequest> {
        self.requests.lock().unwrap().clone()
    }
}

async fn answer(
    State(requests): State<Arc<Mutex<Vec<SearchRequest>>>>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let headers: BTreeMap<String, String> = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    let path = uri.path().to_string();
    requests.lock().unwrap().push(SearchRequest {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        headers: headers.clone(),
        body: body.clone(),
    });
    let items = |snippet: &str| -> Vec<Value> {
        RESULTS
            .iter()
            .map(|(title, url, text)| json!({"title": title, "url": url, snippet: text}))
            .collect()
    };
    if path == "/res/v1/web/search" {
        if !headers.contains_key("x-subscription-token") {
            return super::json_response(401, &json!({"error": "missing token"}));
        }
        return super::json_response(200, &json!({"web": {"results": items("description")}}));
    }
    if method == Method::POST && !headers.contains_key("authorization") {
        return super::json_response(401, &json!({"detail": "missing api key"}));
    }
    super::json_response(200, &json!({"results": items("content")}))
}
