//! `spawn_app()`: the real wiring, pointed at fake servers.

use crate::support::{FakeModel, FakeOnlyFans};
use async_trait::async_trait;
use fanops::app::App;
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use fanops::core::{Inbound, InboundBody, Outbound, Replier};
use fanops::store::{Decision, SharedStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct TestApp {
    pub app: App,
    /// The clock every part of `app` judges time by; tests move it forward.
    pub clock: Clock,
    pub model: FakeModel,
    pub api: FakeOnlyFans,
    pub _dir: tempfile::TempDir,
}

/// Collects what the core sends back.
#[derive(Default)]
pub struct Collector {
    pub working: AtomicUsize,
    pub replies: Mutex<Vec<Outbound>>,
}

#[async_trait]
impl Replier for Collector {
    fn working(&self) {
        self.working.fetch_add(1, Ordering::SeqCst);
    }

    async fn reply(&self, out: Outbound) {
        self.replies.lock().unwrap().push(out);
    }
}

impl Collector {
    pub fn last(&self) -> Outbound {
        self.replies
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("a reply")
    }
}

pub fn quiet_logs() {
    if std::env::var("TEST_LOG").is_ok() {
        fanops::cli::init_logging("debug");
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with("").await
}

pub async fn spawn_app_with(extra: &str) -> TestApp {
    spawn_with_api(FakeOnlyFans::start().await, extra).await
}

pub async fn spawn_with_api(api: FakeOnlyFans, extra: &str) -> TestApp {
    spawn_with_onlyfans_keys(api, extra, "").await
}

/// Like [`spawn_with_api`], with `keys` (TOML lines) added to the `[onlyfans]` table.
pub async fn spawn_with_onlyfans_keys(api: FakeOnlyFans, extra: &str, keys: &str) -> TestApp {
    quiet_logs();
    let model = FakeModel::start().await;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = crate::support::config_text(&model.url(), &api.url(), &db, extra).replacen(
        "[onlyfans]\n",
        &format!("[onlyfans]\n{keys}\n"),
        1,
    );
    let (app, clock) = build_app("test.toml", text, false).await;
    assert!(app.config.secrets.onlyfansapi_api_key.is_set());
    TestApp {
        app,
        clock,
        model,
        api,
        _dir: dir,
    }
}

impl TestApp {
    pub fn store(&self) -> &SharedStore {
        &self.app.store
    }

    /// A text message from Telegram user `user` in chat `chat`.
    pub async fn say_as(&self, user: &str, chat: &str, text: &str) -> Collector {
        self.send(user, chat, InboundBody::Text(text.into())).await
    }

    /// A message from the operator (user 1) in chat 100.
    pub async fn say(&self, text: &str) -> Collector {
        self.say_as("1", "100", text).await
    }

    pub async fn press(
        &self,
        user: &str,
        chat: &str,
        action_id: &str,
        decision: Decision,
    ) -> Collector {
        let body = InboundBody::Decision {
            action_id: action_id.into(),
            decision,
        };
        self.send(user, chat, body).await
    }

    async fn send(&self, user: &str, chat: &str, body: InboundBody) -> Collector {
        send_to(&self.app, user, chat, body).await
    }
}

/// An event from Telegram user `user` in chat `chat`, through the app's core.
pub async fn send_to(app: &App, user: &str, chat: &str, body: InboundBody) -> Collector {
    let inbound = Inbound {
        platform: "telegram".into(),
        connection: "telegram".into(),
        chat: chat.into(),
        thread: None,
        user: user.into(),
        user_name: format!("user{user}"),
        private: chat == user,
        body,
    };
    let collector = Collector::default();
    app.core.handle(inbound, &collector).await;
    collector
}

/// The content of every tool message in a model request, in order.
pub fn tool_messages(request: &serde_json::Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| m["content"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// `fanops <args> --config <config>` in `dir`, with the secrets the fakes accept.
pub fn fanops(
    args: &[&str],
    config: &std::path::Path,
    dir: &std::path::Path,
) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_fanops"));
    command
        .args(args)
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .env("ONLYFANSAPI_API_KEY", "k")
        .env("FAKE_MODEL_KEY", "k")
        .env("TELEGRAM_BOT_TOKEN", "123:k")
        .env(MANAGERS_TOKEN_VAR, MANAGERS_TOKEN);
    command
}

/// `App::serve` of a config text with the fakes' secrets, on a fresh `127.0.0.1:0`
/// listener, with an adjustable clock.
#[cfg(feature = "telegram")]
pub struct Served {
    pub clock: Clock,
    pub base: String,
    pub shutdown: tokio_util::sync::CancellationToken,
    pub server: tokio::task::JoinHandle<anyhow::Result<()>>,
}

#[cfg(feature = "telegram")]
pub async fn serve_text(origin: &str, text: String) -> Served {
    let (app, clock) = build_app(origin, text, true).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    Served {
        clock,
        base,
        shutdown,
        server,
    }
}

/// The variable and token of a second Telegram bot (`[channels.telegram.accounts.managers]`).
pub const MANAGERS_TOKEN_VAR: &str = "TELEGRAM_MANAGERS_BOT_TOKEN";
pub const MANAGERS_TOKEN: &str = "456:managers-token";

/// The Slack signing secret [`build_app`] gives fanops.
pub const SLACK_SIGNING_SECRET: &str = "slack-signing-secret";
/// The WhatsApp app secret and verify token [`build_app`] gives fanops (its access token
/// is the one the fake Graph API takes).
pub const WHATSAPP_APP_SECRET: &str = "wa-app-secret";
pub const WHATSAPP_VERIFY_TOKEN: &str = "wa-verify-token";
/// `FANOPS_DASHBOARD_TOKEN` of every app [`build_app`] builds.
pub const DASHBOARD_TOKEN: &str = "test-dashboard-token";

/// The real `App` from a config text, with the secrets the fakes accept (the Telegram
/// ones only when `telegram`) and an adjustable clock. Every end-to-end test that runs
/// fanops in-process builds it here.
pub async fn build_app(origin: &str, text: String, telegram: bool) -> (App, Clock) {
    quiet_logs();
    let env = |name: &str| match name {
        "ONLYFANSAPI_API_KEY" => Some("test-ofapi-key".to_string()),
        "FAKE_MODEL_KEY" => Some("test-model-key".to_string()),
        "FAKE_SEARCH_KEY" => Some("test-search-key".to_string()),
        "FAKE_MCP_AUTH" => Some("Bearer test-mcp-token".to_string()),
        "FANOPS_DASHBOARD_TOKEN" => Some(DASHBOARD_TOKEN.to_string()),
        "TELEGRAM_BOT_TOKEN" if telegram => Some("123:test-token".to_string()),
        "TELEGRAM_WEBHOOK_SECRET" if telegram => Some("hook-secret".to_string()),
        // The second bot of the configs that name a `managers` account.
        MANAGERS_TOKEN_VAR if telegram => Some(MANAGERS_TOKEN.to_string()),
        // Harmless without a `[channels.slack]` table.
        "SLACK_BOT_TOKEN" => Some("xoxb-test-token".to_string()),
        "SLACK_APP_TOKEN" => Some("xapp-test-token".to_string()),
        "SLACK_SIGNING_SECRET" => Some(SLACK_SIGNING_SECRET.to_string()),
        // Harmless without a `[channels.whatsapp]` table.
        "WHATSAPP_TOKEN" => Some(crate::support::WHATSAPP_TOKEN.to_string()),
        "WHATSAPP_APP_SECRET" => Some(WHATSAPP_APP_SECRET.to_string()),
        "WHATSAPP_VERIFY_TOKEN" => Some(WHATSAPP_VERIFY_TOKEN.to_string()),
        // A second number of the same app (`[channels.whatsapp.accounts.sales]`).
        "WHATSAPP_SALES_TOKEN" => Some(crate::support::WHATSAPP_TOKEN.to_string()),
        // A token the fake Graph API refuses.
        "WHATSAPP_REVOKED_TOKEN" => Some("revoked-token".to_string()),
        // Harmless without a `[channels.teams]` table.
        "TEAMS_APP_PASSWORD" => Some(crate::support::TEAMS_APP_PASSWORD.to_string()),
        "TEAMS_OPS_APP_PASSWORD" => Some(crate::support::TEAMS_OPS_APP_PASSWORD.to_string()),
        _ => None,
    };
    let config = Config::load_with_env(
        ConfigSource::Text {
            origin: origin.into(),
            text,
        },
        &env,
        &fanops::channels::configs(),
    )
    .unwrap_or_else(|e| panic!("{origin}: {e}"));
    let clock = Clock::adjustable();
    let app = App::build_with_clock(config, clock.clone())
        .await
        .unwrap_or_else(|e| panic!("{origin}: the app builds: {e:#}"));
    (app, clock)
}

#[cfg(feature = "telegram")]
/// A config for the fakes (Telegram at `tg`) with Telegram users 1, 2 and 3 permitted; `telegram` is added
/// to the `[channels.telegram]` table, `extra` after it.
pub fn telegram_config(
    tg: &crate::support::FakeTelegram,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    telegram: &str,
    extra: &str,
) -> String {
    let base = crate::support::config_text(&model.url(), &api.url(), db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    format!(
        "{base}\n[channels.telegram]\napi_url = \"{}\"\npermitted_users = [1, 2, 3]\n{telegram}\n\n{extra}\n",
        tg.url()
    )
}

/// The lines `child` writes to its (piped) stderr, as they come, read on a thread.
pub fn stderr_lines(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, lines) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    lines
}

/// The usage ledger of the store at `db` by kind: (kind, model calls, US dollars).
pub async fn usage_by_kind(db: &str) -> Vec<(String, i64, f64)> {
    let store = fanops::store::connect(db).await.unwrap();
    usage_by_kind_in(&store).await
}

/// [`usage_by_kind`] of an open store.
pub async fn usage_by_kind_in(store: &SharedStore) -> Vec<(String, i64, f64)> {
    let rows = store
        .usage_report(None, fanops::store::UsageDimension::Kind)
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| (r.key, r.model_calls, r.cost_usd))
        .collect()
}

/// The content parts of the last user message of a model request (empty when its
/// content is plain text).
pub fn user_parts(request: &serde_json::Value) -> Vec<serde_json::Value> {
    request["messages"]
        .as_array()
        .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
        .and_then(|m| m["content"].as_array().cloned())
        .unwrap_or_default()
}
