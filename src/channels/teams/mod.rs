//! Microsoft Teams through the Bot Framework: personal chats with the bot, and channel
//! threads that @mention it (followed afterwards without a mention).
//!
//! The Bot Framework posts each activity to `POST /teams/messages` (an account's:
//! `/teams/<name>/messages`) with a JWT that is verified before anything in it is acted
//! on (`auth`), answered at once and claimed in the store by conversation and activity
//! id, so a redelivery is answered once and any replica may take it. Replies go to the
//! activity's `serviceUrl` through the Bot Connector (`connector`) with a cached
//! client-credentials token; every conversation's reference is kept (`reference`) for
//! scheduled posts and notices; files in a personal chat wait in the store for the
//! person's consent (`files`). Images, audio and files people attach go to the core
//! undownloaded (`media`).

mod auth;
mod connector;
mod delivery;
mod doctor;
mod files;
pub mod html;
mod inbound;
mod media;
mod reference;
mod reply;
mod section;
mod setup;

use crate::channels::runtime::Runtime;
use crate::channels::{buttons, Channel, ChannelParts};
use crate::chat::{Inbound, InboundBody};
use crate::clock::Clock;
use crate::config::{Config, Connection, ConnectionName, Secret};
use crate::core::Core;
use crate::health::Health;
use crate::store::{FollowedThread, SharedStore};
use anyhow::Context;
use auth::{TokenFailure, Tokens, Verifier};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use connector::Connector;
use inbound::{Activity, Place, Request, Said};
use reference::References;
use reply::TeamsReplier;
pub use section::{TeamsConfig, TeamsPlatform};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const PLATFORM: &str = "teams";

pub struct Teams {
    connection: ConnectionName,
    name: String,
    config: TeamsConfig,
    /// The variable its password is read from, for sentences.
    password_var: String,
    verifier: Verifier,
    connector: Connector,
    references: References,
    /// Files waiting for a person's consent.
    shelf: Arc<files::Shelf>,
    core: Arc<Core>,
    store: SharedStore,
    health: Health,
    clock: Clock,
    /// Set once the token endpoint took the app id and password.
    ready: AtomicBool,
    runtime: Runtime,
}

impl Teams {
    /// A channel for each bot configured (`[channels.teams]` and each account) whose
    /// password is set; one whose password is missing is logged and left out.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        for connection in config.connections::<TeamsConfig>(PLATFORM) {
            let var = connection.token_var(section::APP_PASSWORD).to_string();
            let Some(password) = super::needed_secret(config, &connection.name, &var) else {
                continue;
            };
            let name = connection.name.clone();
            let channel = Teams::new(connection, password, var, parts.clone())
                .with_context(|| format!("while setting up {}", name.table()))?;
            channels.push(channel);
        }
        Ok(channels)
    }

    pub fn new(
        connection: Connection<TeamsConfig>,
        password: Secret,
        password_var: String,
        parts: ChannelParts,
    ) -> anyhow::Result<Arc<Teams>> {
        let (config, name) = (connection.section, connection.name);
        section::usable(&config, &name)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("while building the HTTP client for Teams")?;
        let app_id = config.app_id.trim().to_string();
        let verifier = Verifier::new(
            http.clone(),
            &config.openid_url,
            &app_id,
            parts.clock.clone(),
        );
        let tokens = Tokens::new(
            http.clone(),
            &config.token_url,
            &app_id,
            password,
            parts.clock.clone(),
        );
        Ok(Arc::new(Teams {
            references: References::new(parts.store.clone(), format!("{name}.")),
            shelf: Arc::new(files::Shelf::new(
                parts.store.clone(),
                format!("{name}."),
                http.clone(),
            )),
            runtime: Runtime::new(
                "Microsoft Teams",
                &parts,
                &name.key("activity"),
                &name.key("lease"),
            ),
            name: name.to_string(),
            connection: name,
            config,
            password_var,
            verifier,
            connector: Connector::new(http, tokens),
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            ready: AtomicBool::new(false),
        }))
    }

    /// The bot's id in conversations.
    fn bot_id(&self) -> String {
        format!("28:{}", self.config.app_id.trim())
    }

    /// Gets a first token (so a wrong password shows at start and on `/readyz`) and the
    /// signing keys, then takes activities until `shutdown`.
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
            self.health.ok(&self.name, "waiting for activities");
            shutdown.cancelled().await;
            Ok(())
        };
        self.runtime.serve(recover, serving).await
    }

    /// A token from the token endpoint (retried with backoff). False on shutdown.
    async fn connect(&self, shutdown: &CancellationToken) -> bool {
        let mut delay = Duration::from_secs(1);
        loop {
            let tokens = self.connector.tokens();
            let wait = tokio::select! {
                _ = shutdown.cancelled() => return false,
                token = tokens.token() => match token {
                    Ok(_) => {
                        self.verifier.prefetch().await;
                        self.ready.store(true, Ordering::SeqCst);
                        return true;
                    }
                    Err(TokenFailure::Refused(why)) => {
                        let var = &self.password_var;
                        let sentence = format!(
                            "Microsoft refused the app id and password of {} ({why}): put a client secret of app {} in `{var}` and restart fanops",
                            self.connection.table(), self.config.app_id
                        );
                        super::refused_credentials(&self.health, &self.name, &sentence, shutdown).await;
                        return false;
                    }
                    Err(TokenFailure::Wait(wait)) => wait,
                    Err(TokenFailure::Later(why)) => {
                        self.health.failing(&self.name, &format!("no token yet: {why}"));
                        tracing::warn!(error = %why, "could not get a Teams token; retrying");
                        delay
                    }
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return false,
                _ = tokio::time::sleep(wait) => {}
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    async fn recover(self: &Arc<Self>) {
        for claim in self.runtime.abandoned::<Request>().await {
            self.start_turn(claim.id, claim.event, claim.placeholder);
        }
    }

    /// Keeps the activity's conversation reference, decides whether it is for fanops,
    /// claims it and starts its turn. The caller answers the Bot Framework right after.
    async fn take(self: &Arc<Self>, activity: &Activity) {
        let Some((id, request)) = activity.request() else {
            return;
        };
        // An install or a message: either way fanops now knows where the person is.
        self.references.keep(&request).await;
        let asks = matches!(activity.kind.as_str(), "message" | "invoke") && request.asks();
        if !asks || !self.for_me(&request).await {
            return;
        }
        if self.runtime.claim(&id, &request).await {
            self.start_turn(id, request, None);
        }
    }

    /// Personal chats: everything. A channel: a mention, or any message in a thread
    /// fanops follows. A group chat: a mention. Presses: always.
    async fn for_me(&self, request: &Request) -> bool {
        let mentioned = match &request.said {
            Said::Press { .. } | Said::Consent { .. } => return true,
            Said::Text { mentioned, .. } => *mentioned,
        };
        match (request.place, &request.thread) {
            (Place::Personal, _) => true,
            (Place::Channel, Some(thread)) if !mentioned => self
                .store
                .is_followed(&self.name, &request.chat, thread)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "could not tell whether a Teams thread is followed; ignoring a message in it");
                    false
                }),
            _ => mentioned,
        }
    }

    fn start_turn(self: &Arc<Self>, id: String, request: Request, placeholder: Option<String>) {
        let this = self.clone();
        let claim = id.clone();
        self.runtime.spawn_turn(claim, async move {
            this.handle(&id, request, placeholder).await;
        });
    }

    /// Runs one request's turn through the core, in order per conversation.
    async fn handle(&self, id: &str, request: Request, placeholder: Option<String>) {
        let (body, pressed, prompt) = match &request.said {
            Said::Consent { file, upload } => return self.consented(&request, file, upload).await,
            Said::Text { text, attached, .. } if !attached.is_empty() => {
                let media = attached
                    .iter()
                    .map(|a| media::media_of(&self.connector, a))
                    .collect();
                let text = text.clone();
                (InboundBody::Media { text, media }, false, None)
            }
            Said::Text { text, .. } => (InboundBody::Text(text.clone()), false, None),
            Said::Press { payload, prompt } => match buttons::pressed(payload) {
                Some(body) => (body, true, prompt.clone()),
                None => (InboundBody::Text(String::new()), true, None),
            },
        };
        let target = reply::Target {
            service_url: request.service_url.clone(),
            conversation: request.conversation.clone(),
            shelf: (request.place == Place::Personal).then(|| self.shelf.clone()),
        };
        let replier = TeamsReplier::new(&self.connector, target, pressed, prompt)
            .recording(self.runtime.claims.clone(), id.to_string())
            .adopting(placeholder);
        if pressed && matches!(body, InboundBody::Text(_)) {
            let foreign = crate::chat::Outbound::text("That button is not one of mine.");
            return crate::chat::Replier::reply(&replier, foreign).await;
        }
        let in_channel = matches!(body, InboundBody::Text(_) | InboundBody::Media { .. })
            && request.place == Place::Channel;
        if in_channel && self.core.is_permitted(&self.name, &request.user).await {
            self.follow(&request).await;
        }
        let inbound = Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat: request.chat.clone(),
            thread: request.thread.clone(),
            user: request.user.clone(),
            user_name: request.user_name.clone(),
            private: request.place == Place::Personal,
            body,
        };
        let _turn = self.connector.lock_turn(&inbound.conversation()).await;
        self.core.handle(inbound, &replier).await;
    }

    /// The person answered a file consent card: the file is uploaded, or dropped.
    async fn consented(&self, request: &Request, file: &str, upload: &Option<files::Upload>) {
        // In turn with the conversation's messages, as `Inbound::conversation` keys them.
        let thread = request.thread.as_deref().unwrap_or("");
        let key = format!("{}:{}:{thread}", self.name, request.chat);
        let _turn = self.connector.lock_turn(&key).await;
        match upload {
            Some(upload) => {
                let (service_url, conversation) = (&request.service_url, &request.conversation);
                self.shelf
                    .accepted(file, upload, &self.connector, service_url, conversation)
                    .await
            }
            None => self.shelf.declined(file).await,
        }
    }

    /// Remembers that fanops answers in this channel thread without a mention.
    async fn follow(&self, request: &Request) {
        let Some(thread) = &request.thread else {
            return;
        };
        let followed = FollowedThread {
            platform: self.name.clone(),
            chat: request.chat.clone(),
            thread: thread.clone(),
            followed_at: self.clock.now(),
        };
        if let Err(e) = self.store.follow_thread(&followed).await {
            tracing::warn!(error = %e, "could not record a followed Teams thread");
        }
    }
}

/// `POST /teams/messages`: verified, answered at once, handled after.
async fn messages(State(teams): State<Arc<Teams>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    // The token is checked against the activity's own service URL and channel, so the
    // body is read first; nothing of it is acted on before the check. A body that is not
    // an activity cannot be checked, and is refused like a bad token.
    let Ok(activity) = serde_json::from_slice::<Activity>(&body) else {
        tracing::warn!("refused a Teams request that is not an activity");
        return StatusCode::UNAUTHORIZED;
    };
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let checked = teams
        .verifier
        .verify(authorization, &activity.service_url, &activity.channel_id)
        .await;
    if let Err(refusal) = checked {
        tracing::warn!(reason = %refusal, "refused a Teams request");
        return StatusCode::UNAUTHORIZED;
    }
    if teams.runtime.is_stopping() || !teams.ready.load(Ordering::SeqCst) {
        // The Bot Framework tries again, reaching this process after its restart or
        // another replica.
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    teams.health.ok(&teams.name, "receiving activities");
    teams.take(&activity).await;
    StatusCode::OK
}

#[async_trait::async_trait]
impl Channel for Teams {
    fn name(&self) -> &str {
        &self.name
    }

    /// A webhook is merely quiet.
    fn stale_after(&self) -> Option<Duration> {
        None
    }

    fn routes(self: Arc<Self>) -> Option<Router> {
        Some(
            Router::new()
                .route(&self.connection.route("messages"), post(messages))
                .with_state(self),
        )
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.serve(shutdown).await
    }

    fn delivery(self: Arc<Self>) -> Arc<dyn crate::chat::Delivery> {
        self
    }
}
