//! Problems that waiting will not fix are named, with what to change; only a rate limit, a
//! provider error and a timeout are called temporary.

use crate::helpers::{build_app, spawn_app, TestApp};
use crate::support::{config_text, FakeModel, FakeOnlyFans, Reply};
use serde_json::json;

/// The real app whose model provider reads its key from a variable that is not set.
async fn app_without_model_key() -> TestApp {
    let model = FakeModel::start().await;
    let api = FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config_text(&model.url(), &api.url(), &db, "")
        .replace("FAKE_MODEL_KEY", "FANOPS_UNSET_MODEL_KEY");
    let (app, clock) = build_app("test.toml", text, false).await;
    TestApp {
        app,
        clock,
        model,
        api,
        _dir: dir,
    }
}

fn says_to_wait(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("try again") || lower.contains("in a minute") || lower.contains("temporar")
}

#[tokio::test]
async fn an_unset_model_key_is_named_and_nothing_is_sent() {
    let t = app_without_model_key().await;
    let text = t.say("How much did we earn this week?").await.last().text;
    assert!(text.contains("`FANOPS_UNSET_MODEL_KEY`"), "{text}");
    assert!(
        text.contains("`fake`") && text.contains("not set"),
        "{text}"
    );
    assert!(!says_to_wait(&text), "{text}");
    assert_eq!(
        t.model.request_count(),
        0,
        "no request with an empty bearer"
    );
}

#[tokio::test]
async fn a_refused_model_key_is_named_and_not_retried() {
    let t = spawn_app().await;
    let body = json!({"error": {"message": "Incorrect API key provided: sk-…abcd.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
    t.model
        .respond_with(move |_| Reply::Status(401, body.to_string()));
    let text = t.say("hello").await.last().text;
    assert!(
        text.contains("refused the key in `FAKE_MODEL_KEY`") && text.contains("`fake`"),
        "{text}"
    );
    assert!(!says_to_wait(&text), "{text}");
    assert!(
        !text.contains("sk-"),
        "the provider's raw answer stays in the log: {text}"
    );
    assert_eq!(t.model.request_count(), 1, "a refused key is not retried");
}

#[tokio::test]
async fn an_unknown_model_id_is_named_with_where_to_fix_it() {
    let t = spawn_app().await;
    // A JSON refusal, and a gateway's plain-text 404 for the same cause.
    let json_404 = json!({"error": {"message": "The model `fake-1` does not exist or you do not have access to it.", "type": "invalid_request_error", "param": null, "code": "model_not_found"}});
    for body in [json_404.to_string(), "404 page not found".to_string()] {
        t.model.push(Reply::Status(404, body));
        let text = t.say("hello").await.last().text;
        assert!(
            text.contains("model id `fake-1`") && text.contains("[llm.models.\"test-model\"]"),
            "{text}"
        );
        assert!(!says_to_wait(&text), "{text}");
    }
    assert_eq!(t.model.request_count(), 2);
}

#[tokio::test]
async fn only_a_provider_outage_is_called_temporary() {
    let t = spawn_app().await;
    t.model
        .push_all((0..4).map(|_| Reply::Status(503, "<html>upstream exploded</html>".into())));
    let text = t.say("hello").await.last().text;
    assert!(text.contains("not answering right now"), "{text}");
    assert!(text.contains("Try again in a minute"), "{text}");
    assert!(!text.contains("exploded"), "{text}");

    t.model.push(Reply::Status(
        400,
        json!({"error": {"message": "tools[3] is invalid", "type": "invalid_request_error"}})
            .to_string(),
    ));
    let text = t.say("hello").await.last().text;
    assert!(text.contains("refused the request"), "{text}");
    assert!(!says_to_wait(&text), "a refusal is not temporary: {text}");
}

#[tokio::test]
async fn a_refused_onlyfansapi_key_is_named_before_any_model_call() {
    let t = spawn_app().await;
    t.api.fail_always("/api/", 401);
    let text = t.say("How much did we earn this week?").await.last().text;
    assert!(
        text.contains("OnlyFansAPI refused the key in `ONLYFANSAPI_API_KEY`"),
        "{text}"
    );
    assert!(!says_to_wait(&text), "{text}");
    assert_eq!(
        t.model.request_count(),
        0,
        "the model is not paid to work around a key that cannot work"
    );
}

#[tokio::test]
async fn a_key_refused_in_the_middle_of_a_turn_ends_it_with_the_cause() {
    let t = spawn_app().await;
    t.model.push(Reply::tool(
        "call_endpoint",
        json!({"endpoint": "statistics/statistics-overview", "account": "acct_8f3k2j1h0g9f8e7d"}),
    ));
    // The accounts were listed for the prompt; then the key is revoked.
    t.api.fail_always("statistics/overview", 401);
    let text = t.say("overview").await.last().text;
    assert!(
        text.contains("OnlyFansAPI refused the key in `ONLYFANSAPI_API_KEY`"),
        "{text}"
    );
    assert_eq!(t.model.request_count(), 1, "no second model call");
    assert_eq!(
        t.api
            .count("GET", "/api/acct_8f3k2j1h0g9f8e7d/statistics/overview"),
        1,
        "a refused key is not retried"
    );
}

/// `fanops chat` and a scheduled run's recorded error say the same, through the binary.
// The CLI runs as a child process that calls the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_and_a_run_record_name_the_unset_variable() {
    use std::io::Write;
    let model = FakeModel::start().await;
    let api = FakeOnlyFans::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, config_text(&model.url(), &api.url(), &db, "")).unwrap();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut child = crate::helpers::fanops(args, &path, dir.path())
            .env_remove("FAKE_MODEL_KEY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr)
    };
    let chat = run(&["chat"], b"How much did we earn?\n/quit\n");
    assert!(
        chat.contains("`FAKE_MODEL_KEY`") && chat.contains("not set"),
        "{chat}"
    );
    assert!(!says_to_wait(&chat), "{chat}");

    // What `tasks run` prints is the run as recorded in the store.
    let out = run(&["tasks", "run", "daily-earnings-digest"], b"");
    assert!(out.contains("failed"), "{out}");
    assert!(out.contains("`FAKE_MODEL_KEY`"), "{out}");
    assert_eq!(model.request_count(), 0);
}
