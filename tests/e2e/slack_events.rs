//! The Slack Events API over HTTP end to end: signatures, the challenge, retries, presses
//! arriving form-encoded, and replicas sharing one database.

use crate::helpers::SLACK_SIGNING_SECRET;
use crate::slack::{config, running, send_call, ts, DM, OPERATOR, SEND, TEAM, WAIT};
use crate::support::{
    message_event, press, slack_signature, FakeModel, FakeOnlyFans, FakeSlack, Reply,
};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Posts `body` to fanops's `path`, signed at `at` (unless `signature` overrides it).
async fn post_signed(
    base: &str,
    path: &str,
    body: &str,
    at: i64,
    signature: Option<&str>,
    form: bool,
    retry: Option<u32>,
) -> reqwest::Response {
    let signature = signature
        .map(str::to_string)
        .unwrap_or_else(|| slack_signature(SLACK_SIGNING_SECRET, at, body));
    let mut request = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .header("X-Slack-Request-Timestamp", at.to_string())
        .header("X-Slack-Signature", signature)
        .header(
            "content-type",
            if form {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            },
        )
        .body(body.to_string());
    if let Some(n) = retry {
        request = request
            .header("X-Slack-Retry-Num", n.to_string())
            .header("X-Slack-Retry-Reason", "http_timeout");
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn events_api_mode_checks_signatures_and_answers_each_event_once() {
    let r = running("mode = \"events\"").await;
    let now = r.clock.now().timestamp();
    // Ready once fanops knows who it is.
    let ready = r
        .slack
        .wait_for(|s| !s.calls_of("auth.test").is_empty(), WAIT)
        .await;
    assert!(ready);
    assert_eq!(r.slack.sockets_opened(), 0, "no socket in events mode");

    let challenge =
        json!({"token": "t", "challenge": "c-123", "type": "url_verification"}).to_string();
    let answer = post_signed(&r.base, "/slack/events", &challenge, now, None, false, None).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.json::<Value>().await.unwrap()["challenge"], "c-123");

    let event = message_event(OPERATOR, DM, "hello over http", &ts(100), None).to_string();
    for (at, signature) in [
        (now, Some("v0=deadbeef")),
        (now - 6 * 60, None),
        (now, Some("")),
    ] {
        let refused =
            post_signed(&r.base, "/slack/events", &event, at, signature, false, None).await;
        assert_eq!(refused.status(), 401, "bad or stale signature");
    }
    let unsigned = reqwest::Client::new()
        .post(format!("{}/slack/events", r.base))
        .body(event.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), 401);

    r.model.push(Reply::Text("http answer".into()));
    let first = post_signed(&r.base, "/slack/events", &event, now, None, false, None).await;
    assert_eq!(first.status(), 200);
    let retried = post_signed(&r.base, "/slack/events", &event, now, None, false, Some(1)).await;
    assert_eq!(retried.status(), 200, "a retry is acknowledged");
    assert!(r.wait_text(DM, "http answer").await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        r.model.request_count(),
        1,
        "the retry was not answered again"
    );
    assert_eq!(r.slack.texts(DM).len(), 1);

    // A press arrives form-encoded at /slack/interactions.
    r.model.push(send_call());
    let ask = message_event(OPERATOR, TEAM, "<@UBOT> thank Jake", &ts(101), None).to_string();
    post_signed(&r.base, "/slack/events", &ask, now, None, false, None).await;
    assert!(r.wait_text(TEAM, "Should I go ahead?").await);
    let prompt = r
        .slack
        .messages(TEAM)
        .into_iter()
        .find(|m| m.blocks.to_string().contains("fo:c:"))
        .unwrap();
    let value = prompt.blocks.as_array().unwrap().last().unwrap()["elements"][0]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let payload = press(
        OPERATOR,
        TEAM,
        &prompt.ts,
        Some(&ts(101)),
        &value,
        "trig-http",
    )
    .to_string();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload)
        .finish();
    let bad = post_signed(
        &r.base,
        "/slack/interactions",
        &form,
        now,
        Some("v0=00"),
        true,
        None,
    )
    .await;
    assert_eq!(bad.status(), 401);
    r.model.push(Reply::Text("Sent over http.".into()));
    let pressed = post_signed(&r.base, "/slack/interactions", &form, now, None, true, None).await;
    assert_eq!(pressed.status(), 200);
    assert!(r.wait_text(TEAM, "Sent over http.").await);
    assert_eq!(r.api.count("POST", SEND), 1);
    r.stop().await;
}

#[tokio::test]
async fn events_api_replicas_sharing_a_database_answer_an_event_once() {
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&slack, &model, &api, &db, "mode = \"events\"");
    let mut bases = Vec::new();
    let mut servers = Vec::new();
    let shutdown = CancellationToken::new();
    for n in 0..2 {
        let (app, _) =
            crate::helpers::build_app(&format!("replica{n}.toml"), text.clone(), false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        servers.push(tokio::spawn(app.serve(listener, shutdown.clone())));
    }
    assert!(
        slack
            .wait_for(|s| s.calls_of("auth.test").len() == 2, WAIT)
            .await
    );
    model.push(Reply::Text("answered by one".into()));
    let event = message_event(OPERATOR, DM, "which replica?", &ts(110), None).to_string();
    let now = chrono::Utc::now().timestamp();
    for base in &bases {
        let answer = post_signed(base, "/slack/events", &event, now, None, false, None).await;
        assert_eq!(answer.status(), 200);
    }
    assert!(slack.wait_text(DM, "answered by one", WAIT).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(model.request_count(), 1);
    shutdown.cancel();
    for server in servers {
        server.await.unwrap().unwrap();
    }
}
