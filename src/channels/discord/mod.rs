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
//!
//! Each configured bot (`[channels.discord]`, and each `[channels.discord.accounts.<name>]`
//! with its own `token_env`) is one connection with its own people, gateway session,
//! claims, followed threads and `/readyz` entry. Notices (an access request to an admin)
//! go to the person's direct messages with the bot; a press there is handled like any
//! other, and a message there is answered in the same direct messages (no thread, no
//! mention needed).

mod doctor;
mod files;
mod gateway;
mod inbound;
pub mod markdown;
#[cfg(test)]
mod props;
mod reply;
mod rest;
mod section;
mod setup;

use crate::channels::outbox::SendFailure;
use crate::channels::runtime::Runtime;
use crate::channels::{Channel, ChannelParts};
use crate::chat::{Attachment, Delivery, DeliveryFailure, Outbound, Recipient};
use crate::clock::Clock;
use crate::config::{Config, Connection, Secret};
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

pub struct Discord {
    /// Which bot this is (`discord`, `discord:moderators`): health, people, threads and
    /// deliveries go by it.
    name: String,
    /// The variable its token is read from, for sentences.
    token_var: String,
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
    /// Downloads of the files people attach.
    http: reqwest::Client,
}

impl Discord {
    /// A channel for each Discord bot configured whose token is set; one whose token is
    /// missing is logged and left out.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for connection in config.connections::<DiscordConfig>(PLATFORM) {
            let var = connection.token_var(section::BOT_TOKEN);
            let Some(token) = super::needed_secret(config, &connection.name, var) else {
                continue;
            };
            let table = connection.name.table();
            let channel = Discord::new(connection, &token, parts.clone())
                .with_context(|| format!("while setting up {table}"))?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub fn new(
        connection: Connection<DiscordConfig>,
        token: &Secret,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Discord>> {
        let token_var = connection.token_var(section::BOT_TOKEN).to_string();
        let (name, config) = (connection.name, connection.section);
        let token = token
            .expose()
            .with_context(|| format!("{token_var} is not set"))?;
        url::Url::parse(&config.api_url).with_context(|| name.at(&["api_url"]).join("."))?;
        let rest = rest::Rest::new(&config.api_url, token)?;
        Ok(Arc::new(Discord {
            outbox: Outbox::new(rest),
            token: token.to_string(),
            config,
            // Event claims, and the lease of the one process that holds the gateway
            // session: `discord.event` and `discord.gateway` for the top-level bot.
            runtime: Runtime::new("Discord", &parts, &name.key("event"), &name.key("gateway")),
            name: name.to_string(),
            token_var,
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            me: OnceLock::new(),
            lanes: inbound::Lanes::default(),
            http: reqwest::Client::new(),
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
        &self.name
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
    /// A person gets the notice in their direct messages with the bot (opened, or found,
    /// by `POST /users/@me/channels`); a chat gets it in that channel.
    async fn notify(&self, to: Recipient<'_>, out: &Outbound) -> Result<(), DeliveryFailure> {
        let channel = match to {
            Recipient::Chat(id) => ChannelId::new(snowflake(id, "channel")?),
            Recipient::Person(id) => {
                let user = snowflake(id, "user")?;
                self.outbox
                    .direct_channel(user)
                    .await
                    .map_err(|failure| delivery_failure(0, failure))?
            }
        };
        self.outbox
            .notify(channel, out)
            .await
            .map_err(|(posted, failure)| delivery_failure(posted, failure))
    }

    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        let channel = ChannelId::new(
            snowflake(to, "channel").map_err(|e| DeliveryFailure { posted: skip, ..e })?,
        );
        self.outbox
            .post(channel, text, files, skip)
            .await
            .map_err(|(posted, failure)| delivery_failure(posted, failure))
    }
}

/// A Discord id (`kind`: "channel", "user") as written in a delivery or a notice.
fn snowflake(text: &str, kind: &str) -> Result<u64, DeliveryFailure> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|id| *id != 0)
        .ok_or_else(|| DeliveryFailure {
            posted: 0,
            retry: false,
            message: format!("`{text}` is not a Discord {kind} id"),
        })
}

/// A send that failed after `posted` parts, in a delivery's terms.
fn delivery_failure(posted: usize, failure: SendFailure) -> DeliveryFailure {
    DeliveryFailure {
        posted,
        retry: matches!(failure, SendFailure::Later(_)),
        message: failure.message().to_string(),
    }
}
