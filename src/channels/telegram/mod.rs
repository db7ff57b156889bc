//! Telegram: a private bot your team talks to (teloxide for the Bot API types and calls).
//!
//! Long polling by default, with the update offset persisted so a restart resumes where it
//! stopped; or webhook mode (`POST /telegram/webhook`, secret-token header checked).
//! Every update is claimed in the store before it is handled, so none is answered twice.
//! Replies go through one queue per chat that waits out Telegram's `retry_after`.

mod doctor;
pub mod html;
mod media;
mod polling;
#[cfg(test)]
mod props;
mod reply;
mod section;
mod setup;
#[cfg(test)]
mod split_props;

use crate::channels::runtime::Runtime;
use crate::channels::{buttons, signing, Channel, ChannelParts};
use crate::chat::{Inbound, InboundBody};
use crate::config::{Config, Connection, ConnectionName, Secret};
use crate::core::Core;
use crate::health::Health;
use crate::store::SharedStore;
use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use reply::{Outbox, TelegramReplier};
pub use section::{TelegramConfig, TelegramPlatform};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{
    AllowedUpdate, BotCommand, ChatKind, MessageEntityKind, MessageId, Update, UpdateKind,
};
use tokio_util::sync::CancellationToken;

pub const PLATFORM: &str = "telegram";

pub struct Telegram {
    /// Which bot this is (`telegram`, `telegram:managers`), and its name as a string.
    connection: ConnectionName,
    name: String,
    /// Where the update offset is kept (`telegram.offset`).
    offset_state: String,
    /// The variable its token is read from, for sentences.
    token_var: String,
    /// Sends and edits messages (teloxide's usual client).
    bot: Bot,
    /// Long polls: its HTTP timeout outlasts the poll Telegram holds open.
    poller: Bot,
    core: Arc<Core>,
    store: SharedStore,
    health: Health,
    config: TelegramConfig,
    webhook_secret: String,
    outbox: Outbox,
    me: OnceLock<BotIdentity>,
    /// Update claims, and the lease of polling: only one process polls a bot token.
    runtime: Runtime,
}

#[derive(Debug, Clone)]
struct BotIdentity {
    id: u64,
    username: String,
}

impl Telegram {
    /// A channel for each Telegram bot configured whose token is set; one whose token is
    /// missing is logged and left out.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for connection in config.connections::<TelegramConfig>(PLATFORM) {
            let var = connection.token_var(section::BOT_TOKEN);
            let Some(token) = super::needed_secret(config, &connection.name, var) else {
                continue;
            };
            // The top-level bot's webhook secret may be set; an account's is derived.
            let webhook_secret = match connection.name.account_name() {
                None => config.secrets.platform(section::WEBHOOK_SECRET),
                Some(_) => Secret::default(),
            };
            let name = connection.name.clone();
            let channel = Telegram::new(connection, &token, &webhook_secret, parts.clone())
                .with_context(|| format!("while setting up {}", name.table()))?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub fn new(
        connection: Connection<TelegramConfig>,
        token: &Secret,
        webhook_secret: &Secret,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Telegram>> {
        let token_var = connection.token_var(section::BOT_TOKEN).to_string();
        let config = connection.section;
        let name = connection.name;
        let token = token.expose().context("the bot token is not set")?;
        let api_url =
            url::Url::parse(&config.api_url).with_context(|| name.at(&["api_url"]).join("."))?;
        let bot = Bot::new(token).set_api_url(api_url.clone());
        // teloxide's client gives up after 17 s, sooner than Telegram holds an idle poll.
        let hold = Duration::from_secs(u64::from(config.poll_timeout));
        let client = teloxide::net::default_reqwest_settings()
            .timeout(hold + Duration::from_secs(30))
            .build()
            .context("while building the Telegram long-poll client")?;
        let poller = Bot::with_client(token, client).set_api_url(api_url);
        let webhook_secret = match webhook_secret.expose() {
            Some(s) => s.to_string(),
            None => derive_secret(token),
        };
        Ok(Arc::new(Telegram {
            outbox: Outbox::new(bot.clone()),
            bot,
            poller,
            // The lease of the one process that long-polls the bot token.
            runtime: Runtime::new(
                "Telegram",
                &parts,
                &name.key("update"),
                &name.key("polling"),
            ),
            offset_state: name.key("offset"),
            token_var,
            name: name.to_string(),
            connection: name,
            core: parts.core,
            store: parts.store,
            health: parts.health,
            config,
            webhook_secret,
            me: OnceLock::new(),
        }))
    }

    /// Connects, then polls (or registers the webhook) until `shutdown`; then lets the
    /// turns in flight finish for up to the grace period.
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
            if self.config.mode == "webhook" {
                self.register_webhook(&shutdown).await
            } else {
                self.clone().poll(shutdown.clone()).await
            }
        };
        self.runtime.serve(recover, serving).await
    }

    async fn register_webhook(&self, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let url = self
            .config
            .webhook_url
            .clone()
            .context("webhook mode needs webhook_url")?;
        let url = url::Url::parse(&url)
            .with_context(|| self.connection.at(&["webhook_url"]).join("."))?;
        self.bot
            .set_webhook(url)
            .secret_token(self.webhook_secret.clone())
            .allowed_updates([AllowedUpdate::Message, AllowedUpdate::CallbackQuery])
            .await
            .context("while registering the Telegram webhook")?;
        self.health.ok(&self.name, "webhook registered");
        shutdown.cancelled().await;
        Ok(())
    }

    /// Handles again the updates whose owner died before answering them.
    async fn recover(self: &Arc<Self>) {
        for claim in self.runtime.abandoned::<Update>().await {
            let placeholder = claim.placeholder.as_deref().and_then(|p| p.parse().ok());
            self.start_turn(claim.event, placeholder.map(MessageId));
        }
    }

    /// `getMe` (retried with backoff), then the command menu. False on shutdown.
    async fn connect(&self, shutdown: &CancellationToken) -> bool {
        let mut delay = Duration::from_secs(1);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                me = self.bot.get_me() => match me {
                    Ok(me) => {
                        let _ = self.me.set(BotIdentity { id: me.id.0, username: me.username().to_string() });
                        break;
                    }
                    Err(teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)) => {
                        let var = &self.token_var;
                        let sentence = format!("Telegram refused the bot token in `{var}` \
                            (401 Unauthorized): put the token @BotFather gave you in \
                            `{var}` and restart fanops");
                        super::refused_credentials(&self.health, &self.name, &sentence, shutdown).await;
                        return false;
                    }
                    Err(e) => {
                        self.health.failing(&self.name, &format!("getMe failed: {e}"));
                        tracing::warn!(error = %e, "Telegram getMe failed; retrying");
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
        let commands = [
            ("start", "Start over and meet the assistant"),
            ("reset", "Forget this conversation"),
            ("usage", "What the assistant cost in the last 30 days"),
            ("budget", "This month's budgets and what is left"),
            ("whoami", "Your Telegram user id and role"),
            ("help", "What I can do"),
        ]
        .map(|(command, description)| BotCommand::new(command, description));
        if let Err(e) = self.bot.set_my_commands(commands).await {
            tracing::warn!(error = %e, "could not set the Telegram command menu");
        }
        true
    }

    /// Claims an update (so no replica and no restart handles it twice) and handles it
    /// in the background, in order per chat.
    async fn accept(self: &Arc<Self>, update: Update) {
        if self.runtime.claim(&update.id.0.to_string(), &update).await {
            self.start_turn(update, None);
        }
    }

    /// Handles a claimed update in the background and records it answered when done.
    /// `placeholder`: the "On it…" message an earlier attempt posted, to edit.
    fn start_turn(self: &Arc<Self>, update: Update, placeholder: Option<MessageId>) {
        let this = self.clone();
        let id = update.id.0.to_string();
        self.runtime
            .spawn_turn(id, async move { this.handle(update, placeholder).await });
    }

    async fn handle(&self, update: Update, placeholder: Option<MessageId>) {
        let id = update.id.0.to_string();
        match update.kind {
            UpdateKind::Message(message) => {
                let replier = TelegramReplier::new(&self.outbox, message.chat.id, None);
                self.on_message(message, self.tracked(replier, id, placeholder))
                    .await
            }
            UpdateKind::CallbackQuery(query) => self.on_callback(query, id, placeholder).await,
            _ => {}
        }
    }

    /// A replier whose "On it…" message is recorded with update `id`'s claim, or that
    /// edits the one an earlier attempt posted.
    fn tracked(
        &self,
        replier: TelegramReplier,
        id: String,
        placeholder: Option<MessageId>,
    ) -> TelegramReplier {
        let replier = replier.recording(self.runtime.claims.clone(), id);
        match placeholder {
            Some(message) => replier.adopting(message),
            None => replier,
        }
    }

    async fn on_message(&self, message: Message, replier: TelegramReplier) {
        let media = media::media_of(&self.bot, &message);
        let written = message.text().or(message.caption());
        let Some(from) = message.from.as_ref() else {
            return;
        };
        if from.is_bot || (written.is_none() && media.is_empty()) {
            return;
        }
        let written = written.unwrap_or_default();
        let text = match &message.chat.kind {
            ChatKind::Private(_) => written.to_string(),
            ChatKind::Public(_) => match self.addressed_text(&message, written) {
                Some(text) => text,
                None => return,
            },
        };
        let body = if media.is_empty() {
            InboundBody::Text(text)
        } else {
            InboundBody::Media { text, media }
        };
        let inbound = Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat: message.chat.id.0.to_string(),
            thread: None,
            user: from.id.0.to_string(),
            user_name: display_name(from),
            private: message.chat.is_private(),
            body,
        };
        let _turn = self.outbox.lock_chat(message.chat.id).await;
        self.core.handle(inbound, &replier).await;
    }

    /// In groups the bot answers only when mentioned or replied to; the mention is removed.
    fn addressed_text(&self, message: &Message, text: &str) -> Option<String> {
        let me = self.me.get()?;
        let replied_to_me = message
            .reply_to_message()
            .and_then(|m| m.from.as_ref())
            .is_some_and(|u| u.id.0 == me.id);
        let handle = format!("@{}", me.username);
        let entities = message.entities().or(message.caption_entities());
        let mentioned = entities.unwrap_or_default().iter().any(|e| {
            matches!(e.kind, MessageEntityKind::Mention)
                && utf16_slice(text, e.offset, e.length).eq_ignore_ascii_case(&handle)
        });
        let command_to_me =
            text.starts_with('/') && text.split_whitespace().next()?.ends_with(&handle);
        if !(replied_to_me || mentioned || command_to_me) {
            return None;
        }
        let cleaned = if command_to_me {
            text.to_string()
        } else {
            text.replace(&handle, "")
        };
        Some(cleaned.trim().to_string())
    }

    async fn on_callback(&self, query: CallbackQuery, id: String, placeholder: Option<MessageId>) {
        let Some(message) = query.message.as_ref() else {
            return;
        };
        let chat = message.chat().id;
        let prompt = message.id();
        let data = query.data.as_deref().unwrap_or("");
        let Some(body) = buttons::pressed(data) else {
            self.outbox
                .answer_callback(query.id.clone(), "That button is not one of mine.")
                .await;
            return;
        };
        let inbound = Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat: chat.0.to_string(),
            thread: None,
            user: query.from.id.0.to_string(),
            user_name: display_name(&query.from),
            private: chat.0 == query.from.id.0 as i64,
            body,
        };
        let replier = TelegramReplier::new(&self.outbox, chat, Some((query.id.clone(), prompt)));
        let replier = self.tracked(replier, id, placeholder);
        let _turn = self.outbox.lock_chat(chat).await;
        self.core.handle(inbound, &replier).await;
    }
}

async fn webhook(State(tg): State<Arc<Telegram>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get("X-Telegram-Bot-Api-Secret-Token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !signing::same_secret(given.as_bytes(), tg.webhook_secret.as_bytes()) {
        tracing::warn!("rejected a Telegram webhook call with a wrong secret token");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "rejected a Telegram webhook body that is not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    if tg.runtime.is_stopping() {
        // Telegram delivers it again later, to this process after its restart or to another.
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    tg.health.ok(&tg.name, "webhook receiving");
    tg.accept(update).await;
    StatusCode::OK
}

/// The webhook secret Telegram echoes back, derived from the bot token so that every
/// replica agrees on it without another setting. Only [A-Za-z0-9_-] is allowed.
fn derive_secret(token: &str) -> String {
    use sha2::{Digest, Sha256};
    signing::hex(&Sha256::digest(
        format!("fanops-telegram-webhook:{token}").as_bytes(),
    ))
}

fn display_name(user: &teloxide::types::User) -> String {
    match &user.username {
        Some(u) => format!("{} (@{u})", user.first_name),
        None => user.first_name.clone(),
    }
}

/// Telegram entity offsets count UTF-16 code units.
fn utf16_slice(text: &str, offset: usize, length: usize) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let end = (offset + length).min(units.len());
    String::from_utf16_lossy(&units[offset.min(end)..end])
}

#[async_trait::async_trait]
impl Channel for Telegram {
    fn name(&self) -> &str {
        &self.name
    }

    /// A poller that stops completing polls is down; a webhook is merely quiet.
    fn stale_after(&self) -> Option<Duration> {
        let hold = Duration::from_secs(u64::from(self.config.poll_timeout));
        (self.config.mode != "webhook").then(|| hold + Duration::from_secs(60))
    }

    /// `POST /telegram/webhook` (an account's: `/telegram/<name>/webhook`) in webhook mode.
    fn routes(self: Arc<Self>) -> Option<Router> {
        (self.config.mode == "webhook").then(|| {
            Router::new()
                .route(&self.connection.route("webhook"), post(webhook))
                .with_state(self)
        })
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.serve(shutdown).await
    }

    fn delivery(self: Arc<Self>) -> Arc<dyn crate::chat::Delivery> {
        self
    }
}

#[async_trait::async_trait]
impl crate::chat::Delivery for Telegram {
    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[crate::chat::Attachment],
        skip: usize,
    ) -> Result<(), crate::chat::DeliveryFailure> {
        use crate::chat::DeliveryFailure;
        let chat: i64 = to.trim().parse().map_err(|_| DeliveryFailure {
            posted: skip,
            retry: false,
            message: format!("`{to}` is not a Telegram chat id"),
        })?;
        self.outbox
            .post(ChatId(chat), text, files, skip)
            .await
            .map_err(|(posted, failure)| DeliveryFailure {
                posted,
                retry: matches!(failure, crate::channels::outbox::SendFailure::Later(_)),
                message: failure.message().to_string(),
            })
    }

    /// A person's private chat with the bot has their user id as its chat id (they must
    /// have started the bot once).
    async fn notify(
        &self,
        to: crate::chat::Recipient<'_>,
        out: &crate::chat::Outbound,
    ) -> Result<(), crate::chat::DeliveryFailure> {
        use crate::chat::{DeliveryFailure, Recipient};
        let (Recipient::Person(id) | Recipient::Chat(id)) = to;
        let chat: i64 = id.trim().parse().map_err(|_| DeliveryFailure {
            posted: 0,
            retry: false,
            message: format!("`{id}` is not a Telegram chat or user id"),
        })?;
        self.outbox
            .notify(ChatId(chat), out)
            .await
            .map_err(|(posted, failure)| DeliveryFailure {
                posted,
                retry: matches!(failure, crate::channels::outbox::SendFailure::Later(_)),
                message: failure.message().to_string(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_stable_and_url_safe() {
        let a = derive_secret("123:abc");
        assert_eq!(a, derive_secret("123:abc"));
        assert_ne!(a, derive_secret("123:abd"));
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn entity_offsets_are_utf16() {
        assert_eq!(utf16_slice("💋 @bot hi", 3, 4), "@bot");
    }
}
