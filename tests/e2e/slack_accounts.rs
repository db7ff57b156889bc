//! Several Slack apps end to end (DESIGN §12.3): two workspaces, each a connection with
//! its own tokens, answer only their own people and post with their own bot token; an
//! account in Events API mode has its own routes and signing secret; `fanops check` reads
//! each account at its own lines.

use crate::slack_team::{
    build, serve, ts, Running, ADMIN, OPERATOR, OPERATOR_DM, WAIT, WS2_DM, WS2_MEMBER,
    WS2_SIGNING_SECRET,
};
use crate::support::{message_event, slack_signature, FakeOnlyFans, FakeSlack, Reply};
use serde_json::Value;
use std::time::Duration;

/// Two workspaces: the first at `ws1` (tokens `SLACK_BOT_TOKEN`, `SLACK_APP_TOKEN`), the
/// second, `slack:ws2`, at `ws2` with its own variables and people.
fn two_workspaces(ws1: &FakeSlack, ws2: &FakeSlack) -> String {
    format!(
        "[channels.slack]\napi_url = \"{}\"\npermitted_users = [\"{ADMIN}\", \"{OPERATOR}\"]\nroles = {{ \"{ADMIN}\" = \"admin\" }}\n\n\
         [channels.slack.accounts.ws2]\napi_url = \"{}\"\ntoken_env = \"SLACK_WS2_BOT_TOKEN\"\napp_token_env = \"SLACK_WS2_APP_TOKEN\"\npermitted_users = [\"{WS2_MEMBER}\"]\nroles = {{ \"{WS2_MEMBER}\" = \"admin\" }}\n",
        ws1.api_url(),
        ws2.api_url()
    )
}

/// Every call `slack` received carried one of `tokens`.
fn only_tokens(slack: &FakeSlack, tokens: [&str; 2]) {
    let calls = slack.calls();
    assert!(!calls.is_empty());
    for call in calls {
        assert!(
            tokens.contains(&call.token.as_str()),
            "{} with {}",
            call.method,
            call.token
        );
    }
}

#[tokio::test]
async fn two_workspaces_answer_only_their_own_people_and_post_with_their_own_bot_token() {
    let ws1 = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let ws2 = FakeSlack::workspace("xoxb-ws2", "xapp-ws2").await;
    let tables = two_workspaces(&ws1, &ws2);
    let r = serve(ws1.clone(), &tables).await;

    r.model.push(Reply::Text("answer in the first".into()));
    ws1.push_event(message_event(OPERATOR, OPERATOR_DM, "hi", &ts(10), None));
    assert!(
        ws1.wait_text(OPERATOR_DM, "answer in the first", WAIT)
            .await
    );
    r.model.push(Reply::Text("answer in the second".into()));
    ws2.push_event(message_event(WS2_MEMBER, WS2_DM, "hi", &ts(11), None));
    assert!(
        ws2.wait_text(WS2_DM, "answer in the second", WAIT).await,
        "{:?}",
        ws2.texts(WS2_DM)
    );
    assert_eq!(r.model.request_count(), 2);

    // The first workspace's operator is a stranger to the second: refused there, and
    // the second's admin is asked there.
    ws2.push_event(message_event(OPERATOR, OPERATOR_DM, "hi", &ts(12), None));
    assert!(
        ws2.wait_text(OPERATOR_DM, "not allowed", WAIT).await,
        "{:?}",
        ws2.texts(OPERATOR_DM)
    );
    assert!(ws2.texts(OPERATOR_DM)[0].contains(OPERATOR));
    assert!(ws2.wait_text("D2WSTWO", "Access request", WAIT).await);
    assert_eq!(r.model.request_count(), 2, "no model call for a stranger");
    assert!(ws1.calls_of("conversations.open").is_empty());
    assert_eq!(ws1.texts(OPERATOR_DM).len(), 1, "nothing more in the first");

    let ready = r.ready().await;
    assert_eq!(ready["channels"]["slack"]["ok"], true, "{ready}");
    assert_eq!(ready["channels"]["slack:ws2"]["ok"], true, "{ready}");
    let (model, api) = (r.model.clone(), FakeOnlyFans::start().await);
    r.stop().await;

    // A task delivered to `slack:ws2` goes through the second app's bot only.
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("digest.toml"),
        "name = \"Morning digest\"\ncategory = \"Reports\"\nprompt = \"Summarise yesterday.\"\n\n[schedule]\ndaily = \"08:00\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"slack:ws2\"\nto = \"C2DIGEST\"\n",
    )
    .unwrap();
    let tables = format!(
        "{tables}\n[scheduler]\nworkflows_dir = \"{}\"\n",
        workflows.display()
    );
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(&model.url(), &api.url(), &db, &tables);
    let (app, _) = build(text).await;
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc();
    app.scheduler
        .tick(at("2026-11-22T07:00:00Z"))
        .await
        .unwrap();
    model.push(Reply::Text("Yesterday: **$1,912.40** net.".into()));
    let tick = app
        .scheduler
        .tick(at("2026-11-22T08:00:20Z"))
        .await
        .unwrap();
    assert_eq!(tick.started.len(), 1);
    for (_, _, handle) in tick.started {
        handle.await.unwrap();
    }
    let posted = ws2.messages("C2DIGEST");
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert!(posted[0].text.contains("*$1,912.40*"), "{}", posted[0].text);
    assert!(ws1.messages("C2DIGEST").is_empty());
    let digest_posts: Vec<_> = ws2
        .calls_of("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == "C2DIGEST")
        .collect();
    assert_eq!(digest_posts.len(), 1);
    assert_eq!(digest_posts[0].token, "xoxb-ws2");
    only_tokens(&ws1, ["xoxb-ws1", "xapp-ws1"]);
    only_tokens(&ws2, ["xoxb-ws2", "xapp-ws2"]);
}

/// Posts `body` as JSON to fanops's `path`, signed now with `secret`.
async fn post_signed(r: &Running, path: &str, body: &str, secret: &str) -> reqwest::StatusCode {
    let at = r.clock.now().timestamp();
    reqwest::Client::new()
        .post(format!("{}{path}", r.base))
        .header("X-Slack-Request-Timestamp", at.to_string())
        .header("X-Slack-Signature", slack_signature(secret, at, body))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn an_accounts_events_api_has_its_own_routes_and_signing_secret() {
    let ws1 = FakeSlack::workspace("xoxb-ws1", "xapp-ws1").await;
    let ws2 = FakeSlack::workspace("xoxb-ws2", "xapp-ws2").await;
    let tables = format!(
        "{}mode = \"events\"\nsigning_secret_env = \"SLACK_WS2_SIGNING_SECRET\"\n",
        two_workspaces(&ws1, &ws2)
    );
    let r = serve(ws1.clone(), &tables).await;
    let listening = |ready: &Value| {
        let entry = &ready["channels"]["slack:ws2"];
        entry["ok"] == true
            && entry["detail"]
                .as_str()
                .unwrap_or("")
                .contains("events API")
    };
    let mut ready = r.ready().await;
    for _ in 0..500 {
        if listening(&ready) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        ready = r.ready().await;
    }
    assert!(listening(&ready), "{ready}");

    let event = message_event(WS2_MEMBER, WS2_DM, "hi", &ts(20), None).to_string();
    let wrong = post_signed(
        &r,
        "/slack/ws2/events",
        &event,
        crate::helpers::SLACK_SIGNING_SECRET,
    );
    assert_eq!(
        wrong.await,
        reqwest::StatusCode::UNAUTHORIZED,
        "another app's secret"
    );
    r.model.push(Reply::Text("answer over HTTP".into()));
    let right = post_signed(&r, "/slack/ws2/events", &event, WS2_SIGNING_SECRET).await;
    assert_eq!(right, reqwest::StatusCode::OK);
    assert!(
        ws2.wait_text(WS2_DM, "answer over HTTP", WAIT).await,
        "{:?}",
        ws2.texts(WS2_DM)
    );
    // The top-level app keeps its socket; the account has no socket of its own.
    assert_eq!(ws2.sockets_opened(), 0);
    assert!(ws1.sockets_opened() >= 1);
    assert_eq!(r.model.request_count(), 1);
    r.stop().await;
}

#[test]
fn fanops_check_reads_each_slack_account_at_its_own_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanops.toml");
    let check = |text: &str| {
        std::fs::write(&path, text).unwrap();
        let out = crate::helpers::fanops(&["check"], &path, dir.path())
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let good = "[channels.slack]\npermitted_users = [\"U012ABCDEF\"]\n\n\
                [channels.slack.accounts.ws2]\ntoken_env = \"SLACK_WS2_BOT_TOKEN\"\napp_token_env = \"SLACK_WS2_APP_TOKEN\"\npermitted_users = [\"U0WS2\"]\n";
    let (code, stdout) = check(good);
    assert_eq!(code, Some(0), "{stdout}");

    let bad = "[channels.slack]\npermitted_users = [\"U012ABCDEF\"]\n\n\
               [channels.slack.accounts.ws2]\npermitted_users = [\"bob\"]\n\n\
               [channels.slack.accounts.ws3]\ntoken_env = \"SLACK_WS3_BOT_TOKEN\"\napp_token_env = \"SLACK_APP_TOKEN\"\nmode = \"rtm\"\n";
    let (code, stdout) = check(bad);
    assert_eq!(code, Some(1), "{stdout}");
    let file = path.display().to_string();
    for expected in [
        format!("{file}:4: [channels.slack.accounts.ws2] needs token_env"),
        format!("{file}:5: `bob` is not a Slack member id"),
        format!(
            "{file}:9: [channels.slack.accounts.ws3] reads `SLACK_APP_TOKEN` like [channels.slack]"
        ),
        format!("{file}:10: mode `rtm` must be \"socket\" or \"events\""),
    ] {
        assert!(stdout.contains(&expected), "{expected:?} in\n{stdout}");
    }
}
