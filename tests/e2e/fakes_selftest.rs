//! Self-test of the fake servers in `support/`: what they answer and what
//! they record.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{fixture, fixture_names, Failure, FakeModel, FakeOnlyFans, Reply, LUNA, MIA};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn chat(client: &reqwest::Client, model: &FakeModel, body: &Value) -> (u16, Value) {
    let response = client
        .post(format!("{}/chat/completions", model.url()))
        .bearer_auth("test-model-key")
        .json(body)
        .send()
        .await
        .expect("model answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn get(client: &reqwest::Client, api: &FakeOnlyFans, path: &str) -> (u16, Value) {
    let response = client
        .get(format!("{}{path}", api.url()))
        .bearer_auth("test-ofapi-key")
        .send()
        .await
        .expect("api answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn model_text_reply_usage_and_recording() {
    let model = FakeModel::start().await;
    assert!(model.url().starts_with("http://127.0.0.1:") && model.url().ends_with("/v1"));
    let client = client();
    model.push(Reply::Text("Hello there, operator!".into()));
    let request =
        json!({"model": "fake-1", "messages": [{"role": "user", "content": "x".repeat(100)}]});
    let (status, body) = chat(&client, &model, &request).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "fake-1");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert!(body["created"].as_u64().unwrap() > 1_600_000_000);
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "Hello there, operator!");
    assert!(choice["message"].get("tool_calls").is_none());
    let prompt = serde_json::to_string(&request["messages"])
        .unwrap()
        .chars()
        .count()
        / 4;
    assert_eq!(body["usage"]["prompt_tokens"], prompt);
    assert_eq!(body["usage"]["completion_tokens"], 22 / 4 + 1);
    assert_eq!(body["usage"]["total_tokens"], prompt + 22 / 4 + 1);
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert_eq!(model.request_count(), 1);
    assert_eq!(model.requests(), vec![request]);

    // A long prompt reports 1024 cached tokens.
    let long = json!({"model": "m", "messages": [{"role": "user", "content": "y".repeat(8000)}]});
    let (_, body) = chat(&client, &model, &long).await;
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() > 1024);
    assert_eq!(
        body["usage"]["prompt_tokens_details"]["cached_tokens"],
        1024
    );
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "(no scripted reply)"
    );
}

#[tokio::test]
async fn model_tool_calls_script_order_and_responder() {
    let model = FakeModel::start().await;
    let client = client();
    let args = json!({"account": LUNA, "start_date": "2025-06-01 00:00:00"});
    model.push_all([
        Reply::ToolCalls(vec![
            ("get_earnings".into(), args.clone()),
            ("list_accounts".into(), json!({})),
        ]),
        Reply::tool("list_accounts", json!({})),
        Reply::text("done"),
        Reply::Status(503, r#"{"error":{"message":"overloaded"}}"#.into()),
    ]);
    let request = json!({"model": "fake-1", "messages": []});
    let (status, body) = chat(&client, &model, &request).await;
    assert_eq!(status, 200);
    let choice = &body["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_1");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], "get_earnings");
    let sent: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(sent, args);
    assert_eq!(calls[1]["id"], "call_2");
    let arg_chars = args.to_string().chars().count() + 2;
    assert_eq!(body["usage"]["completion_tokens"], arg_chars / 4 + 1);

    let (_, body) = chat(&client, &model, &request).await;
    assert_eq!(
        body["choices"][0]["message"]["tool_calls"][0]["id"],
        "call_3"
    );
    let (_, body) = chat(&client, &model, &request).await;
    assert_eq!(body["choices"][0]["message"]["content"], "done");
    let (status, body) = chat(&client, &model, &request).await;
    assert_eq!(status, 503);
    assert_eq!(body["error"]["message"], "overloaded");
    assert_eq!(model.pending(), 0);

    model.respond_with(|req| {
        let n = req["messages"].as_array().map_or(0, Vec::len);
        Reply::Text(format!("saw {n} messages"))
    });
    let two = json!({"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]});
    let (_, body) = chat(&client, &model, &two).await;
    assert_eq!(body["choices"][0]["message"]["content"], "saw 2 messages");
    // The script wins over the responder.
    model.push(Reply::text("scripted"));
    let (_, body) = chat(&client, &model, &two).await;
    assert_eq!(body["choices"][0]["message"]["content"], "scripted");
    assert_eq!(model.request_count(), 6);
}

#[tokio::test]
async fn model_requires_bearer_and_honours_delay() {
    let model = FakeModel::start().await;
    let client = client();
    model.push(Reply::text("kept for the authorised call"));
    let url = format!("{}/chat/completions", model.url());
    let response = client
        .post(&url)
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
    let response = client
        .post(&url)
        .header("Authorization", "Bearer ")
        .json(&json!({"messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert_eq!(
        model.request_count(),
        2,
        "rejected requests are recorded too"
    );
    assert_eq!(
        model.pending(),
        1,
        "a rejected request uses no scripted reply"
    );

    model.set_delay(Duration::from_millis(150));
    let started = Instant::now();
    let (status, body) = chat(&client, &model, &json!({"model": "m", "messages": []})).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "kept for the authorised call"
    );
}

#[tokio::test]
async fn onlyfans_reads_accounts_and_errors() {
    let api = FakeOnlyFans::start().await;
    let client = client();
    let (status, accounts) = get(&client, &api, "/api/accounts").await;
    assert_eq!(status, 200);
    assert_eq!(accounts, fixture("account/list-accounts"));
    assert_eq!(accounts[0]["id"], LUNA);
    assert_eq!(accounts[0]["display_name"], "Luna (main)");
    assert_eq!(accounts[1]["id"], MIA);
    assert_eq!(accounts[1]["is_authenticated"], false);

    let path = format!("/api/{LUNA}/statistics/statements/earnings?start_date=2025-06-01%2000%3A00%3A00&type=total");
    let (status, earnings) = get(&client, &api, &path).await;
    assert_eq!(status, 200);
    assert_eq!(earnings["data"]["total"]["total"], 1912.4);
    assert_eq!(earnings["data"]["total"]["gross"], 2390.5);
    assert_eq!(earnings["_meta"]["_credits"]["used"], 1);
    let recorded = api.requests().pop().unwrap();
    assert_eq!(recorded.method, "GET");
    assert_eq!(
        recorded.path,
        format!("/api/{LUNA}/statistics/statements/earnings")
    );
    assert_eq!(
        recorded.query_value("start_date"),
        Some("2025-06-01 00:00:00")
    );
    assert_eq!(recorded.query[1], ("type".to_string(), "total".to_string()));
    assert_eq!(
        recorded.header("Authorization"),
        Some("Bearer test-ofapi-key")
    );
    assert_eq!(recorded.body, None);

    let (status, body) = get(
        &client,
        &api,
        &format!("/api/{MIA}/statistics/statements/earnings"),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("account_not_authenticated"))
    );
    let (status, body) = get(
        &client,
        &api,
        "/api/acct_nope/statistics/statements/earnings",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("account_not_found"))
    );
    let (status, body) = get(&client, &api, &format!("/api/{LUNA}/no/such/route")).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let response = client
        .get(format!("{}/api/accounts", api.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());

    let routes = [
        ("statistics/overview", "statistics/statistics-overview"),
        ("fans/top", "fans/list-top-fans"),
        (
            "subscribers/statistics",
            "statistics/get-subscriber-statistics",
        ),
        ("tracking-links", "tracking-links/list-tracking-links"),
        ("trial-links", "free-trial-links/list-free-trial-links"),
        ("transactions", "transactions/list-transactions"),
        ("payouts/balances", "payouts/get-account-balances"),
        ("chats", "chats/list-chats"),
        (
            "chats/99120455/messages",
            "chat-messages/list-chat-messages",
        ),
        (
            "mass-messaging/overview",
            "mass-messaging/get-mass-message-overview",
        ),
    ];
    for (route, name) in routes {
        let (status, body) = get(&client, &api, &format!("/api/{LUNA}/{route}")).await;
        assert_eq!(status, 200, "{route}");
        // The fixture, with the budget reported as it stands.
        let mut expected = fixture(name);
        if let Some(limits) = body.pointer("/_meta/_rate_limits") {
            assert_eq!(limits["limit_minute"], 1000, "{route}");
            expected["_meta"]["_rate_limits"] = limits.clone();
        }
        assert_eq!(body, expected, "{route}");
    }
    assert_eq!(api.count("GET", "/api/accounts"), 2);
    assert_eq!(api.count("GET", &format!("/api/{LUNA}/chats")), 1);
    assert_eq!(fixture_names().len(), 12);
    for name in fixture_names() {
        assert!(!fixture(name).is_null());
    }
}

#[tokio::test]
async fn onlyfans_generated_accounts_overrides_and_delay() {
    let api = FakeOnlyFans::start_with_accounts(3).await;
    let client = client();
    let (_, accounts) = get(&client, &api, "/api/accounts").await;
    assert_eq!(accounts.as_array().unwrap().len(), 3);
    assert_eq!(accounts[2]["id"], "acct_gen0002");
    assert_eq!(accounts[2]["display_name"], "Creator 2");
    assert_eq!(accounts[2]["onlyfans_username"], "creator2");
    assert_eq!(
        api.account_ids(),
        ["acct_gen0000", "acct_gen0001", "acct_gen0002"]
    );
    let (status, body) = get(
        &client,
        &api,
        "/api/acct_gen0002/statistics/statements/earnings",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["total"]["total"], 120.0);
    assert_eq!(body["data"]["total"]["gross"], 150.0);
    assert_eq!(body["data"]["total"]["delta"], 5.0);
    let (status, _) = get(&client, &api, &format!("/api/{LUNA}/chats")).await;
    assert_eq!(status, 404);

    let overview = "/api/acct_gen0001/statistics/overview";
    api.set_body("GET", overview, json!({"data": {"custom": true}}));
    let (status, body) = get(&client, &api, overview).await;
    assert_eq!(
        (status, body["data"]["custom"].as_bool()),
        (200, Some(true))
    );
    api.set_body("GET", "/api/whoami", json!({"id": "me"}));
    assert_eq!(get(&client, &api, "/api/whoami").await.1["id"], "me");

    api.set_delay(Duration::from_millis(120));
    let started = Instant::now();
    let (status, _) = get(&client, &api, "/api/accounts").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
}

#[tokio::test]
async fn onlyfans_injected_failures() {
    let api = FakeOnlyFans::start().await;
    let client = client();
    let path = format!("/api/{LUNA}/statistics/statements/earnings");
    api.fail_next(
        "earnings",
        vec![
            Failure::RateLimited {
                retry_after_secs: 7,
            },
            Failure::Status(503),
            Failure::Hang(Duration::from_millis(150)),
        ],
    );
    let url = format!("{}{path}", api.url());
    let response = client.get(&url).bearer_auth("k").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"message": "Too Many Requests"})
    );
    let (status, body) = get(&client, &api, &path).await;
    assert_eq!((status, body), (503, json!({"message": "Server Error"})));
    let started = Instant::now();
    let (status, _) = get(&client, &api, &path).await;
    assert_eq!(status, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        get(&client, &api, &path).await.0,
        200,
        "normal service resumes"
    );
    // Other paths are untouched.
    assert_eq!(get(&client, &api, "/api/accounts").await.0, 200);

    api.fail_always("/chats", 500);
    api.fail_next("/chats", vec![Failure::Status(429)]);
    let response = client
        .get(format!("{}/api/{LUNA}/chats", api.url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    for _ in 0..3 {
        assert_eq!(
            get(&client, &api, &format!("/api/{LUNA}/chats")).await.0,
            500
        );
    }
    assert_eq!(api.count("GET", &format!("/api/{LUNA}/chats")), 4);
    assert_eq!(api.count("GET", &path), 4);
    api.clear_failures();
    assert_eq!(
        get(&client, &api, &format!("/api/{LUNA}/chats")).await.0,
        200
    );
}

#[tokio::test]
async fn onlyfans_writes_and_idempotency() {
    let api = FakeOnlyFans::start().await;
    let client = client();
    let send = |path: String, key: Option<&'static str>, body: Value| {
        let mut builder = client
            .post(format!("{}{path}", api.url()))
            .bearer_auth("k")
            .json(&body);
        if let Some(key) = key {
            builder = builder.header("Idempotency-Key", key);
        }
        async move {
            let response = builder.send().await.unwrap();
            let replayed = response.headers().get("idempotent-replayed").is_some();
            (
                response.status().as_u16(),
                replayed,
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let path = format!("/api/{LUNA}/chats/99120455/messages");
    let (status, replayed, first) = send(
        path.clone(),
        Some("key-1"),
        json!({"text": "hi", "price": 15}),
    )
    .await;
    assert_eq!((status, replayed), (200, false));
    assert_eq!(first["data"]["text"], "hi");
    assert_eq!(first["data"]["price"], 15);
    assert!(first["data"]["id"].as_u64().is_some());
    assert!(first["data"]["createdAt"].is_string());
    assert_eq!(first["_meta"]["_credits"]["used"], 1);

    let (status, replayed, again) = send(
        path.clone(),
        Some("key-1"),
        json!({"text": "hi", "price": 15}),
    )
    .await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, first);
    let (_, replayed, other) = send(path.clone(), Some("key-2"), json!({"text": "free"})).await;
    assert!(!replayed);
    assert_ne!(other["data"]["id"], first["data"]["id"]);
    assert_eq!(other["data"]["price"], 0);
    let (_, replayed, _) = send(path.clone(), None, json!({"text": "no key"})).await;
    assert!(!replayed);
    assert_eq!(api.count("POST", &path), 4, "replays are recorded too");
    let recorded = api.requests();
    assert_eq!(recorded[1].header("idempotency-key"), Some("key-1"));
    assert_eq!(recorded[1].body, Some(json!({"text": "hi", "price": 15})));

    let mass = format!("/api/{LUNA}/mass-messaging");
    let (status, _, body) = send(
        mass.clone(),
        Some("key-1"),
        json!({"text": "weekend", "userLists": ["fans"]}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["data"]["sentCount"], 0);
    assert_eq!(body["data"]["text"], "weekend");
    let (status, _, body) = send(
        format!("/api/{MIA}/mass-messaging"),
        None,
        json!({"text": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("account_not_authenticated"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onlyfans_counts_exactly_under_concurrency() {
    let api = FakeOnlyFans::start_with_accounts(10).await;
    let client = client();
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (client, url) = (client.clone(), api.url());
        tasks.push(tokio::spawn(async move {
            let path = format!("/api/acct_gen{:04}/statistics/statements/earnings", i % 10);
            let response = client
                .get(format!("{url}{path}"))
                .bearer_auth("k")
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(api.requests().len(), 200);
    for i in 0..10 {
        assert_eq!(
            api.count(
                "GET",
                &format!("/api/acct_gen{i:04}/statistics/statements/earnings")
            ),
            20
        );
    }

    // The same idempotency key sent concurrently runs the route once.
    let path = "/api/acct_gen0000/chats/1/messages";
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (client, url) = (client.clone(), api.url());
        tasks.push(tokio::spawn(async move {
            let response = client
                .post(format!("{url}{path}"))
                .bearer_auth("k")
                .header("Idempotency-Key", "same")
                .json(&json!({"text": "once"}))
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()["data"]["id"].clone()
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1);
    assert_eq!(api.count("POST", path), 20);
}

#[tokio::test]
async fn onlyfans_reports_and_enforces_its_budget() {
    let api = FakeOnlyFans::start().await;
    api.set_rate_limit(3, Duration::from_millis(1500));
    let client = client();
    let url = format!("{}/api/{LUNA}/statistics/statements/earnings", api.url());
    let call = || async {
        let response = client.get(&url).bearer_auth("k").send().await.unwrap();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        let headers = (
            header("x-rate-limit-limit-minute"),
            header("x-rate-limit-remaining-minute"),
            header("retry-after"),
        );
        (status, headers, response.json::<Value>().await.unwrap())
    };
    let some = |s: &str| Some(s.to_string());
    for remaining in [2, 1, 0] {
        let (status, headers, body) = call().await;
        assert_eq!(status, 200);
        assert_eq!(headers, (some("3"), Some(remaining.to_string()), None));
        assert_eq!(
            body["_meta"]["_rate_limits"],
            json!({"limit_minute": 3, "remaining_minute": remaining})
        );
    }
    let (status, headers, body) = call().await;
    assert_eq!(status, 429);
    assert_eq!(headers, (some("3"), some("0"), some("2")));
    assert_eq!(body, json!({"message": "Too Many Requests"}));
    assert_eq!(api.budget_refusals(), 1);

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, headers, _) = call().await;
    assert_eq!((status, headers.1), (200, some("2")), "a new window");
    // A bare array has no `_meta`: the headers alone report the budget.
    let response = client
        .get(format!("{}/api/accounts", api.url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-rate-limit-remaining-minute"], "1");
    assert!(response.json::<Value>().await.unwrap().is_array());
}
