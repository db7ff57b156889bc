//! A platform that refuses the bot's token at start is named with the variable to fix, on
//! `/readyz` and in the log, and is not asked again: waiting will not fix a token.

use serde_json::Value;
use std::time::Duration;

/// `/readyz`'s entry for `part`, once its detail contains `needle` (or the last seen).
async fn readyz_until(base: &str, part: &str, needle: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(format!("{base}/readyz")).await {
            last = response.json().await.unwrap_or(Value::Null);
            let detail = last["channels"][part]["detail"].as_str().unwrap_or("");
            if detail.contains(needle) {
                return last["channels"][part].clone();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("/readyz never said {needle:?} of {part}: {last}");
}

/// Longer than the first pause before a retry (1 s): a retry would have happened.
const PAST_FIRST_RETRY: Duration = Duration::from_millis(1500);

#[cfg(feature = "telegram")]
#[tokio::test]
async fn telegram_refusing_the_bot_token_is_named_and_not_retried() {
    use crate::support::{FakeModel, FakeOnlyFans, FakeTelegram};
    let (tg, model, api) = (
        FakeTelegram::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    tg.refuse_token("123:test-token");
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::helpers::telegram_config(&tg, &model, &api, &db, "", "");
    let served = crate::helpers::serve_text("t.toml", text).await;
    let entry = readyz_until(&served.base, "telegram", "refused the bot token").await;
    assert_eq!(entry["ok"], false, "{entry}");
    let detail = entry["detail"].as_str().unwrap();
    assert!(detail.contains("`TELEGRAM_BOT_TOKEN`"), "{detail}");
    assert!(
        !detail.contains("test-token"),
        "the token is never shown: {detail}"
    );
    tokio::time::sleep(PAST_FIRST_RETRY).await;
    assert_eq!(
        tg.calls_of("getme").len(),
        1,
        "a refused token is not retried"
    );
    assert!(tg.calls_of("getupdates").is_empty());
    served.shutdown.cancel();
    served.server.await.unwrap().unwrap();
}

#[cfg(feature = "slack")]
#[tokio::test]
async fn slack_refusing_the_bot_token_is_named_and_not_retried() {
    use crate::support::{FakeModel, FakeOnlyFans, FakeSlack, SlackFailure};
    let (slack, model, api) = (
        FakeSlack::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    slack.fail_next("auth.test", vec![SlackFailure::Error("token_revoked")]);
    let r = crate::slack::start(slack, model, api, tempfile::tempdir().unwrap(), "").await;
    let entry = readyz_until(&r.base, "slack", "refused the bot token").await;
    let detail = entry["detail"].as_str().unwrap();
    assert!(
        detail.contains("`SLACK_BOT_TOKEN`") && detail.contains("token_revoked"),
        "{detail}"
    );
    tokio::time::sleep(PAST_FIRST_RETRY).await;
    assert_eq!(r.slack.calls_of("auth.test").len(), 1);
    assert!(r.slack.calls_of("apps.connections.open").is_empty());
    r.shutdown.cancel();
    r.server.await.unwrap().unwrap();
}

#[cfg(feature = "discord")]
#[tokio::test]
async fn discord_refusing_the_bot_token_is_named_and_not_retried() {
    use crate::support::{DcFailure, FakeDiscord, FakeModel, FakeOnlyFans};
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    dc.fail_next("GET /users/@me", vec![DcFailure::Status(401)]);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::discord::discord_config(&dc, &model, &api, &db, "", "");
    let (app, _clock) = crate::discord::discord_app(text).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    let entry = readyz_until(&base, "discord", "refused the bot token").await;
    let detail = entry["detail"].as_str().unwrap();
    assert!(detail.contains("`DISCORD_BOT_TOKEN`"), "{detail}");
    tokio::time::sleep(PAST_FIRST_RETRY).await;
    assert_eq!(dc.calls_to("GET", "/users/@me").len(), 1);
    assert!(!dc.connected(), "no gateway session with a refused token");
    shutdown.cancel();
    server.await.unwrap().unwrap();
}
