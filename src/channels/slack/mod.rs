//! Slack: DMs with the bot, and channel threads that mention it (slack-morphism for the
//! Web API and the event types).
//!
//! Two transports: Socket Mode (default; one replica holds the socket) or the Events API
//! over HTTP (`POST /slack/events`, `POST /slack/interactions`, signed requests, any
//! number of replicas). Either way every message is claimed in the store by channel and
//! `ts` before it is handled, so a mention that arrives twice (`app_mention` and
//! `message.channels`), a redelivered envelope or a retried request is answered once.
//! Replies go through one queue per channel that waits out Slack's `Retry-After`.

mod doctor;
mod events;
mod files;
mod inbound;
pub mod mrkdwn;
#[cfg(test)]
mod props;
mod reply;
mod section;
mod setup;
mod socket;

use crate::channels::runtime::Runtime;
use crate::channels::{buttons, Channel, ChannelParts};
use crate::chat::{Inbound, InboundBody};
use crate::clock::Clock;
use crate::config::{Config, Connection, ConnectionName, Secret};
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

/// One connection's credentials, with the variables they are read from (for sentences).
pub struct Credentials {
    pub bot: Secret,
    pub bot_var: String,
    /// Socket Mode's app-level token.
    pub app: Secret,
    pub app_var: String,
    /// The Events API's signing secret.
    pub signing: Secret,
}

impl Credentials {
    /// What `connection` reads; `None` (logged) when one it needs is not set: the bot
    /// token always, the app token in Socket Mode, the signing secret for the Events API.
    fn of(config: &Config, connection: &Connection<SlackConfig>) -> Option<Credentials> {
        let slack = &connection.section;
        let name = &connection.name;
        let bot_var = connection.token_var(section::BOT_TOKEN);
        let (app_var, signing_var) = (slack.app_token_var(), slack.signing_secret_var());
        let bot = super::needed_secret(config, name, bot_var)?;
        let (app, signing) = match slack.socket_mode() {
            true => (
                super::needed_secret(config, name, app_var)?,
                config.secrets.platform(signing_var),
            ),
            false => (
                config.secrets.platform(app_var),
                super::needed_secret(config, name, signing_var)?,
            ),
        };
        Some(Credentials {
            bot,
            bot_var: bot_var.to_string(),
            app,
            app_var: app_var.to_string(),
            signing,
        })
    }
}

pub struct Slack {
    /// Which app this is (`slack`, `slack:ws2`), and its name as a string.
    connection: ConnectionName,
    name: String,
    client: Arc<Client>,
    bot_token: SlackApiToken,
    app_token: Option<SlackApiToken>,
    signing_secret: Option<String>,
    /// The variables its tokens are read from, for sentences.
    bot_var: String,
    app_var: String,
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
    /// Downloads of the files people share.
    http: reqwest::Client,
}

impl Slack {
    /// A channel for each Slack app configured (`[channels.slack]` and each account)
    /// whose secrets are set; one whose secret is missing is logged and left out.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for connection in config.connections::<SlackConfig>(PLATFORM) {
            let Some(credentials) = Credentials::of(config, &connection) else {
                continue;
            };
            let name = connection.name.clone();
            let channel = Slack::new(connection, &credentials, parts.clone())
                .with_context(|| format!("while setting up {}", name.table()))?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub fn new(
        connection: Connection<SlackConfig>,
        credentials: &Credentials,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Slack>> {
        let (config, name) = (connection.section, connection.name);
        let token = |s: &Secret| s.expose().map(|t| SlackApiToken::new(t.to_string().into()));
        let bot_token = token(&credentials.bot)
            .with_context(|| format!("{} is not set", credentials.bot_var))?;
        let api_url = config.api_url.trim_end_matches('/').to_string();
        url::Url::parse(&api_url).with_context(|| name.at(&["api_url"]).join("."))?;
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
            app_token: token(&credentials.app),
            signing_secret: credentials.signing.expose().map(str::to_string),
            bot_var: credentials.bot_var.clone(),
            app_var: credentials.app_var.clone(),
            // The top-level app keeps `slack.event` and `slack.socket`, as before accounts.
            runtime: Runtime::new("Slack", &parts, &name.key("event"), &name.key("socket")),
            name: name.to_string(),
            connection: name,
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            config,
            me: OnceLock::new(),
            http: reqwest::Client::new(),
        }))
    }

    fn socket_mode(&self) -> bool {
        self.config.socket_mode()
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
                self.health
                    .ok(&self.name, "events API: waiting for requests");
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
                        let var = &self.bot_var;
                        let sentence = format!(
                            "Slack refused the bot token in `{var}` ({e}): put the \
                             app's Bot User OAuth Token (xoxb-…) in `{var}` and restart fanops"
                        );
                        super::refused_credentials(&self.health, &self.name, &sentence, shutdown).await;
                        return false;
                    }
                    Err(e) => {
                        self.health.failing(&self.name, &format!("auth.test failed: {e}"));
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
        let (channel, thread, direct, user, body, press, name) = match request {
            Request::Message {
                channel,
                thread,
                direct,
                user,
                text,
                files,
                ..
            } => {
                let permitted = self.core.is_permitted(&self.name, &user).await;
                if !direct && permitted {
                    self.follow(&channel, thread.as_deref()).await;
                }
                // A stranger's access request names them to the admins.
                let name = match permitted {
                    true => None,
                    false => Some(self.member_name(&user).await),
                };
                let body = if files.is_empty() {
                    InboundBody::Text(text)
                } else {
                    let token = &self.bot_token.token_value.0;
                    let media = files.iter().map(|f| f.media(&self.http, token)).collect();
                    InboundBody::Media { text, media }
                };
                (channel, thread, direct, user, body, None, name)
            }
            Request::Press {
                channel,
                thread,
                direct,
                prompt_ts,
                user,
                value,
            } => {
                // A Confirm / Cancel or an access request's button: the core routes it.
                let Some(body) = buttons::pressed(&value) else {
                    let foreign = "That button is not one of mine.";
                    let thread = thread.as_deref();
                    self.outbox
                        .ephemeral(&channel, &user, thread, foreign)
                        .await;
                    return;
                };
                let press = Press {
                    user: user.clone(),
                    prompt_ts,
                };
                (channel, thread, direct, user, body, Some(press), None)
            }
        };
        let replier = SlackReplier::new(&self.outbox, &channel, thread.as_deref(), press)
            .recording(self.runtime.claims.clone(), id.to_string())
            .adopting(placeholder);
        let mut inbound = self.inbound(&channel, &thread, direct, &user, body);
        if let Some(name) = name {
            inbound.user_name = name;
        }
        let _turn = self.outbox.lock_turn(&inbound.conversation()).await;
        self.core.handle(inbound, &replier).await;
    }

    /// "Member 42 (@member42)" from `users.info` (scope `users:read`); the member id when
    /// Slack will not say (an app without that scope, Slack unreachable).
    async fn member_name(&self, user: &str) -> String {
        let session = self.client.open_session(&self.bot_token);
        let request = SlackApiUsersInfoRequest::new(SlackUserId(user.to_string()));
        match session.users_info(&request).await {
            Ok(info) => inbound::describe_member(&info.user).unwrap_or_else(|| user.to_string()),
            Err(e) => {
                tracing::debug!(connection = %self.name, error = %e, "users.info did not name a member; the access request shows their id");
                user.to_string()
            }
        }
    }

    /// Remembers that fanops answers in this channel thread without a mention.
    async fn follow(&self, channel: &str, thread: Option<&str>) {
        let Some(thread) = thread else {
            return;
        };
        // Kept under the connection's name (`slack` for the top-level app, as before).
        let followed = FollowedThread {
            platform: self.name.clone(),
            chat: channel.to_string(),
            thread: thread.to_string(),
            followed_at: self.clock.now(),
        };
        if let Err(e) = self.store.follow_thread(&followed).await {
            tracing::warn!(error = %e, "could not record a followed Slack thread");
        }
    }

    /// The core's view of a Slack request: a DM is one conversation; in a channel, each
    /// thread is one.
    fn inbound(
        &self,
        channel: &str,
        thread: &Option<String>,
        direct: bool,
        user: &str,
        body: InboundBody,
    ) -> Inbound {
        Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat: channel.to_string(),
            thread: if direct { None } else { thread.clone() },
            user: user.to_string(),
            // Rendered as a mention (`<@U…>`), which Slack shows as the member's name.
            user_name: user.to_string(),
            private: direct,
            body,
        }
    }
}

#[async_trait::async_trait]
impl Channel for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    /// A socket that stops hearing anything (events, pongs) is down; the Events API is
    /// merely quiet.
    fn stale_after(&self) -> Option<Duration> {
        self.socket_mode()
            .then(|| self.quiet() * 2 + Duration::from_secs(30))
    }

    /// `POST /slack/events` and `POST /slack/interactions` (an account's:
    /// `/slack/<name>/events`, `/slack/<name>/interactions`) in Events API mode.
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
    /// A person gets it in their DM with the bot (`conversations.open`), a chat in that
    /// channel; either way with its buttons.
    async fn notify(
        &self,
        to: crate::chat::Recipient<'_>,
        out: &crate::chat::Outbound,
    ) -> Result<(), crate::chat::DeliveryFailure> {
        use crate::chat::{DeliveryFailure, Recipient};
        let failed = |posted, failure: crate::channels::outbox::SendFailure| DeliveryFailure {
            posted,
            retry: matches!(failure, crate::channels::outbox::SendFailure::Later(_)),
            message: failure.message().to_string(),
        };
        let (Recipient::Person(id) | Recipient::Chat(id)) = to;
        let id = id.trim();
        if !slack_id(id) {
            return Err(DeliveryFailure {
                posted: 0,
                retry: false,
                message: format!("`{id}` is not a Slack channel or member id"),
            });
        }
        let channel = match to {
            Recipient::Person(_) => self.outbox.open_dm(id).await.map_err(|f| failed(0, f))?,
            Recipient::Chat(_) => id.to_string(),
        };
        self.outbox
            .notify(&channel, out)
            .await
            .map_err(|(posted, failure)| failed(posted, failure))
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
        if !slack_id(to) {
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

/// Whether `id` looks like a Slack channel (`C…`, `D…`, `G…`) or member (`U…`) id.
fn slack_id(id: &str) -> bool {
    id.len() > 1
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
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
