//! WhatsApp across processes and restarts: replicas sharing a database, a killed
//! process's claimed message, a second number as an account, shutdown mid-turn, and a
//! token Graph refuses.

use crate::helpers::WHATSAPP_APP_SECRET;
use crate::support::{
    for_number, text_message, wa_signature, FakeModel, FakeOnlyFans, FakeWhatsApp, Reply,
    WA_PHONE_NUMBER_ID, WA_SECOND_NUMBER_ID,
};
use crate::whatsapp::{config, running, running_with, HOOK, OPERATOR, VIEWER, WAIT};
use serde_json::{json, Value};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
#[tokio::test]
async fn replicas_sharing_a_database_answer_a_message_once() {
    let (wa, model, api) = (
        FakeWhatsApp::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&wa, &model, &api, &db, "", "");
    let shutdown = CancellationToken::new();
    let (mut bases, mut servers) = (Vec::new(), Vec::new());
    for n in 0..2 {
        let (app, _) =
            crate::helpers::build_app(&format!("replica{n}.toml"), text.clone(), false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        bases.push(format!("http://{}", listener.local_addr().unwrap()));
        servers.push(tokio::spawn(app.serve(listener, shutdown.clone())));
    }
    model.push(Reply::Text("answered by one".into()));
    let now = chrono::Utc::now().timestamp();
    let body = text_message(OPERATOR, "Kerry", "wamid.R1", now, "which replica?").to_string();
    for base in &bases {
        let answer = reqwest::Client::new()
            .post(format!("{base}{HOOK}"))
            .header(
                "X-Hub-Signature-256",
                wa_signature(WHATSAPP_APP_SECRET, &body),
            )
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    assert!(wa.wait_text(OPERATOR, "answered by one", WAIT).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(model.request_count(), 1);
    assert_eq!(wa.texts_to(OPERATOR).len(), 1);
    shutdown.cancel();
    for server in servers {
        server.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_message_a_killed_process_claimed_is_answered_by_the_next() {
    let (wa, model, api) = (
        FakeWhatsApp::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&wa, &model, &api, &db, "", "");
    let (app, clock) = crate::helpers::build_app("next.toml", text, false).await;
    // What a process killed (kill -9) mid-turn leaves: a claim whose lease ran out.
    let now = clock.now();
    let claim = fanops::store::InboundClaim {
        source: "whatsapp.message".into(),
        id: "wamid.K1".into(),
        payload: json!({"kind": "message", "id": "wamid.K1", "from": OPERATOR, "name": "Kerry", "text": "still there?"}).to_string(),
        owner: "a-killed-process".into(),
        claimed_at: now - chrono::Duration::minutes(2),
        lease_until: now - chrono::Duration::minutes(1),
        attempts: 1,
        placeholder: None,
    };
    assert!(app.store.claim_inbound(&claim).await.unwrap());
    model.push(Reply::Text("yes, answered after the restart".into()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    assert!(
        wa.wait_text(OPERATOR, "answered after the restart", WAIT)
            .await
    );
    assert_eq!(
        model.requests()[0]["messages"][1]["content"],
        "still there?"
    );
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_second_number_is_an_account_with_its_own_route_and_people() {
    const SALES: &str = "447700900050";
    let account = format!(
        "[channels.whatsapp.accounts.sales]\ntoken_env = \"WHATSAPP_SALES_TOKEN\"\nphone_number_id = \"{WA_SECOND_NUMBER_ID}\"\npermitted_numbers = [\"{SALES}\"]\n"
    );
    let r = running_with("", move |_| account.clone()).await;
    let to_sales = |id: &str, text: &str| {
        for_number(
            text_message(SALES, "Sam", id, r.now(), text),
            WA_SECOND_NUMBER_ID,
        )
    };
    // At the account's own route.
    r.model.push(Reply::Text("sales answer one".into()));
    let body = to_sales("wamid.S1", "first").to_string();
    let answer = reqwest::Client::new()
        .post(format!("{}/whatsapp/sales/webhook", r.base))
        .header(
            "X-Hub-Signature-256",
            wa_signature(WHATSAPP_APP_SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert!(r.wait_text(SALES, "sales answer one").await);
    // Meta posts every number of one app to the app's one URL: handed to the account.
    r.model.push(Reply::Text("sales answer two".into()));
    r.deliver(to_sales("wamid.S2", "second")).await;
    assert!(r.wait_text(SALES, "sales answer two").await);
    let sent = r.wa.messages_to(SALES);
    assert_eq!(sent.len(), 2);
    assert!(
        sent.iter().all(|m| m["from_number"] == WA_SECOND_NUMBER_ID),
        "{sent:?}"
    );
    // The account's people are its own: on the top-level number Sam is a stranger.
    r.deliver(text_message(SALES, "Sam", "wamid.S3", r.now(), "hi"))
        .await;
    assert!(r.wait_text(SALES, "not allowed").await);
    assert_eq!(
        r.wa.messages_to(SALES)[2]["from_number"],
        WA_PHONE_NUMBER_ID
    );
    assert_eq!(r.model.request_count(), 2);
    let ready: Value = reqwest::get(format!("{}/readyz", r.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["channels"]["whatsapp:sales"]["ok"], true, "{ready}");
    r.stop().await;
}

#[tokio::test]
async fn a_turn_in_flight_at_shutdown_is_finished_and_nothing_new_is_taken() {
    let r = running("").await;
    r.model.set_delay(Duration::from_millis(800));
    r.model.push(Reply::Text("finished while stopping".into()));
    r.say(OPERATOR, "wamid.T1", "slow question").await;
    let until = tokio::time::Instant::now() + WAIT;
    while r.model.request_count() == 0 && tokio::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.model.request_count(), 1, "the turn is in flight");
    r.shutdown.cancel();
    // While stopping, Meta is asked to deliver again later (here or to another replica).
    let late = text_message(VIEWER, "Vi", "wamid.T2", r.now(), "too late");
    match reqwest::Client::new()
        .post(format!("{}{HOOK}", r.base))
        .header(
            "X-Hub-Signature-256",
            wa_signature(WHATSAPP_APP_SECRET, &late.to_string()),
        )
        .body(late.to_string())
        .send()
        .await
    {
        Ok(answer) => assert_eq!(answer.status(), 503),
        Err(e) => assert!(e.is_connect() || e.is_request(), "{e}"),
    }
    r.server.await.unwrap().unwrap();
    assert_eq!(r.wa.texts_to(OPERATOR), ["finished while stopping"]);
    assert!(r.wa.messages_to(VIEWER).is_empty());
    assert_eq!(r.model.request_count(), 1);
}

#[tokio::test]
async fn a_token_graph_refuses_is_said_on_readyz_and_messages_are_left_with_meta() {
    let r = running("token_env = \"WHATSAPP_REVOKED_TOKEN\"").await;
    let until = tokio::time::Instant::now() + WAIT;
    let entry = loop {
        let ready: Value = reqwest::get(format!("{}/readyz", r.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = ready["channels"]["whatsapp"].clone();
        let said = entry["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refused"));
        if said || tokio::time::Instant::now() >= until {
            break entry;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(entry["ok"], false, "{entry}");
    let detail = entry["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("refused the access token in `WHATSAPP_REVOKED_TOKEN`"),
        "{entry}"
    );
    assert!(
        !detail.contains("revoked-token"),
        "the token itself is never shown: {entry}"
    );
    let body = text_message(OPERATOR, "Kerry", "wamid.V1", r.now(), "hello?");
    assert_eq!(
        r.post(&body, None).await.status(),
        503,
        "Meta keeps it and delivers it again"
    );
    assert_eq!(r.model.request_count(), 0);
    assert!(r.wa.messages().is_empty());
    r.stop().await;
}
