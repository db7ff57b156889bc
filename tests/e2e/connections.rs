//! Two Telegram bots in one process (DESIGN §12.3): each answers only its own people,
//! asks its own admins, has its own `/readyz` entry, and a task addressed to
//! `telegram:managers` posts through that bot only; `fanops team` manages either.

use crate::helpers::{fanops, serve_text, telegram_config, MANAGERS_TOKEN, MANAGERS_TOKEN_VAR};
use crate::support::{FakeModel, FakeOnlyFans, FakeTelegram, Reply};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);
/// The managers' bot's admin.
const MANAGER: i64 = 3003;

fn task(channel: &str, to: i64) -> String {
    format!(
        "name = \"Digest for {channel}\"\nprompt = \"Summarise yesterday.\"\n\n[schedule]\ndaily = \"08:00\"\n\n[deliver]\nchannel = \"{channel}\"\nto = \"{to}\"\n"
    )
}

async fn wait_text(tg: &FakeTelegram, chat: i64, needle: &str) -> bool {
    let (probe, needle) = (tg.clone(), needle.to_string());
    tg.wait_for(
        move |_| probe.sent_texts(chat).iter().any(|t| t.contains(&needle)),
        WAIT,
    )
    .await
}

// The command line runs as child processes that call the fakes: keep them served meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_telegram_bots_keep_their_people_and_their_posts_apart() {
    crate::helpers::quiet_logs();
    let (chatters, managers) = (FakeTelegram::start().await, FakeTelegram::start().await);
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("managers-digest.toml"),
        task("telegram:managers", MANAGER),
    )
    .unwrap();
    std::fs::write(workflows.join("chatters-digest.toml"), task("telegram", 1)).unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let accounts = format!(
        "[channels.telegram.accounts.managers]\ntoken_env = \"{MANAGERS_TOKEN_VAR}\"\napi_url = \"{}\"\npermitted_users = [{MANAGER}]\nroles = {{ \"{MANAGER}\" = \"admin\" }}\n\n[scheduler]\nworkflows_dir = \"{}\"\n",
        managers.url(),
        workflows.display()
    );
    let text = telegram_config(&chatters, &model, &api, &db, "poll_timeout = 1", &accounts);
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, &text).unwrap();
    let served = serve_text("two.toml", text).await;

    // The manager is answered by the managers' bot, and is a stranger to the chatters'.
    model.push(Reply::Text("Managers' numbers.".into()));
    managers.push_text(MANAGER, MANAGER, "How are we doing?");
    assert!(wait_text(&managers, MANAGER, "Managers' numbers.").await);
    chatters.push_text(MANAGER, MANAGER, "How are we doing?");
    assert!(wait_text(&chatters, MANAGER, "not allowed").await);
    // User 1 of the chatters' bot is a stranger to the managers': its admin is asked.
    managers.push_text(1, 1, "hi");
    assert!(wait_text(&managers, 1, "not allowed").await);
    assert!(wait_text(&managers, MANAGER, "Access request").await);
    assert!(
        chatters
            .sent_texts(MANAGER)
            .iter()
            .all(|t| !t.contains("Access request")),
        "the chatters' bot asks nobody about the managers' strangers"
    );
    assert_eq!(model.request_count(), 1);
    for call in managers.calls() {
        assert_eq!(call.token, MANAGERS_TOKEN, "{}", call.method);
    }
    for call in chatters.calls() {
        assert_eq!(call.token, "123:test-token", "{}", call.method);
    }
    let ready: serde_json::Value = reqwest::get(format!("{}/readyz", served.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ready["channels"]["telegram:managers"]["ok"], true,
        "{ready}"
    );
    assert_eq!(ready["channels"]["telegram"]["ok"], true, "{ready}");

    // A task addressed to the managers' bot posts through it only.
    model.respond_with(|_| Reply::text("Yesterday: $1,912.40 net."));
    let run = |args: &[&str]| {
        let out = fanops(args, &path, dir.path()).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    };
    let before = chatters.calls_of("sendmessage").len();
    let (ok, out) = run(&["tasks", "run", "managers-digest"]);
    assert!(ok, "{out}");
    assert!(wait_text(&managers, MANAGER, "$1,912.40").await, "{out}");
    assert_eq!(chatters.calls_of("sendmessage").len(), before, "{out}");
    let (ok, out) = run(&["tasks", "run", "chatters-digest"]);
    assert!(ok, "{out}");
    assert!(wait_text(&chatters, 1, "$1,912.40").await, "{out}");
    assert!(!managers
        .sent_texts(1)
        .iter()
        .any(|t| t.contains("$1,912.40")));

    // Usage keeps the platform and adds the bot.
    let (ok, out) = run(&["usage", "--by", "connection", "--format", "csv"]);
    assert!(ok, "{out}");
    let keys: Vec<&str> = out
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .collect();
    assert!(
        keys.contains(&"telegram:managers") && keys.contains(&"telegram"),
        "{out}"
    );
    let (ok, out) = run(&["usage", "--by", "platform", "--format", "csv"]);
    assert!(ok, "{out}");
    assert!(
        !out.contains("telegram:managers") && out.contains("telegram"),
        "{out}"
    );

    // The command line: a change needs --channel when there are two bots; a grant holds
    // on the running process at once; the file's people cannot be removed.
    let (ok, out) = run(&["team", "allow", "1", "viewer"]);
    assert!(!ok && out.contains("--channel"), "{out}");
    assert!(out.contains("telegram:managers"), "{out}");
    let (ok, out) = run(&[
        "team",
        "allow",
        "1",
        "viewer",
        "--channel",
        "telegram:managers",
    ]);
    assert!(ok, "{out}");
    model.push(Reply::Text("Hello from the managers' bot.".into()));
    managers.push_text(1, 1, "and now?");
    assert!(wait_text(&managers, 1, "Hello from the managers' bot.").await);
    let (ok, out) = run(&["team", "list", "--channel", "telegram:managers"]);
    assert!(ok, "{out}");
    assert!(out.contains("3003") && out.contains("fanops.toml"), "{out}");
    assert!(out.contains("command line"), "{out}");
    let (ok, out) = run(&["team", "remove", "3003", "--channel", "telegram:managers"]);
    assert!(!ok && out.contains("config file"), "{out}");
    let (ok, out) = run(&["team", "remove", "1", "--channel", "telegram:managers"]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["team", "list", "--channel", "telegram:nope"]);
    assert!(!ok && out.contains("not a configured connection"), "{out}");
    served.shutdown.cancel();
    served.server.await.unwrap().unwrap();
}

/// In webhook mode a named bot registers and serves its own route with its own secret;
/// the top-level bot's route refuses that secret.
#[tokio::test]
async fn a_named_bot_in_webhook_mode_has_its_own_route_and_secret() {
    crate::helpers::quiet_logs();
    let (chatters, managers) = (FakeTelegram::start().await, FakeTelegram::start().await);
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let accounts = format!(
        "[channels.telegram.accounts.managers]\ntoken_env = \"{MANAGERS_TOKEN_VAR}\"\napi_url = \"{}\"\nmode = \"webhook\"\nwebhook_url = \"https://bot.example.com/telegram/managers/webhook\"\npermitted_users = [{MANAGER}]\n",
        managers.url()
    );
    let text = telegram_config(&chatters, &model, &api, &db, "poll_timeout = 1", &accounts);
    let served = serve_text("hooks.toml", text).await;
    let probe = managers.clone();
    assert!(
        managers
            .wait_for(move |_| !probe.calls_of("setwebhook").is_empty(), WAIT)
            .await
    );
    let registered = managers.calls_of("setwebhook").pop().unwrap().body;
    assert_eq!(
        registered["url"],
        "https://bot.example.com/telegram/managers/webhook"
    );
    let secret = registered["secret_token"].as_str().unwrap().to_string();
    assert_ne!(
        secret, "hook-secret",
        "its own secret, not the top-level one"
    );
    assert!(
        chatters.calls_of("setwebhook").is_empty(),
        "the top-level bot still polls"
    );
    let update = serde_json::json!({"update_id": 9, "message": {"message_id": 5, "date": 0, "chat": {"id": MANAGER, "type": "private", "first_name": "Manager"}, "from": {"id": MANAGER, "is_bot": false, "first_name": "Manager"}, "text": "numbers?"}});
    let http = reqwest::Client::new();
    let post = |route: &str, secret: &str| {
        http.post(format!("{}{route}", served.base))
            .header("X-Telegram-Bot-Api-Secret-Token", secret.to_string())
            .json(&update)
            .send()
    };
    let top = post("/telegram/webhook", &secret).await.unwrap();
    assert_ne!(
        top.status(),
        200,
        "the top-level route is not the managers'"
    );
    model.push(Reply::Text("Managers, by webhook.".into()));
    let ok = post("/telegram/managers/webhook", &secret).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(wait_text(&managers, MANAGER, "Managers, by webhook.").await);
    assert!(chatters.sent_texts(MANAGER).is_empty());
    served.shutdown.cancel();
    served.server.await.unwrap().unwrap();
}
