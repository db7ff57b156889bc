//! The app against the fakes: its config, its secrets, serving it, and what tests read
//! back from the fake Discord.

use super::WAIT;
use crate::support::{config_text, FakeDiscord, FakeModel, FakeOnlyFans};
use fanops::app::App;
use fanops::clock::Clock;
use fanops::config::{Config, ConfigSource};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// Members with a role in every config: an operator, an admin.
pub(crate) const OPERATOR: u64 = 222;
pub(crate) const ADMIN: u64 = 333;

pub(crate) struct Running {
    pub(crate) dc: FakeDiscord,
    pub(crate) model: FakeModel,
    pub(crate) api: FakeOnlyFans,
    pub(crate) clock: Clock,
    shutdown: CancellationToken,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub(crate) _dir: tempfile::TempDir,
}

/// A config for the fakes with `[channels.discord]` (plus `discord` in that table) and
/// `extra` after it; no Telegram.
pub(crate) fn discord_config(
    dc: &FakeDiscord,
    model: &FakeModel,
    api: &FakeOnlyFans,
    db: &str,
    discord: &str,
    extra: &str,
) -> String {
    let base = config_text(&model.url(), &api.url(), db, "");
    let base = &base[..base.find("[channels.telegram]").unwrap()];
    format!(
        "{base}\n[channels.discord]\napi_url = \"{}\"\nroles = {{ \"{OPERATOR}\" = \"operator\", \"{ADMIN}\" = \"admin\" }}\n{discord}\n\n{extra}\n",
        dc.url()
    )
}

/// The real `App` with the secrets the fakes accept, Discord's token included.
pub(crate) async fn discord_app(text: String) -> (App, Clock) {
    discord_app_with(text, &[]).await
}

/// [`discord_app`] with `more` variables set (other bots' tokens).
pub(crate) async fn discord_app_with(text: String, more: &[(&str, &str)]) -> (App, Clock) {
    crate::helpers::quiet_logs();
    let env = |name: &str| match name {
        "ONLYFANSAPI_API_KEY" => Some("test-ofapi-key".to_string()),
        "FAKE_MODEL_KEY" => Some("test-model-key".to_string()),
        "DISCORD_BOT_TOKEN" => Some("discord-test-token".to_string()),
        _ => more
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| value.to_string()),
    };
    let source = ConfigSource::Text {
        origin: "discord.toml".into(),
        text,
    };
    let config = Config::load_with_env(source, &env, &fanops::channels::configs())
        .unwrap_or_else(|e| panic!("{e}"));
    let clock = Clock::adjustable();
    let app = App::build_with_clock(config, clock.clone()).await.unwrap();
    (app, clock)
}

pub(crate) async fn serve(
    app: App,
) -> (
    CancellationToken,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    (shutdown, server)
}

pub(crate) async fn running(discord: &str) -> Running {
    let (dc, model, api) = (
        FakeDiscord::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let (app, clock) = discord_app(discord_config(&dc, &model, &api, &db, discord, "")).await;
    let (shutdown, server) = serve(app).await;
    assert!(
        dc.wait_for(|dc| dc.connected(), WAIT).await,
        "the gateway session starts"
    );
    Running {
        dc,
        model,
        api,
        clock,
        shutdown,
        server,
        _dir: dir,
    }
}

impl Running {
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.server.await.unwrap().unwrap();
    }

    /// Waits for a bot message containing `needle` in `channel`.
    pub(crate) async fn wait_text(&self, channel: u64, needle: &str) -> bool {
        self.dc.wait_text(channel, needle, WAIT).await
    }

    /// Posts to the bot's messages (`POST /channels/*/messages`) in `channel`.
    pub(crate) fn posts_to(&self, channel: u64) -> Vec<Value> {
        self.dc
            .calls_to("POST", &format!("/channels/{channel}/messages"))
            .into_iter()
            .map(|c| c.body)
            .collect()
    }

    /// Ephemeral follow-ups to button presses, their texts.
    pub(crate) fn told_pressers(&self) -> Vec<String> {
        self.dc
            .calls()
            .into_iter()
            .filter(|c| c.method == "POST" && c.path.starts_with("/webhooks/"))
            .map(|c| {
                assert_eq!(c.body["flags"], 64, "only the presser sees it: {}", c.body);
                c.body["content"].as_str().unwrap_or("").to_string()
            })
            .collect()
    }
}
