//! Slack: DMs with the bot, and channel threads that mention it (slack-morphism for the
//! Web API and the event types).
//!
//! Two transports: Socket Mode (default; one replica holds the socket) or the Events API
//! over HTTP (`POST /slack/events`, `POST /slack/interactions`, signed requests, any
//! number of replicas). Either way every message is claimed in the store by channel and
//! `ts` before it is handled, so a mention that arrives twice (`app_mention` and
//! `message.channels`), a redelivered envelope or a retried request is answered once.
//! Replies go through one queue per channel that waits out Slack's `Retry-After`.

mod events;
mod inbound;
pub mod mrkdwn;
#[cfg(test)]
mod props;
mod reply;
mod section;
mod socket;

use crate::channels::runtime::Runtime;
use crate::channels::{buttons, Channel, ChannelParts};
use crate::chat::{Inbound, InboundBody};
use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::core::Core;
use crate::health::Health;
use crate::store::{FollowedThread, SharedStore};
use anyhow::Context;
use inbound::Request;
use reply::{Client, Outbox, Press, SlackReplier};
pub use section::{SlackConfig, SlackPlatform};
use slack_morphism::prelude::*;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const PLATFORM: &str = "slack";
const EVENT_CLAIMS: &str = "slack.event";
/// The lease of the one process that holds the Socket Mode connection.
const SOCKET_LEASE: &str = "slack.socket";

pub struct Slack {
    client: Arc<Client>,
    bot_token: SlackApiToken,
    app_token: Option<SlackApiToken>,
    signing_secret: Option<String>,
    outbox: Outbox,
    core: Arc<Core>,
    store: SharedStore,
    health: Health,
    clock: Clock,
    config: SlackConfig,
    /// The bot's own member id, from `auth.test`.
    me: OnceLock<String>,
    /// Event claims, and the lease of Socket Mode: only one process holds the socket.
    runtime: Runtime,
}

impl Slack {
    /// The Slack channel when `[channels.slack]` is configured and its tokens are set;
    /// `None` (logged) when one is missing.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Option<Arc<dyn Channel>>> {
        let Some(slack) = config.section::<SlackConfig>(PLATFORM) else {
            return Ok(None);
        };
        let secret = |var| config.secrets.platform(var);
        let (bot, app, signing) = (
            secret(section::BOT_TOKEN),
            secret(section::APP_TOKEN),
            secret(section::SIGNING_SECRET),
        );
        let missing = match slack.mode.as_str() {
            _ if !bot.is_set() => Some(section::BOT_TOKEN),
            "events" if !signing.is_set() => Some(section::SIGNING_SECRET),
            "socket" if !app.is_set() => Some(section::APP_TOKEN),
            _ => None,
        };
        if let Some(name) = missing {
            tracing::warn!(
                mode = %slack.mode,
                "[channels.slack] is configured but {name} is not set; Slack is off"
            );
            return Ok(None);
        }
        let channel = Slack::new(&slack, &bot, &app, &signing, parts.clone())
            .context("while setting up Slack")?;
        Ok(Some(channel))
    }

    pub fn new(
        config: &SlackConfig,
        bot_token: &Secret,
        app_token: &Secret,
        signing_secret: &Secret,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Slack>> {
        let token = |s: &Secret| s.expose().map(|t| SlackApiToken::new(t.to_string().into()));
        let bot_token = token(bot_token).context("SLACK_BOT_TOKEN is not set")?;
        let api_url = config.api_url.trim_end_matches('/').to_string();
        url::Url::parse(&api_url).context("channels.slack.api_url")?;
        // HTTPS for Slack itself; plain HTTP too, for a local stand-in.
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .context("while loading the system's root certificates for Slack")?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let connector =
            SlackClientHyperConnector::with_connector(https).with_slack_api_url(&api_url);
        let client = Arc::new(SlackClient::new(connector));
        Ok(Arc::new(Slack {
            outbox: Outbox::new(client.clone(), bot_token.clone()),
            client,
            bot_token,
            app_token: token(app_token),
            signing_secret: signing_secret.expose().map(str::to_string),
            runtime: Runtime::new("Slack", &parts, EVENT_CLAIMS, SOCKET_LEASE),
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            config: config.clone(),
            me: OnceLock::new(),
        }))
    }

    fn socket_mode(&self) -> bool {
        self.config.mode != "events"
    }

    /// Learns who the bot is, then serves events until `shutdown`; then lets the turns
    /// in flight finish for up to the grace period.
    async fn serve(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.runtime.follow(&shutdown);
        if !self.connect(&shutdown).await {
            return Ok(());
        }
        let this = self.clone();
        let recover = move || {
            let this = this.clone();
            async move { this.recover().await }
        };
        let serving = async {
            if self.socket_mode() {
                self.clone().socket(shutdown.clone()).await
            } else {
                self.health.ok(PLATFORM, "events API: waiting for requests");
                shutdown.cancelled().await;
                Ok(())
            }
        };
        self.runtime.serve(recover, serving).await
    }

    /// `auth.test` (retried with backoff) for the bot's member id. False on shutdown.
    async fn connect(&self, shutdown: &CancellationToken) -> bool {
        let mut delay = Duration::from_secs(1);
        loop {
            let session = self.client.open_session(&self.bot_token);
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                me = session.auth_test() => match me {
                    Ok(me) => {
                        let _ = self.me.set(me.user_id.0);
                        return true;
                    }
                    Err(e) if refuses_token(&e) => {
                        let sentence = format!(
                            "Slack refused the bot token in `SLACK_BOT_TOKEN` ({e}): put the \
                             app's Bot User OAuth Token (xoxb-…) in `SLACK_BOT_TOKEN` and restart fanops"
                        );
                        super::refused_credentials(&self.health, PLATFORM, &sentence, shutdown).await;
                        return false;
                    }
                    Err(e) => {
                        self.health.failing(PLATFORM, &format!("auth.test failed: {e}"));
                        tracing::warn!(error = %e, "Slack auth.test failed; retrying");
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    async fn recover(self: &Arc<Self>) {
        for claim in self.runtime.abandoned::<Request>().await {
            self.start_turn(claim.id, claim.event, claim.placeholder);
        }
    }

    /// Claims a request (so no replica and no restart handles it twice). True when this
    /// process got it and should start its turn.
    async fn claim(&self, id: &str, request: &Request) -> bool {
        self.runtime.claim(id, request).await
    }

    /// Handles a claimed request in the background and records it answered when done.
    /// `placeholder`: the "On it…" an earlier attempt posted, to edit.
    fn start_turn(self: &Arc<Self>, id: String, request: Request, placeholder: Option<String>) {
        let this = self.clone();
        let claim = id.clone();
        self.runtime.spawn_turn(claim, async move {
            this.handle(&id, request, placeholder).await;
        });
    }

    /// Runs one request's turn through the core, in order per conversation.
    async fn handle(&self, id: &str, request: Request, placeholder: Option<String>) {
        let (channel, thread, direct, user, body, press) = match request {
            Request::Message {
                channel,
                thread,
                direct,
                user,
                text,
                ..
            } => {
                if !direct && self.core.is_permitted(PLATFORM, &user).await {
                    self.follow(&channel, thread.as_deref()).await;
                }
                (channel, thread, direct, user, InboundBody::Text(text), None)
            }
            Request::Press {
                channel,
                thread,
                direct,
                prompt_ts,
                user,
                value,
            } => {
                let Some((action_id, decision)) = buttons::parse(&value) else {
                    let foreign = "That button is not one of mine.";
                    let thread = thread.as_deref();
                    self.outbox
                        .ephemeral(&channel, &user, thread, foreign)
                        .await;
                    return;
                };
                let body = InboundBody::Decision {
                    action_id: action_id.to_string(),
                    decision,
                };
                let press = Press {
                    user: user.clone(),
                    prompt_ts,
                };
                (channel, thread, direct, user, body, Some(press))
            }
        };
        let replier = SlackReplier::new(&self.outbox, &channel, thread.as_deref(), press)
            .recording(self.runtime.claims.clone(), id.to_string())
            .adopting(placeholder);
        let inbound = inbound(&channel, &thread, direct, &user, body);
        let _turn = self.outbox.lock_turn(&inbound.conversation()).await;
        self.core.handle(inbound, &replier).await;
    }

    /// Remembers that fanops answers in this channel thread without a mention.
    async fn follow(&self, channel: &str, thread: Option<&str>) {
        let Some(thread) = thread else {
            return;
        };
        let followed = FollowedThread {
            platform: PLATFORM.into(),
            chat: channel.to_string(),
            thread: thread.to_string(),
            followed_at: self.clock.now(),
        };
        if let Err(e) = self.store.follow_thread(&followed).await {
            tracing::warn!(error = %e, "could not record a followed Slack thread");
        }
    }
}

/// The core's view of a Slack request: a DM is one conversation; in a channel, each
/// thread is one.
fn inbound(
    channel: &str,
    thread: &Option<String>,
    direct: bool,
    user: &str,
    body: InboundBody,
) -> Inbound {
    Inbound {
        platform: PLATFORM.into(),
        connection: PLATFORM.into(),
        chat: channel.to_string(),
        thread: if direct { None } else { thread.clone() },
        user: user.to_string(),
        // Rendered as a mention (`<@U…>`), which Slack shows as the member's name.
        user_name: user.to_string(),
        body,
    }
}

#[async_trait::async_trait]
impl Channel for Slack {
    fn name(&self) -> &str {
        PLATFORM
    }

    /// A socket that stops hearing anything (events, pongs) is down; the Events API is
    /// merely quiet.
    fn stale_after(&self) -> Option<Duration> {
        self.socket_mode()
            .then(|| self.quiet() * 2 + Duration::from_secs(30))
    }

    /// `POST /slack/events` and `POST /slack/interactions` in Events API mode.
    fn routes(self: Arc<Self>) -> Option<axum::Router> {
        (!self.socket_mode()).then(|| events::routes(self))
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.serve(shutdown).await
    }

    fn delivery(self: Arc<Self>) -> Arc<dyn crate::chat::Delivery> {
        self
    }
}

#[async_trait::async_trait]
impl crate::chat::Delivery for Slack {
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

    /// Posts to a channel id (`C…`) or, for a DM, a member id (`U…`).
    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[crate::chat::Attachment],
        skip: usize,
    ) -> Result<(), crate::chat::DeliveryFailure> {
        use crate::chat::DeliveryFailure;
        let to = to.trim();
        let plausible = to.len() > 1
            && to
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !plausible {
            return Err(DeliveryFailure {
                posted: skip,
                retry: false,
                message: format!("`{to}` is not a Slack channel or member id"),
            });
        }
        self.outbox
            .post_all(to, None, text, files, skip)
            .await
            .map_err(|(posted, failure)| DeliveryFailure {
                posted,
                retry: matches!(failure, crate::channels::outbox::SendFailure::Later(_)),
                message: failure.message().to_string(),
            })
    }
}

/// Slack's answers for a token it will not take: waiting will not change them.
pub(super) fn refuses_token(e: &slack_morphism::errors::SlackClientError) -> bool {
    const REFUSED: [&str; 5] = [
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
    ];
    matches!(e, slack_morphism::errors::SlackClientError::ApiError(api) if REFUSED.contains(&api.code.as_str()))
}
