//! Persistence. The only module that writes SQL.
//!
//! One [`Store`] trait made of small per-role traits; the backend is chosen by the
//! URL scheme (`sqlite://…` or `postgres://…`). Both backends run the same portable SQL
//! (`$1` placeholders, timestamps as Unix milliseconds, JSON as text), so the domain
//! types below never see sqlx.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod backend;
mod budgets;
mod events;
pub mod holder;
mod ledger;
mod sessions;
mod skills;
mod tasks;
pub mod team;
mod threads;

pub use backend::{connect, connect_with, location, migration_state, MigrationState};
pub use budgets::{Bucket, BudgetSetting, BudgetStore, OperationsView, SeriesPoint, Spend};
pub use events::{DedupKey, EventFilter, EventLog, EventOutcome, StoredEvent};
pub use ledger::{
    AuditEntry, AuditLog, UsageDimension, UsageEntry, UsageLedger, UsageRow, UsageSource,
};
pub use sessions::{DashboardSession, DashboardSessions};
pub use skills::SkillStore;
pub use tasks::{RunStatus, StoredTask, TaskRun, TaskRunStore, TaskStore};
pub use team::{AccessRequest, RequestState, RosterStore, TeamMember};
pub use threads::{FollowedThread, FollowedThreads, RefusalNotices};

/// Errors at the store boundary.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL `{0}`: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot reach the database at {host}: {cause}")]
    Unreachable { host: String, cause: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// One message of a conversation's history, in the model's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    pub role: MessageRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Token count of this message, computed once when it is stored.
    #[serde(default)]
    pub tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    User,
    Assistant,
    Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredToolCall {
    pub id: String,
    pub name: String,
    /// The raw JSON arguments string exactly as the model produced it.
    pub arguments: String,
}

/// Lifecycle of a write waiting for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionStatus {
    Pending,
    Confirmed,
    Cancelled,
    Executed,
    Failed,
    /// Nobody decided before it expired; nothing was run.
    Expired,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Pending => "pending",
            ActionStatus::Confirmed => "confirmed",
            ActionStatus::Cancelled => "cancelled",
            ActionStatus::Executed => "executed",
            ActionStatus::Failed => "failed",
            ActionStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ActionStatus::Pending,
            "confirmed" => ActionStatus::Confirmed,
            "cancelled" => ActionStatus::Cancelled,
            "executed" => ActionStatus::Executed,
            "failed" => ActionStatus::Failed,
            "expired" => ActionStatus::Expired,
            _ => return None,
        })
    }
}

/// A write tool call that waits for a person's decision (DESIGN §4).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAction {
    /// Also the `Idempotency-Key` of the API request it becomes.
    pub id: String,
    pub conversation: String,
    pub platform: String,
    pub requested_by: String,
    pub tool: String,
    pub tool_call_id: String,
    /// Validated arguments as JSON.
    pub arguments: serde_json::Value,
    pub summary: String,
    pub status: ActionStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub result: Option<String>,
    /// What the tool prepared at proposal (JSON), run as it is once confirmed.
    pub prepared: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Confirm,
    Cancel,
}

/// What an atomic decision did.
#[derive(Debug, Clone, PartialEq)]
pub enum DecideOutcome {
    /// This call moved the action out of `pending`; the caller owns running it.
    Decided(PendingAction),
    /// Nothing changed; here is the action as it stands (already decided, or expired).
    Unchanged(PendingAction),
    NotFound,
}

#[async_trait]
pub trait ConversationStore: Send + Sync {
    /// Appends messages at the end of the conversation, in order.
    async fn append_messages(
        &self,
        conversation: &str,
        messages: &[StoredMessage],
    ) -> StoreResult<()>;
    /// The newest `limit` messages, oldest first.
    async fn history(&self, conversation: &str, limit: usize) -> StoreResult<Vec<StoredMessage>>;
    /// Of the newest `limit` messages, oldest first, those that can fit a prompt budget
    /// of `tokens`: what `agent::history::fit` keeps of them, and at the old end at most
    /// the tool results of the unit the budget cuts (which `fit` drops). One statement.
    async fn history_within(
        &self,
        conversation: &str,
        tokens: u32,
        limit: usize,
    ) -> StoreResult<Vec<StoredMessage>>;
    /// Replaces the content of the tool-result message answering `tool_call_id`.
    /// Returns false when no such message exists.
    async fn replace_tool_result(
        &self,
        conversation: &str,
        tool_call_id: &str,
        content: &str,
        tokens: u32,
    ) -> StoreResult<bool>;
    /// Deletes the conversation's history; returns how many messages went.
    async fn clear_history(&self, conversation: &str) -> StoreResult<u64>;
}

#[async_trait]
pub trait PendingActionStore: Send + Sync {
    async fn insert_action(&self, action: &PendingAction) -> StoreResult<()>;
    async fn action(&self, id: &str) -> StoreResult<Option<PendingAction>>;
    /// The newest action still `pending` and unexpired at `now` in the conversation.
    async fn open_action(
        &self,
        conversation: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingAction>>;
    /// Atomically moves `pending` (and unexpired at `now`) to confirmed/cancelled.
    async fn decide(
        &self,
        id: &str,
        decision: Decision,
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<DecideOutcome>;
    /// Records the end of a confirmed action: executed or failed, with its result.
    async fn finish_action(&self, id: &str, status: ActionStatus, result: &str) -> StoreResult<()>;
    /// Every conversation with an action still `pending` (expired or not), with the
    /// earliest expiry among them.
    async fn pending_expiries(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    /// Atomically moves the conversation's `pending` actions that expired by `now` to
    /// `expired`; returns the ones this call moved, oldest first.
    async fn expire_actions(
        &self,
        conversation: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PendingAction>>;
}

/// Durable channel facts and once-only claims.
#[async_trait]
pub trait ChannelState: Send + Sync {
    async fn state(&self, name: &str) -> StoreResult<Option<String>>;
    async fn set_state(&self, name: &str, value: &str) -> StoreResult<()>;
    /// Every fact whose name starts with `prefix`, by name.
    async fn states_with_prefix(&self, prefix: &str) -> StoreResult<Vec<(String, String)>>;
    /// Sets many facts in one transaction.
    async fn set_states(&self, facts: &[(String, String)]) -> StoreResult<()>;
    /// True for the first caller that claims (scope, name); false for every later one.
    async fn claim(&self, scope: &str, name: &str) -> StoreResult<bool>;
    /// Forgets the claims of `scope` made before `before`; returns how many.
    async fn prune_claims(&self, scope: &str, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// An inbound platform event (a platform's update, a webhook delivery) claimed by one
/// process until it is answered. The payload is kept so that another start can handle
/// it again when the process that claimed it died before answering.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundClaim {
    /// What kind of event, e.g. `<platform>.update`.
    pub source: String,
    /// The event's own id within its source.
    pub id: String,
    pub payload: String,
    /// The process holding it.
    pub owner: String,
    pub claimed_at: DateTime<Utc>,
    /// Until when the owner holds it; a live owner keeps extending this.
    pub lease_until: DateTime<Utc>,
    /// How many processes have taken it so far (1 for the first).
    pub attempts: u32,
    /// The platform's id of the "On it…" message posted while handling it, if any.
    pub placeholder: Option<String>,
}

/// Claims of inbound events, each answered once: not zero times, not twice.
#[async_trait]
pub trait InboundClaims: Send + Sync {
    /// Claims `(source, id)` for its owner and stores it; false when it was claimed before.
    async fn claim_inbound(&self, claim: &InboundClaim) -> StoreResult<bool>;
    /// Records that the event was answered, so nobody handles it again.
    async fn answer_inbound(&self, source: &str, id: &str, at: DateTime<Utc>) -> StoreResult<()>;
    /// Records the "On it…" message posted while handling the event.
    async fn note_placeholder(&self, source: &str, id: &str, placeholder: &str) -> StoreResult<()>;
    /// Extends the lease of every unanswered claim `owner` holds; returns how many.
    async fn renew_inbound(&self, owner: &str, lease_until: DateTime<Utc>) -> StoreResult<u64>;
    /// Ends `owner`'s leases at `now` (a stopping process), so the next start takes
    /// over its unanswered claims at once; returns how many.
    async fn release_inbound(&self, owner: &str, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Takes over up to `limit` unanswered claims of `source` whose lease ran out by
    /// `now`, oldest first: each is handed to exactly one caller, now owned by `owner`.
    async fn take_abandoned_inbound(
        &self,
        source: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<InboundClaim>>;
    /// Forgets answered claims of `source` made before `before`; returns how many.
    async fn prune_inbound(&self, source: &str, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// A scheduled post waiting to be sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedDelivery {
    pub task: String,
    pub scheduled_for: DateTime<Utc>,
    pub channel: String,
    pub recipient: String,
    pub body: String,
    /// The attachments, encoded by the scheduler (JSON).
    pub files: String,
    /// Parts the platform already took: never sent again.
    pub posted: u32,
    /// Re-sends made so far.
    pub attempt: u32,
    pub next_at: DateTime<Utc>,
}

/// Scheduled posts that wait to be sent again, kept across restarts.
#[async_trait]
pub trait DeliveryRetries: Send + Sync {
    /// Stores (or updates) the retry of one fire's post.
    async fn queue_retry(&self, delivery: &QueuedDelivery) -> StoreResult<()>;
    /// Takes up to `limit` retries due at `now`, each handed to one caller only: a taken
    /// one is not due again before `hold_until` (should the taker die mid-send).
    async fn take_due_retries(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<QueuedDelivery>>;
    /// Forgets a retry (sent, or given up).
    async fn finish_retry(&self, task: &str, scheduled_for: DateTime<Utc>) -> StoreResult<()>;
}

/// Leases on connections only one process may hold at a time.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes or keeps lease `name` for `owner` until `until`. True when `owner` holds it
    /// now: it was free, it lapsed by `now`, or it was `owner`'s already.
    async fn hold_lease(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Who holds lease `name` and until when (None when nobody ever took it or it was let go).
    async fn lease_holder(&self, name: &str) -> StoreResult<Option<(String, DateTime<Utc>)>>;
    /// Lets go of lease `name` if `owner` holds it.
    async fn release_lease(&self, name: &str, owner: &str) -> StoreResult<()>;
}

/// Everything the application persists.
#[async_trait]
pub trait Store:
    ConversationStore
    + PendingActionStore
    + UsageLedger
    + AuditLog
    + ChannelState
    + TaskRunStore
    + TaskStore
    + InboundClaims
    + Leases
    + DeliveryRetries
    + FollowedThreads
    + RefusalNotices
    + EventLog
    + SkillStore
    + BudgetStore
    + OperationsView
    + DashboardSessions
    + RosterStore
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Cheap liveness check for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

pub type SharedStore = Arc<dyn Store>;
