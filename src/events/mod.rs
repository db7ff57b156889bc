//! Real-time events (DESIGN §7): OnlyFansAPI and OFAuth webhooks and WebSocket relays are
//! verified, stored de-duplicated, normalised into one [`Event`], and handed to the event
//! rules (workflows with a `[trigger]`), which post alerts through the scheduler's
//! delivery path or run the agent unattended.
//!
//! A webhook is answered only after its event is stored, and processed after the answer:
//! a slow chat platform never makes a sender time out and retry, and a process killed
//! right after answering loses nothing (unprocessed events are picked up on start).

pub mod log;
pub mod normalize;
pub mod relay;
pub mod rules;
pub mod webhooks;

use crate::store::{DedupKey, SharedStore, StoreError, StoredEvent};
use crate::tasks::trigger::EventKind;
use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// How long an event with its own id is recognised when sent again.
const KEEP_OWN_ID: Duration = Duration::days(7);
/// How long an event without one is recognised by its body.
const KEEP_BODY: Duration = Duration::hours(1);

/// One event, whatever its source.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `onlyfansapi`, `ofauth`, `betterfans`, or `relay:<name>`.
    pub source: String,
    /// The source's own name for it.
    pub name: String,
    pub kind: EventKind,
    pub account: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub fields: Map<String, Value>,
    pub raw: String,
    /// The payload's own id (message, notification, transaction), when it has one.
    pub own_id: Option<String>,
}

impl Event {
    /// DESIGN §7: the name, the account and the payload's own id, kept 7 days; else the
    /// SHA-256 of the raw body, kept 1 hour.
    pub fn dedup_key(&self, now: DateTime<Utc>) -> DedupKey {
        match &self.own_id {
            Some(id) => DedupKey {
                key: format!(
                    "{}|{}|{}|{id}",
                    self.source,
                    self.name,
                    self.account.as_deref().unwrap_or("")
                ),
                until: now + KEEP_OWN_ID,
            },
            None => DedupKey {
                key: format!(
                    "{}|sha256:{}",
                    self.source,
                    hex::encode(Sha256::digest(self.raw.as_bytes()))
                ),
                until: now + KEEP_BODY,
            },
        }
    }

    fn stored(&self, now: DateTime<Utc>) -> StoredEvent {
        StoredEvent {
            id: uuid::Uuid::now_v7().to_string(),
            source: self.source.clone(),
            name: self.name.clone(),
            kind: self.kind.as_str().to_string(),
            account: self.account.clone(),
            occurred_at: self.occurred_at,
            received_at: now,
            fields: Value::Object(self.fields.clone()),
            raw: self.raw.clone(),
        }
    }
}

/// What became of an event handed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Ingested {
    Stored(String),
    Duplicate,
}

/// Events waiting in memory for the rules; beyond this a burst waits in the store, where
/// the rules' sweep finds it.
const QUEUE: usize = 10_000;

/// Where sources hand their events: stores them, then queues them for the rules.
#[derive(Clone)]
pub struct Intake {
    store: SharedStore,
    queue: mpsc::Sender<StoredEvent>,
}

impl Intake {
    /// The intake and the receiving end the rule processor reads.
    pub fn new(store: SharedStore) -> (Intake, mpsc::Receiver<StoredEvent>) {
        let (queue, rx) = mpsc::channel(QUEUE);
        (Intake { store, queue }, rx)
    }

    /// Stores the event (unless it is a copy of one already stored) and queues it.
    pub async fn ingest(&self, event: &Event) -> Result<Ingested, StoreError> {
        let now = Utc::now();
        let stored = event.stored(now);
        let labels = crate::metrics::EventLabel {
            source: source_label(&event.source),
            kind: event.kind.as_str().to_string(),
        };
        if !self
            .store
            .insert_event(&stored, &event.dedup_key(now), now)
            .await?
        {
            crate::metrics::get()
                .event_duplicates
                .get_or_create(&labels)
                .inc();
            return Ok(Ingested::Duplicate);
        }
        crate::metrics::get().events.get_or_create(&labels).inc();
        let id = stored.id.clone();
        // A full queue (a burst) or a stopping processor: the event waits in the store
        // until the sweep takes it.
        let _ = self.queue.try_send(stored);
        Ok(Ingested::Stored(id))
    }
}

/// Relays are counted under their kind, not each configured name.
fn source_label(source: &str) -> String {
    source.split(':').next().unwrap_or(source).to_string()
}

/// Every event part a config turns on: the webhook routes, the relays, and the rules.
pub struct EventSources {
    pub intake: Intake,
    queue: mpsc::Receiver<StoredEvent>,
    rules: std::sync::Arc<rules::Rules>,
    routes: Option<axum::Router>,
    relays: Vec<relay::Relay>,
}

impl EventSources {
    /// Builds the parts; the rules always run (events may also wait from an earlier run).
    pub fn build(
        config: &crate::config::Config,
        store: SharedStore,
        scheduler: std::sync::Arc<crate::scheduler::engine::Scheduler>,
        health: crate::health::Health,
        clock: crate::clock::Clock,
    ) -> EventSources {
        let (intake, queue) = Intake::new(store.clone());
        let routes = webhooks::routes(config, intake.clone());
        let (onlyfansapi, ofauth) = webhooks::served(config);
        for (source, served) in [("onlyfansapi", onlyfansapi), ("ofauth", ofauth)] {
            let Some(served) = served else { continue };
            // A webhook is quiet when nobody writes; it is up while the route is served.
            let name = format!("webhook:{source}");
            health.register(&name, None);
            match served {
                Ok(()) => health.ok(&name, "listening"),
                Err(why) => {
                    tracing::error!(source, "{why}");
                    health.failing(&name, &why);
                }
            }
        }
        let relays = config
            .events
            .relay
            .iter()
            .map(|r| {
                let key = config
                    .secrets
                    .relay_keys
                    .get(&r.name)
                    .cloned()
                    .unwrap_or_default();
                relay::Relay::new(
                    r.clone(),
                    key,
                    intake.clone(),
                    store.clone(),
                    health.clone(),
                    clock.clone(),
                )
            })
            .collect();
        EventSources {
            intake,
            queue,
            rules: std::sync::Arc::new(rules::Rules::new(store, scheduler)),
            routes,
            relays,
        }
    }

    /// The webhook routes to merge into the shared listener, if any source is enabled.
    pub fn routes(&mut self) -> Option<axum::Router> {
        self.routes.take()
    }

    /// Each long-running part, named: the rules, then every relay.
    pub fn parts(
        self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> Vec<(
        String,
        futures::future::BoxFuture<'static, anyhow::Result<()>>,
    )> {
        use futures::FutureExt;
        let mut parts = vec![(
            "event rules".to_string(),
            self.rules.clone().run(self.queue, shutdown.clone()).boxed(),
        )];
        for relay in self.relays {
            parts.push((relay.health_name(), relay.run(shutdown.clone()).boxed()));
        }
        parts
    }
}
