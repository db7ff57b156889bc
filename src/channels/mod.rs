//! Thin adapters between a chat platform and the core. Each turns platform events into
//! `chat::Inbound` and renders `chat::Outbound`; none knows about models, the API or SQL.
//! What every adapter needs lives here once: inbound claims, single-holder leases, the
//! per-chat outbound queue and the "On it…" placeholder, the Markdown splitter, the button payload, and
//! signature checks.
//!
//! Adding a platform is a folder and a line: the folder implements [`Platform`] (its
//! section, secrets, checks, people and roles) and [`Channel`], and [`PLATFORMS`] lists
//! it with its cargo feature. Nothing outside this file and the folder names it.

pub mod buttons;
pub mod claims;
pub mod console;
#[cfg(feature = "discord")]
pub mod discord;
pub mod holder;
pub mod markdown;
pub mod outbox;
pub mod platform;
pub mod render;
pub mod runtime;
pub mod signing;
#[cfg(feature = "slack")]
pub mod slack;
#[cfg(feature = "teams")]
pub mod teams;
#[cfg(feature = "telegram")]
pub mod telegram;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;

use crate::chat::Delivery;
use crate::clock::Clock;
use crate::config::{Config, PlatformConfig};
use crate::core::{AccessPolicy, Core};
use crate::health::Health;
use crate::store::SharedStore;
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use platform::{part_name, per_connection, Check, Finding, Platform, Unbuilt, Verdict};

/// One registry line per platform: its [`Platform`] (built with the cargo feature of its
/// name) and its title; without the feature it is [`Unbuilt`].
macro_rules! platform {
    ($platform:path, $name:literal, $title:literal) => {{
        #[cfg(feature = $name)]
        const PLATFORM: &dyn Platform = &$platform;
        #[cfg(not(feature = $name))]
        const PLATFORM: &dyn Platform = &Unbuilt {
            name: $name,
            title: $title,
        };
        PLATFORM
    }};
}

/// Every chat platform fanops knows, in the order they are set up and listed.
pub static PLATFORMS: &[&dyn Platform] = &[
    platform!(telegram::TelegramPlatform, "telegram", "Telegram"),
    platform!(slack::SlackPlatform, "slack", "Slack"),
    platform!(discord::DiscordPlatform, "discord", "Discord"),
    platform!(whatsapp::WhatsAppPlatform, "whatsapp", "WhatsApp"),
    platform!(teams::TeamsPlatform, "teams", "Microsoft Teams"),
];

/// The registry as the config sees it: `Config::load(source, &channels::configs())`.
pub fn configs() -> Vec<&'static dyn PlatformConfig> {
    PLATFORMS
        .iter()
        .map(|p| *p as &'static dyn PlatformConfig)
        .collect()
}

/// Who may use each configured connection, with which role (the config file's seed; the
/// team in the store adds to it).
pub fn access(config: &Config) -> AccessPolicy {
    AccessPolicy::new(PLATFORMS.iter().flat_map(|p| p.access(config)))
}

/// A chat platform fanops serves.
#[async_trait]
pub trait Channel: Send + Sync {
    /// Its connection's name in deliveries and `/readyz` (`telegram`, `telegram:managers`).
    fn name(&self) -> &str;
    /// How its health goes stale: down when unheard of this long, or `None` when silence
    /// is normal (a webhook).
    fn stale_after(&self) -> Option<Duration>;
    /// The routes it serves on the shared HTTP listener (webhooks), if any.
    fn routes(self: Arc<Self>) -> Option<axum::Router>;
    /// Takes and answers messages until `shutdown`, then lets the turns in flight finish.
    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()>;
    /// Posts unattended answers (scheduled posts, alerts) to this platform.
    fn delivery(self: Arc<Self>) -> Arc<dyn Delivery>;
}

/// What a channel needs from the rest of the process.
#[derive(Clone)]
pub struct ChannelParts {
    pub core: Arc<Core>,
    pub store: SharedStore,
    pub health: Health,
    pub clock: Clock,
    /// `[server] shutdown_grace`.
    pub grace: Duration,
}

/// Every channel the config turns on and this build has; a configured channel whose token
/// is missing is logged and left out.
pub fn build(config: &Config, parts: &ChannelParts) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
    let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
    for platform in PLATFORMS {
        channels.extend(platform.build(config, parts)?);
    }
    for channel in &channels {
        parts.health.register(channel.name(), channel.stale_after());
    }
    Ok(channels)
}

#[cfg(any(
    feature = "telegram",
    feature = "slack",
    feature = "discord",
    feature = "whatsapp",
    feature = "teams"
))]
/// The secret in `var` that configured `connection` needs; `None` (logged, the connection
/// left out) when it is not set.
pub(crate) fn needed_secret(
    config: &Config,
    connection: &crate::config::ConnectionName,
    var: &str,
) -> Option<crate::config::Secret> {
    let secret = config.secrets.platform(var);
    if !secret.is_set() {
        tracing::warn!("{} is configured but {var} is not set", connection.table());
        return None;
    }
    Some(secret)
}

/// A platform refused the bot's credentials: waiting will not fix that, so the channel
/// says so once, in the log and on `/readyz`, stops asking, and waits for shutdown (the
/// rest of fanops keeps serving).
#[cfg(any(
    feature = "telegram",
    feature = "slack",
    feature = "discord",
    feature = "teams"
))]
pub(crate) async fn refused_credentials(
    health: &Health,
    platform: &str,
    sentence: &str,
    shutdown: &CancellationToken,
) {
    health.failing(platform, sentence);
    tracing::error!(platform, "{sentence}");
    shutdown.cancelled().await;
}
