//! What every platform's channel runs on, once: the claims of its inbound events (so no
//! replica and no restart answers one twice), the lease of the one connection only one
//! process may hold, the turns in flight, and "stopping" following shutdown so no new
//! event is taken while those turns finish.

use super::claims::InboundLedger;
use super::holder::SingleHolder;
use super::ChannelParts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// An event an earlier process claimed and died before answering, read back.
pub struct Abandoned<E> {
    /// Its claim id.
    pub id: String,
    pub event: E,
    /// The platform's id of the "On it…" message that process posted, if any.
    pub placeholder: Option<String>,
}

/// One channel's claims, lease and turns.
pub struct Runtime {
    /// The platform's title, for the log.
    title: &'static str,
    pub claims: Arc<InboundLedger>,
    pub lease: Arc<SingleHolder>,
    turns: TaskTracker,
    stopping: CancellationToken,
    /// How long turns in flight may run on once the process is stopping.
    grace: Duration,
}

impl Runtime {
    /// Claims are kept under `claims`, the single-holder connection under `lease` (each a
    /// connection's key: `chat.update`, `chat:managers.update`).
    pub fn new(title: &'static str, parts: &ChannelParts, claims: &str, lease: &str) -> Runtime {
        // One name of each per configured connection, for the life of the process.
        let claims: &'static str = Box::leak(claims.to_string().into_boxed_str());
        let lease: &'static str = Box::leak(lease.to_string().into_boxed_str());
        Runtime {
            title,
            claims: Arc::new(InboundLedger::new(
                parts.store.clone(),
                claims,
                parts.clock.clone(),
            )),
            lease: Arc::new(SingleHolder::new(
                parts.store.clone(),
                lease,
                parts.clock.clone(),
            )),
            turns: TaskTracker::new(),
            stopping: CancellationToken::new(),
            grace: parts.grace,
        }
    }

    /// Whether the process is stopping: no new event is taken.
    pub fn is_stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }

    /// From now on, stopping follows `shutdown`.
    pub fn follow(&self, shutdown: &CancellationToken) {
        let (stopping, shutdown) = (self.stopping.clone(), shutdown.clone());
        tokio::spawn(async move {
            shutdown.cancelled().await;
            stopping.cancel();
        });
    }

    /// Runs `serving` while keeping this process's claims (and running `recover` to take
    /// over abandoned ones); then lets the turns in flight finish for up to the grace
    /// period.
    pub async fn serve<T, R, F>(&self, recover: R, serving: impl Future<Output = T>) -> T
    where
        R: FnMut() -> F,
        F: Future<Output = ()>,
    {
        self.claims
            .serve(&self.turns, self.grace, &self.stopping, recover, serving)
            .await
    }

    /// Claims event `id`, keeping `event` to handle it again should this process die.
    /// False when another process or an earlier delivery has it, or it cannot be stored
    /// (logged).
    pub async fn claim<E: Serialize>(&self, id: &str, event: &E) -> bool {
        let payload = match serde_json::to_string(event) {
            Ok(payload) => payload,
            Err(e) => {
                tracing::error!(error = %e, "could not store a {} event; skipping it", self.title);
                return false;
            }
        };
        match self.claims.claim(id, &payload).await {
            Ok(claimed) => claimed,
            Err(e) => {
                tracing::error!(error = %e, "could not claim a {} event; skipping it", self.title);
                false
            }
        }
    }

    /// The events whose owner died before answering them, now this process's. One that no
    /// longer parses is given up (logged).
    pub async fn abandoned<E: DeserializeOwned>(&self) -> Vec<Abandoned<E>> {
        let claims = match self.claims.take_abandoned().await {
            Ok(claims) => claims,
            Err(e) => {
                tracing::warn!(error = %e, "could not look for unanswered {} events", self.title);
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for claim in claims {
            match serde_json::from_str::<E>(&claim.payload) {
                Ok(event) => out.push(Abandoned {
                    id: claim.id,
                    event,
                    placeholder: claim.placeholder,
                }),
                Err(e) => {
                    tracing::error!(id = %claim.id, error = %e, "a stored {} event no longer parses; giving it up", self.title);
                    self.claims.answered(&claim.id).await;
                }
            }
        }
        out
    }

    /// Runs `turn` in the background and records claim `id` answered when it is done.
    pub fn spawn_turn(&self, id: String, turn: impl Future<Output = ()> + Send + 'static) {
        let claims = self.claims.clone();
        self.turns.spawn(async move {
            turn.await;
            claims.answered(&id).await;
        });
    }

    /// Records claim `id` answered without a turn (an event with nothing to answer).
    pub async fn answered(&self, id: &str) {
        self.claims.answered(id).await;
    }
}
