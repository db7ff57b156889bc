//! WhatsApp through Meta's Cloud API (the Graph API; reqwest for the calls, no SDK).
//!
//! A webhook platform: Meta posts every message and status to `POST /whatsapp/webhook`
//! (signed with the app secret), any replica may take it, and each message is claimed in
//! the store by its id before it is handled, so a redelivery is answered once and a
//! killed process's claimed messages are taken over. Every chat is one person's: a
//! number's messages are one conversation. Replies go through one queue per number that
//! waits out Graph's rate limits. WhatsApp only lets a business write first to a number
//! that wrote in the last 24 hours: when each number last wrote is kept in the store, and
//! a post outside that window uses the approved `digest_template` or is refused. Voice
//! notes, images and files are handed to the core by media id (`media`), downloaded only
//! once it has checked who sent them.

mod deliver;
mod doctor;
mod format;
mod graph;
mod media;
mod reply;
mod section;
mod setup;
mod webhook;

use crate::channels::runtime::Runtime;
use crate::channels::{buttons, Channel, ChannelParts};
use crate::chat::{Inbound, InboundBody};
use crate::clock::Clock;
use crate::config::{Config, Connection, ConnectionName};
use crate::core::Core;
use crate::health::Health;
use crate::store::SharedStore;
use anyhow::Context;
use graph::Graph;
use reply::WhatsAppReplier;
pub use section::{WhatsAppConfig, WhatsAppPlatform};
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use webhook::Request;

pub const PLATFORM: &str = "whatsapp";

/// The numbers this process serves, by phone number id. Meta posts the events of every
/// number of one app to that app's one callback URL: a connection hands another's on.
type Numbers = std::sync::Mutex<HashMap<String, Weak<WhatsApp>>>;

pub struct WhatsApp {
    /// Which number this is (`whatsapp`, `whatsapp:managers`), and its name as a string.
    connection: ConnectionName,
    name: String,
    graph: Arc<Graph>,
    /// Never logged.
    app_secret: String,
    verify_token: String,
    core: Arc<Core>,
    store: SharedStore,
    health: Health,
    clock: Clock,
    config: WhatsAppConfig,
    /// Message claims.
    runtime: Runtime,
    /// Every connection of this platform in this process.
    numbers: Arc<Numbers>,
}

impl WhatsApp {
    /// A channel for each number configured (`[channels.whatsapp]` and each account)
    /// whose secrets are set; one whose secret is missing is logged and left out.
    pub fn from_config(
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        let mut channels: Vec<Arc<dyn Channel>> = Vec::new();
        let numbers = Arc::new(Numbers::default());
        for connection in config.connections::<WhatsAppConfig>(PLATFORM) {
            let name = connection.name.clone();
            let section = &connection.section;
            let vars = [
                connection.token_var(section::TOKEN),
                section.app_secret_var(),
                section.verify_token_var(),
            ];
            let secrets: Option<Vec<String>> = vars
                .iter()
                .map(|var| {
                    super::needed_secret(config, &name, var)
                        .and_then(|s| s.expose().map(str::to_string))
                })
                .collect();
            let Some(secrets) = secrets else {
                continue;
            };
            let channel = WhatsApp::new(connection, &secrets, parts.clone(), numbers.clone())
                .with_context(|| format!("while setting up {}", name.table()))?;
            let mut known = numbers.lock().unwrap_or_else(|e| e.into_inner());
            known.insert(
                channel.config.phone_number_id.clone(),
                Arc::downgrade(&channel),
            );
            drop(known);
            channels.push(channel);
        }
        Ok(channels)
    }

    /// `secrets`: the access token, the app secret and the verify token.
    fn new(
        connection: Connection<WhatsAppConfig>,
        secrets: &[String],
        parts: ChannelParts,
        numbers: Arc<Numbers>,
    ) -> anyhow::Result<Arc<WhatsApp>> {
        let (config, name) = (&connection.section, &connection.name);
        url::Url::parse(&config.api_url).with_context(|| name.at(&["api_url"]).join("."))?;
        anyhow::ensure!(
            section::is_graph_id(&config.phone_number_id),
            "{} needs phone_number_id (digits)",
            name.table()
        );
        let token_var = connection.token_env.as_deref().unwrap_or(section::TOKEN);
        let graph = Graph::new(
            &config.api_url,
            &config.phone_number_id,
            &secrets[0],
            token_var,
            parts.health.clone(),
            &name.to_string(),
        )?;
        Ok(Arc::new(WhatsApp {
            runtime: Runtime::new("WhatsApp", &parts, &name.key("message"), &name.key("lease")),
            graph: Arc::new(graph),
            config: connection.section,
            app_secret: secrets[1].clone(),
            verify_token: secrets[2].clone(),
            name: connection.name.to_string(),
            connection: connection.name,
            core: parts.core,
            store: parts.store,
            health: parts.health,
            clock: parts.clock,
            numbers,
        }))
    }

    async fn recover(self: &Arc<Self>) {
        for claim in self.runtime.abandoned::<Request>().await {
            self.start_turn(claim.event);
        }
    }

    /// The connection of this process that serves `phone_number_id`, if any.
    fn serving(self: &Arc<Self>, phone_number_id: &str) -> Option<Arc<WhatsApp>> {
        if phone_number_id == self.config.phone_number_id {
            return Some(self.clone());
        }
        let known = self.numbers.lock().unwrap_or_else(|e| e.into_inner());
        known.get(phone_number_id).and_then(Weak::upgrade)
    }

    /// Records what one webhook delivery says and starts a turn for each message this
    /// process claims.
    async fn take(self: &Arc<Self>, delivery: webhook::Delivery) {
        for (number, at) in &delivery.seen {
            self.saw(number, *at).await;
        }
        for status in &delivery.statuses {
            self.record_status(status).await;
        }
        for request in delivery.requests {
            if self.runtime.claim(request.id(), &request).await {
                self.start_turn(request);
            }
        }
    }

    /// Handles a claimed message in the background and records it answered when done.
    fn start_turn(self: &Arc<Self>, request: Request) {
        let this = self.clone();
        let id = request.id().to_string();
        self.runtime.spawn_turn(id, async move {
            this.handle(request).await;
        });
    }

    /// Runs one message's turn through the core, in order per number.
    async fn handle(&self, request: Request) {
        let replier = WhatsAppReplier::new(self.graph.clone(), request.from(), request.id());
        let (from, name, body) = match request {
            Request::Message {
                from, name, text, ..
            } => (from, name, InboundBody::Text(text)),
            Request::Media {
                from,
                name,
                caption,
                file,
                ..
            } => {
                let media = vec![media::media_of(&self.graph, &file)];
                let body = InboundBody::Media {
                    text: caption,
                    media,
                };
                (from, name, body)
            }
            Request::Press {
                from,
                name,
                payload,
                ..
            } => match buttons::pressed(&payload) {
                Some(body) => (from, name, body),
                None => {
                    let foreign = reply::text("That button is not one of mine.");
                    let _ = self.graph.send(&from, foreign).await;
                    return;
                }
            },
            // A stranger's sticker asks for access like any first message.
            Request::Unsupported {
                from, name, what, ..
            } if !self.core.is_permitted(&self.name, &from).await => {
                (from, name, InboundBody::Text(format!("({what})")))
            }
            Request::Unsupported { from, what, .. } => {
                let note = format!(
                    "I can read text messages, voice notes, images and files here; a message of type `{}` is not one I can open yet.",
                    format::escape(&what)
                );
                let _ = self.graph.send(&from, reply::text(&note)).await;
                return;
            }
        };
        let inbound = Inbound {
            platform: PLATFORM.into(),
            connection: self.name.clone(),
            chat: from.clone(),
            thread: None,
            // A stranger's access request names them as WhatsApp shows them.
            user_name: name.unwrap_or_else(|| from.clone()),
            user: from,
            private: true,
            body,
        };
        let _turn = self.graph.lock_turn(&inbound.conversation()).await;
        self.core.handle(inbound, &replier).await;
    }

    /// The store key of when `number` last wrote.
    fn seen_key(&self, number: &str) -> String {
        self.connection.key(&format!("seen.{number}"))
    }

    /// Remembers that `number` wrote at `at` (unix seconds), keeping the latest.
    async fn saw(&self, number: &str, at: i64) {
        let Some(at) = chrono::DateTime::from_timestamp(at, 0) else {
            return;
        };
        if self.last_seen(number).await.is_some_and(|last| last >= at) {
            return;
        }
        let key = self.seen_key(number);
        if let Err(e) = self.store.set_state(&key, &at.to_rfc3339()).await {
            tracing::warn!(error = %e, "could not record when a WhatsApp number last wrote");
        }
    }

    /// When `number` last wrote, if it ever did.
    async fn last_seen(&self, number: &str) -> Option<chrono::DateTime<chrono::Utc>> {
        let text = self.store.state(&self.seen_key(number)).await.ok()??;
        chrono::DateTime::parse_from_rfc3339(&text)
            .ok()
            .map(|t| t.to_utc())
    }

    /// Whether `number` wrote within WhatsApp's 24-hour customer-service window.
    async fn in_window(&self, number: &str) -> bool {
        let Some(last) = self.last_seen(number).await else {
            return false;
        };
        self.clock.now() - last < chrono::Duration::hours(24)
    }
}

#[async_trait::async_trait]
impl Channel for WhatsApp {
    fn name(&self) -> &str {
        &self.name
    }

    /// A webhook is merely quiet when nobody writes.
    fn stale_after(&self) -> Option<Duration> {
        None
    }

    fn routes(self: Arc<Self>) -> Option<axum::Router> {
        Some(webhook::routes(self))
    }

    async fn run(self: Arc<Self>, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.runtime.follow(&shutdown);
        match self.graph.check().await {
            Ok(()) => self.health.ok(&self.name, "webhook: waiting for requests"),
            // A refused token is on `/readyz` already; anything else may pass.
            Err(_) if self.graph.refused() => {}
            Err(e) => {
                tracing::warn!(connection = %self.name, error = %e, "could not ask WhatsApp about the number; serving the webhook anyway");
                self.health.ok(&self.name, "webhook: waiting for requests");
            }
        }
        let this = self.clone();
        let recover = move || {
            let this = this.clone();
            async move { this.recover().await }
        };
        self.runtime.serve(recover, shutdown.cancelled()).await;
        Ok(())
    }

    fn delivery(self: Arc<Self>) -> Arc<dyn crate::chat::Delivery> {
        self
    }
}
