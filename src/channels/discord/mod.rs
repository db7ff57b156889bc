//! Discord: the team @mentions the bot in a server channel; it answers in a thread it
//! starts from that message and follows the thread from then on, without mentions.
//!
//! serenity holds the gateway session (identify, heartbeats, resume, reconnect); with
//! several replicas one holds it at a time (the shared single-holder lease) and another
//! takes over. serenity runs each event on its own task, so events are put back in order
//! per channel here ([`inbound`]), the threads fanops follows are kept in the store, and
//! every event is claimed before it is handled, so a resumed session that replays one
//! does not answer it twice. Replies go through one queue per channel that waits out
//! Discord's 429s ([`rest`]).

mod gateway;
mod inbound;
pub mod markdown;
#[cfg(test)]
mod props;
mod reply;
mod rest;
mod section;

use crate::channels::runtime::Runtime;
use crate::channels::{Channel, ChannelParts};
use crate::chat::{Attachment, Delivery, DeliveryFailure};
use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::core::Core;
use crate::health::Health;
use crate::store::SharedStore;
use anyhow::Context;
use reply::Outbox;
pub use section::{DiscordConfig, DiscordPlatform};
use serenity::all::{ChannelId, UserId};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const PLATFORM: &str = "discord";
/// Claims of gateway events (messages and button presses).
const EVENT_CLAIMS: &str = "discord.event";
/// The lease of the one process that holds the gateway session.
const GATEWAY_LEASE: &str = "discord.gateway";

pub struct Discord {
    outbox: Outbox,
    /// Builds each gateway session's client; never logged.
    token: String,
    config: DiscordConfig,
    core: Arc<Core>,
    store: SharedStore,
    health: Health,
    clock: Clock,
    /// The bot's own user id, from READY.
    me: OnceLock<UserId>,
    /// Event claims, and the lease of the gateway: only one process holds the session.
    runtime: Runtime,
    /// Events waiting for their turn, in order per channel.
    lanes: inbound::Lanes,
}

impl Discord {
    /// The Discord channel when `[channels.discord]` is configured and the bot token is
    /// set; `None` (logged) when the token is missing.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Option<Arc<dyn Channel>>> {
        let Some(discord) = config.section::<DiscordConfig>(PLATFORM) else {
            return Ok(None);
        };
        let Some(token) = super::needed_secret(
            config,
            &crate::config::ConnectionName::top(PLATFORM),
            section::BOT_TOKEN,
        ) else {
            return Ok(None);
        };
        let channel =
            Discord::new(&discord, &token, parts.clone()).context("while setting up Discord")?;
        Ok(Some(channel))
    }

    pub fn new(
        config: &DiscordConfig,
        token: &Secret,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Discord>> {
        let token = token.expose().context("DISCORD_BOT_TOKEN is not set")?;
        url::Url::parse(&config.api_url).context("channels.discord.api_url")?;
        let rest = rest::Rest::new(&config.api_url, token)?;
        Ok(Arc::new(Discord {
            outbox: Outbox::new(rest),
            token: token.to_string(),
            config: config.clone(),
            runtime: Runtime::new("Discord", &parts, EVENT_CLAIMS, GATEWAY_LEASE),
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            me: OnceLock::new(),
            lanes: inbound::Lanes::default(),
        }))
    }

    /// Holds the gateway (or stands by) until `shutdown`; then lets the turns in flight
    /// finish for up to the grace period.
    async fn serve(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.runtime.follow(&shutdown);
        let this = self.clone();
        let recover = move || {
            let this = this.clone();
            async move { this.recover().await }
        };
        let serving = self.clone().hold_gateway(shutdown);
        self.runtime.serve(recover, serving).await
    }
}

#[async_trait::async_trait]
impl Channel for Discord {
    fn name(&self) -> &str {
        PLATFORM
    }

    /// A gateway session that has not reported in a minute is down (a held session
    /// reports every few seconds; a standby reports its standing as often).
    fn stale_after(&self) -> Option<Duration> {
        Some(Duration::from_secs(60))
    }

    /// Everything arrives over the gateway: no routes.
    fn routes(self: Arc<Self>) -> Option<axum::Router> {
        None
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.serve(shutdown).await
    }

    fn delivery(self: Arc<Self>) -> Arc<dyn Delivery> {
        self
    }
}

/// Scheduled posts and alerts, by REST alone: works from any process, with or without the
/// gateway (`fanops tasks run` included).
#[async_trait::async_trait]
impl Delivery for Discord {
    async fn notify(
        &self,
        _to: crate::chat::Recipient<'_>,
        _out: &crate::chat::Outbound,
    ) -> Result<(), crate::chat::DeliveryFailure> {
        Err(crate::chat::DeliveryFailure {
            posted: 0,
            retry: false,
            message: "notices are not posted here yet".into(),
        })
    }

    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        let channel = to
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| *id != 0)
            .map(ChannelId::new)
            .ok_or_else(|| DeliveryFailure {
                posted: skip,
                retry: false,
                message: format!("`{to}` is not a Discord channel id"),
            })?;
        self.outbox
            .post(channel, text, files, skip)
            .await
            .map_err(|(posted, failure)| DeliveryFailure {
                posted,
                retry: matches!(failure, crate::channels::outbox::SendFailure::Later(_)),
                message: failure.message().to_string(),
            })
    }
}
