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
mod sessions;
mod skills;
mod threads;

pub use backend::{connect, connect_with, location};
pub use budgets::{Bucket, BudgetSetting, BudgetStore, OperationsView, SeriesPoint, Spend};
pub use events::{DedupKey, EventFilter, EventLog, EventOutcome, StoredEvent};
pub use sessions::{DashboardSession, DashboardSessions};
pub use skills::SkillStore;
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

/// One row of the usage ledger: a model call or an OnlyFansAPI call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageEntry {
    pub at: DateTime<Utc>,
    pub platform: String,
    pub user: String,
    /// `chat`, `scheduled`, `event`, `web_search`.
    pub kind: String,
    /// Model alias; for an API call, the alias of the turn that made it.
    pub model: Option<String>,
    pub task: Option<String>,
    pub conversation: Option<String>,
    /// `model` or `api`.
    pub source: UsageSource,
    /// For API rows: the catalog endpoint id.
    pub endpoint: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    /// Credits charged for the model call (cost × credits_per_usd).
    pub credits: f64,
    pub cost_usd: f64,
    /// OnlyFansAPI credits read from `_meta._credits.used`.
    pub api_credits: f64,
    /// The provider sent no token usage: the tokens (and so the cost) are fanops' estimate.
    pub estimated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageSource {
    #[default]
    Model,
    Api,
    /// One web search, billed at the provider's flat price.
    WebSearch,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Model => "model",
            UsageSource::Api => "api",
            UsageSource::WebSearch => "web_search",
        }
    }
}

/// The dimension a usage report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageDimension {
    Model,
    Platform,
    Kind,
    User,
    Day,
}

/// One group of a usage report.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UsageRow {
    pub key: String,
    pub model_calls: i64,
    pub api_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub credits: f64,
    pub cost_usd: f64,
    pub api_credits: f64,
    /// Model calls whose tokens (and cost) are estimates: the provider sent no usage.
    pub estimated_calls: i64,
}

/// One line of the audit log: who did what, when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
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
    /// Atomically moves the conversation's `pending` actions that expired by `now` to
    /// `expired`; returns the ones this call moved, oldest first.
    async fn expire_actions(
        &self,
        conversation: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<PendingAction>>;
}

#[async_trait]
pub trait UsageLedger: Send + Sync {
    async fn record_usage(&self, entry: &UsageEntry) -> StoreResult<()>;
    /// Sums the ledger since `since` (all time when None), grouped by `by`,
    /// largest credits first. `Day` groups by UTC date `YYYY-MM-DD`, oldest first.
    async fn usage_report(
        &self,
        since: Option<DateTime<Utc>>,
        by: UsageDimension,
    ) -> StoreResult<Vec<UsageRow>>;
    /// Credits spent in one conversation from `since` on (a scheduled run has its own
    /// conversation; a turn in chat is what was spent since it began).
    async fn conversation_credits(
        &self,
        conversation: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<f64>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first.
    async fn recent_audit(&self, limit: usize) -> StoreResult<Vec<AuditEntry>>;
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

/// How a scheduled fire ended (or that it is still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The process was down at fire time and the grace period had passed.
    Missed,
    /// The month's budget was spent: no model call was made (or no further one).
    SkippedBudget,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Missed => "missed",
            RunStatus::SkippedBudget => "skipped: budget",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "missed" => RunStatus::Missed,
            "skipped: budget" => RunStatus::SkippedBudget,
            _ => return None,
        })
    }
}

/// One fire of a scheduled task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    pub task: String,
    pub scheduled_for: DateTime<Utc>,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub model: Option<String>,
    pub output: Option<String>,
    pub credits: f64,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
    /// While its post is on the way: 0 during the first try, N while retry N waits.
    pub delivery_retry: Option<u32>,
}

impl TaskRun {
    /// How the run went, as people read it: `succeeded` only when its post reached the
    /// chat (or it posts nothing); else where the post stands.
    pub fn outcome(&self) -> String {
        let reason = self.delivery_error.as_deref().unwrap_or("");
        let delivery = match (self.delivered_at, self.delivery_retry) {
            (Some(_), _) => None,
            (None, Some(0)) => Some("delivering".to_string()),
            (None, Some(n)) if reason.is_empty() => Some(format!("delivering (retry {n})")),
            (None, Some(n)) => Some(format!("delivering (retry {n}): {reason}")),
            (None, None) if reason.is_empty() => None,
            (None, None) => Some(format!("not delivered: {reason}")),
        };
        match (self.status, delivery) {
            (_, None) => self.status.as_str().to_string(),
            (RunStatus::Succeeded, Some(delivery)) => delivery,
            (status, Some(delivery)) => format!("{}; {delivery}", status.as_str()),
        }
    }

    /// Its post did not reach the chat, or is still on the way.
    pub fn undelivered(&self) -> bool {
        self.delivered_at.is_none()
            && (self.delivery_retry.is_some() || self.delivery_error.is_some())
    }
}

/// The record of scheduled fires; a fire is claimed by inserting its row.
#[async_trait]
pub trait TaskRunStore: Send + Sync {
    /// Inserts (task, scheduled_for) with `status`; true only for the one caller that did.
    async fn claim_run(
        &self,
        task: &str,
        scheduled_for: DateTime<Utc>,
        status: RunStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records a run started by hand at `at`; it never moves the schedule.
    async fn claim_manual_run(&self, task: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Records how a claimed run ended.
    async fn finish_run(&self, run: &TaskRun) -> StoreResult<()>;
    /// Records the delivery of a run's output: delivered (`error` None), refused for good,
    /// or refused for now with retry number `retry` waiting.
    async fn record_delivery(
        &self,
        task: &str,
        scheduled_for: DateTime<Utc>,
        at: DateTime<Utc>,
        error: Option<&str>,
        retry: Option<u32>,
    ) -> StoreResult<()>;
    /// The latest scheduled fire recorded for the task, in any status (manual runs aside).
    async fn last_scheduled(&self, task: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// [`TaskRunStore::last_scheduled`] of every task with a recorded fire, in one query.
    async fn last_scheduled_all(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    /// Marks runs still `running` that started before `before` as failed (a crash), and
    /// posts whose first try was under way when a run finished before `before` as not
    /// delivered (the process stopped mid-post); returns how many runs were failed.
    async fn fail_stale_runs(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64>;
    /// The newest runs of a task, newest first.
    async fn recent_runs(&self, task: &str, limit: usize) -> StoreResult<Vec<TaskRun>>;
}

/// A task created from chat, kept as a workflow document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    pub id: String,
    /// The task as a workflow file would say it (TOML).
    pub definition: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Tasks created from chat.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Inserts a new task; false (and nothing changed) when the id is taken.
    async fn insert_task(&self, task: &StoredTask) -> StoreResult<bool>;
    /// Replaces a task's definition; false when there is no such task.
    async fn update_task(
        &self,
        id: &str,
        definition: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Removes a task (its run history stays); false when there was none.
    async fn delete_task(&self, id: &str) -> StoreResult<bool>;
    /// Every stored task, by id.
    async fn stored_tasks(&self) -> StoreResult<Vec<StoredTask>>;
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
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Cheap liveness check for `/readyz`.
    async fn ping(&self) -> StoreResult<()>;
}

pub type SharedStore = Arc<dyn Store>;
