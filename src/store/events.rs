//! The event log: real-time events as received, and what each rule did with them.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A normalised event as stored (DESIGN §7).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub id: String,
    /// `onlyfansapi`, `ofauth`, or `relay:<name>`.
    pub source: String,
    /// The source's own name for it (`tips.received`, `api2_chat_message`, …).
    pub name: String,
    pub kind: String,
    pub account: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// JSON object of the common facts.
    pub fields: serde_json::Value,
    /// The payload as received.
    pub raw: String,
}

/// How an event is recognised when it comes again, and for how long.
#[derive(Debug, Clone, PartialEq)]
pub struct DedupKey {
    pub key: String,
    pub until: DateTime<Utc>,
}

/// One rule's handling of one event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventOutcome {
    pub event_id: String,
    pub rule: String,
    pub outcome: String,
    pub at: DateTime<Utc>,
}

/// Which events a listing shows.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub since: Option<DateTime<Utc>>,
    pub kind: Option<String>,
    pub limit: usize,
}

#[async_trait]
pub trait EventLog: Send + Sync {
    /// Stores the event unless its key is held by an earlier copy (until that lapses by
    /// `now`); true when stored.
    async fn insert_event(
        &self,
        event: &StoredEvent,
        key: &DedupKey,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn event(&self, id: &str) -> StoreResult<Option<StoredEvent>>;
    /// Events not yet handed to every rule, received at or before `before`, oldest first.
    async fn unprocessed_events(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<StoredEvent>>;
    async fn mark_processed(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Claims (event, rule) with a first outcome; false when it was claimed before.
    async fn claim_event_rule(
        &self,
        outcome: &EventOutcome,
        batch: Option<i64>,
    ) -> StoreResult<bool>;
    /// Takes over a claim left `running` since before `older_than` (its process died
    /// mid-way), restamping it `now`; true for the one caller that did.
    async fn retake_event_rule(
        &self,
        event_id: &str,
        rule: &str,
        older_than: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Replaces the outcome of a claimed (event, rule).
    async fn set_event_outcome(&self, event_id: &str, rule: &str, outcome: &str)
        -> StoreResult<()>;
    /// (rule, window start) of digests still waiting whose window started before `before`.
    async fn waiting_batches(&self, before: i64) -> StoreResult<Vec<(String, i64)>>;
    /// The events waiting in one digest window of a rule, oldest first.
    async fn batch_events(&self, rule: &str, batch: i64) -> StoreResult<Vec<StoredEvent>>;
    /// Moves every event of a digest window to `outcome`.
    async fn close_batch(&self, rule: &str, batch: i64, outcome: &str) -> StoreResult<()>;
    /// Matching events, newest first, and how many match in all.
    async fn recent_events(&self, filter: &EventFilter) -> StoreResult<(Vec<StoredEvent>, u64)>;
    /// Forgets processed events received before `before`, and their outcomes; returns how
    /// many events went.
    async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    /// The outcomes recorded for these events.
    async fn event_outcomes(&self, ids: &[String]) -> StoreResult<Vec<EventOutcome>>;
}
