//! Claims of inbound events, the same for every channel.
//!
//! An event (a platform's update, a webhook delivery) is claimed in the store before it is
//! handled, so no replica and no restart handles it twice, and marked answered after, so
//! a crash in between does not lose it. A claim is a lease its owner keeps extending while
//! it lives; when the owner dies (kill -9, power loss), the lease runs out and the next
//! process to look takes the event over and handles it again. A stopping process that ran
//! out of grace ends its leases at once, so the next start does not wait for them.

use crate::clock::Clock;
use crate::store::{InboundClaim, SharedStore, StoreResult};
use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a claim stays with its owner without being renewed.
pub const LEASE: Duration = Duration::from_secs(20);
/// How often an owner renews its leases and looks for abandoned claims.
pub const KEEP_EVERY: Duration = Duration::from_secs(5);
/// How long answered claims are remembered, so a late redelivery is still known.
const CLAIMS_KEPT: chrono::Duration = chrono::Duration::days(7);
/// How often answered claims older than [`CLAIMS_KEPT`] are forgotten.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// An event that failed this many times (its handler kept dying) is given up.
const MAX_ATTEMPTS: u32 = 3;
/// Abandoned claims taken over in one look.
const TAKE_AT_ONCE: usize = 100;

/// One process's claims of one source's events.
pub struct InboundLedger {
    store: SharedStore,
    source: &'static str,
    owner: String,
    clock: Clock,
}

impl InboundLedger {
    pub fn new(store: SharedStore, source: &'static str, clock: Clock) -> InboundLedger {
        InboundLedger {
            store,
            source,
            owner: uuid::Uuid::new_v4().simple().to_string(),
            clock,
        }
    }

    fn lease_end(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now() + chrono::Duration::from_std(LEASE).unwrap_or_default()
    }

    /// Claims event `id`, keeping `payload` to handle it again should this process die.
    /// False when it was claimed before (a redelivery, another replica).
    pub async fn claim(&self, id: &str, payload: &str) -> StoreResult<bool> {
        let now = self.clock.now();
        let claim = InboundClaim {
            source: self.source.to_string(),
            id: id.to_string(),
            payload: payload.to_string(),
            owner: self.owner.clone(),
            claimed_at: now,
            lease_until: self.lease_end(),
            attempts: 1,
            placeholder: None,
        };
        self.store.claim_inbound(&claim).await
    }

    /// Records that event `id` was answered; it is never handled again.
    pub async fn answered(&self, id: &str) {
        let result = self
            .store
            .answer_inbound(self.source, id, self.clock.now())
            .await;
        if let Err(e) = result {
            tracing::error!(source = self.source, id, error = %e, "could not record an event as answered");
        }
    }

    /// Records the "On it…" message posted while handling event `id`, so that a process
    /// taking the event over edits it into the answer instead of leaving it behind.
    pub async fn placeholder_posted(&self, id: &str, placeholder: &str) {
        let result = self
            .store
            .note_placeholder(self.source, id, placeholder)
            .await;
        if let Err(e) = result {
            tracing::warn!(source = self.source, id, error = %e, "could not record a placeholder");
        }
    }

    /// Extends this process's leases (call every [`KEEP_EVERY`]).
    pub async fn renew(&self) {
        if let Err(e) = self
            .store
            .renew_inbound(&self.owner, self.lease_end())
            .await
        {
            tracing::warn!(source = self.source, error = %e, "could not renew inbound claims");
        }
    }

    /// Events whose owner died before answering, now claimed by this process, oldest
    /// first. An event that already failed [`MAX_ATTEMPTS`] times is given up and logged.
    pub async fn take_abandoned(&self) -> StoreResult<Vec<InboundClaim>> {
        let now = self.clock.now();
        let taken = self
            .store
            .take_abandoned_inbound(
                self.source,
                &self.owner,
                now,
                self.lease_end(),
                TAKE_AT_ONCE,
            )
            .await?;
        let mut handle = Vec::with_capacity(taken.len());
        for claim in taken {
            if claim.attempts > MAX_ATTEMPTS {
                tracing::error!(
                    source = self.source,
                    id = %claim.id,
                    attempts = claim.attempts - 1,
                    "an event was never answered after several tries; giving it up"
                );
                self.answered(&claim.id).await;
            } else {
                tracing::info!(source = self.source, id = %claim.id, "handling an event its previous owner did not answer");
                handle.push(claim);
            }
        }
        Ok(handle)
    }

    /// Ends this process's leases on unanswered events so the next start takes them at
    /// once; returns how many there were.
    pub async fn release(&self) -> u64 {
        match self
            .store
            .release_inbound(&self.owner, self.clock.now())
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(source = self.source, error = %e, "could not release inbound claims");
                0
            }
        }
    }

    /// Forgets answered claims older than `kept`.
    pub async fn prune(&self, kept: chrono::Duration) {
        let before = self.clock.now() - kept;
        match self.store.prune_inbound(self.source, before).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(
                source = self.source,
                pruned = n,
                "old inbound claims forgotten"
            ),
            Err(e) => {
                tracing::warn!(source = self.source, error = %e, "could not prune inbound claims")
            }
        }
    }

    /// Runs `serving` while keeping this process's claims (see [`InboundLedger::keep`]),
    /// then lets the turns in flight finish (see [`InboundLedger::drain`]). Claims are
    /// kept until every turn is done, not just until `serving` ends.
    pub async fn serve<T, R, F>(
        &self,
        turns: &TaskTracker,
        grace: Duration,
        stopping: &CancellationToken,
        recover: R,
        serving: impl Future<Output = T>,
    ) -> T
    where
        R: FnMut() -> F,
        F: Future<Output = ()>,
    {
        let drained = CancellationToken::new();
        let work = async {
            let served = serving.await;
            self.drain(turns, grace).await;
            drained.cancel();
            served
        };
        let (served, ()) = tokio::join!(work, self.keep(drained.clone(), stopping, recover));
        served
    }

    /// Stops new turns and waits for those in flight, up to `grace`. Turns still running
    /// then are cut off and their claims released, so the next start answers them.
    async fn drain(&self, turns: &TaskTracker, grace: Duration) {
        turns.close();
        let running = turns.len();
        if running == 0 {
            return;
        }
        tracing::info!(
            source = self.source,
            turns = running,
            ?grace,
            "letting the turns in flight finish"
        );
        if tokio::time::timeout(grace, turns.wait()).await.is_err() {
            let released = self.release().await;
            tracing::warn!(
                source = self.source,
                unfinished = turns.len(),
                released,
                "the grace period ended with turns still running; the next start answers them"
            );
        }
    }

    /// Until `drained`, every [`KEEP_EVERY`]: renews this process's claims and, unless
    /// `stopping`, calls `recover` to handle the events a dead process claimed but never
    /// answered ([`InboundLedger::take_abandoned`]). Hourly: forgets old answered claims.
    async fn keep<R, F>(
        &self,
        drained: CancellationToken,
        stopping: &CancellationToken,
        mut recover: R,
    ) where
        R: FnMut() -> F,
        F: Future<Output = ()>,
    {
        let mut every = tokio::time::interval(KEEP_EVERY);
        let mut pruned = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = drained.cancelled() => return,
                _ = every.tick() => {}
            }
            self.renew().await;
            if !stopping.is_cancelled() {
                recover().await;
            }
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = tokio::time::Instant::now();
                self.prune(CLAIMS_KEPT).await;
            }
        }
    }
}
