//! Rows as both databases return them, and their conversion from and to domain types.
//!
//! Everything is stored as TEXT, BIGINT or DOUBLE PRECISION, so one row type decodes
//! from either backend.

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

use crate::store::{
    ActionStatus, AuditEntry, InboundClaim, PendingAction, QueuedDelivery, RunStatus, StoreError,
    StoreResult, StoredMessage, StoredTask, TaskRun, UsageDimension, UsageRow,
};

/// Declares a row struct and its `FromRow` for any backend whose rows can decode
/// every field by column name. Written by hand because sqlx is built without its
/// `derive` feature.
macro_rules! row_type {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty,)+ }) => {
        $(#[$meta])*
        pub(super) struct $name {
            $(pub(super) $field: $ty,)+
        }

        impl<'r, R: Row> FromRow<'r, R> for $name
        where
            &'r str: ColumnIndex<R>,
            $($ty: Decode<'r, R::Database> + Type<R::Database>,)+
        {
            fn from_row(row: &'r R) -> Result<Self, sqlx::Error> {
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?,)+
                })
            }
        }
    };
}

row_type!(
    /// One `conversation_messages` row.
    MessageRow {
        seq: i64,
        body: String,
        tokens: i64,
    }
);

row_type!(
    /// One `pending_actions` row.
    ActionRow {
        id: String,
        conversation: String,
        platform: String,
        requested_by: String,
        tool: String,
        tool_call_id: String,
        arguments: String,
        summary: String,
        status: String,
        created_at: i64,
        expires_at: i64,
        decided_by: Option<String>,
        decided_at: Option<i64>,
        result: Option<String>,
        prepared: Option<String>,
    }
);

row_type!(
    /// One group of the usage report query.
    UsageGroupRow {
        group_key: String,
        model_calls: i64,
        api_calls: i64,
        prompt_tokens: i64,
        completion_tokens: i64,
        cached_tokens: i64,
        credits: f64,
        cost_usd: f64,
        api_credits: f64,
        estimated_calls: i64,
    }
);

row_type!(
    /// One `audit_log` row.
    AuditRow {
        at: i64,
        actor: String,
        action: String,
        subject: Option<String>,
        detail: String,
    }
);

row_type!(
    /// One `task_runs` row.
    TaskRunRow {
        task: String,
        scheduled_for: i64,
        status: String,
        started_at: i64,
        finished_at: Option<i64>,
        model: Option<String>,
        output: Option<String>,
        credits: f64,
        delivered_at: Option<i64>,
        delivery_error: Option<String>,
        delivery_retry: Option<i64>,
    }
);

row_type!(
    /// One `scheduled_tasks` row.
    StoredTaskRow {
        id: String,
        definition: String,
        created_by: String,
        created_at: i64,
        updated_at: i64,
    }
);

row_type!(
    /// One `inbound_claims` row (without `answered_at`: only open claims are read).
    InboundClaimRow {
        source: String,
        id: String,
        payload: String,
        owner: String,
        claimed_at: i64,
        lease_until: i64,
        attempts: i32,
        placeholder: Option<String>,
    }
);

impl TryFrom<InboundClaimRow> for InboundClaim {
    type Error = StoreError;

    fn try_from(row: InboundClaimRow) -> StoreResult<Self> {
        let what = |field: &str| format!("inbound claim `{}/{}`, {field}", row.source, row.id);
        Ok(InboundClaim {
            claimed_at: instant(row.claimed_at, || what("claimed_at"))?,
            lease_until: instant(row.lease_until, || what("lease_until"))?,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            source: row.source,
            id: row.id,
            payload: row.payload,
            owner: row.owner,
            placeholder: row.placeholder,
        })
    }
}

row_type!(
    /// One `delivery_retries` row.
    RetryRow {
        task: String,
        scheduled_for: i64,
        channel: String,
        recipient: String,
        body: String,
        files: String,
        posted: i32,
        attempt: i32,
        next_at: i64,
    }
);

impl TryFrom<RetryRow> for QueuedDelivery {
    type Error = StoreError;

    fn try_from(row: RetryRow) -> StoreResult<Self> {
        let what = |field: &str| format!("delivery retry of `{}`, {field}", row.task);
        Ok(QueuedDelivery {
            scheduled_for: instant(row.scheduled_for, || what("scheduled_for"))?,
            next_at: instant(row.next_at, || what("next_at"))?,
            posted: u32::try_from(row.posted).unwrap_or(0),
            attempt: u32::try_from(row.attempt).unwrap_or(0),
            task: row.task,
            channel: row.channel,
            recipient: row.recipient,
            body: row.body,
            files: row.files,
        })
    }
}

impl TryFrom<StoredTaskRow> for StoredTask {
    type Error = StoreError;

    fn try_from(row: StoredTaskRow) -> StoreResult<Self> {
        let what = |field: &str| format!("task `{}`, {field}", row.id);
        Ok(StoredTask {
            created_at: instant(row.created_at, || what("created_at"))?,
            updated_at: instant(row.updated_at, || what("updated_at"))?,
            id: row.id,
            definition: row.definition,
            created_by: row.created_by,
        })
    }
}

/// The stored form of an instant: Unix milliseconds.
pub(super) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

/// The `day` column of the usage ledger: the UTC date of `at`.
pub(super) fn utc_day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

/// A row count for `LIMIT`; anything beyond `i64::MAX` means "all".
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A row's connection: rows written before there were several bots per platform (and
/// rows of no chat at all) read as their platform's. A literal, for `concat!`.
macro_rules! connection_column {
    () => {
        "CASE WHEN connection = '' THEN platform ELSE connection END"
    };
}
pub(super) use connection_column;

/// The usage ledger expression a report groups by. A call without a model groups
/// under `-` so it still shows up as a row of its own.
pub(super) fn group_expression(by: UsageDimension) -> &'static str {
    match by {
        UsageDimension::Model => "COALESCE(model, '-')",
        UsageDimension::Platform => "platform",
        UsageDimension::Connection => connection_column!(),
        UsageDimension::Kind => "kind",
        UsageDimension::User => "user_name",
        UsageDimension::Day => "day",
    }
}

pub(super) fn instant(ms: i64, what: impl FnOnce() -> String) -> StoreResult<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| {
        StoreError::Corrupt(format!("{}: {ms} is not a valid Unix time in ms", what()))
    })
}

/// The JSON kept in `conversation_messages.body`.
pub(super) fn encode_message(message: &StoredMessage) -> StoreResult<String> {
    serde_json::to_string(message)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a message as JSON: {e}")))
}

impl MessageRow {
    pub(super) fn into_message(self, conversation: &str) -> StoreResult<StoredMessage> {
        let what = || format!("message {} of conversation `{conversation}`", self.seq);
        let mut message: StoredMessage = serde_json::from_str(&self.body)
            .map_err(|e| StoreError::Corrupt(format!("{}: body is not a message: {e}", what())))?;
        // The column is what `replace_tool_result` updates, so it wins over the body.
        message.tokens = u32::try_from(self.tokens).map_err(|_| {
            StoreError::Corrupt(format!(
                "{}: token count {} out of range",
                what(),
                self.tokens
            ))
        })?;
        Ok(message)
    }
}

impl TryFrom<ActionRow> for PendingAction {
    type Error = StoreError;

    fn try_from(row: ActionRow) -> StoreResult<Self> {
        let what = |field: &str| format!("pending action `{}`, {field}", row.id);
        let status = ActionStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}: unknown status `{}`",
                what("status"),
                row.status
            ))
        })?;
        let arguments = serde_json::from_str(&row.arguments)
            .map_err(|e| StoreError::Corrupt(format!("{}: not JSON: {e}", what("arguments"))))?;
        let prepared = match row.prepared.as_deref() {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| {
                StoreError::Corrupt(format!("{}: not JSON: {e}", what("prepared")))
            })?),
            None => None,
        };
        let created_at = instant(row.created_at, || what("created_at"))?;
        let expires_at = instant(row.expires_at, || what("expires_at"))?;
        let decided_at = match row.decided_at {
            Some(ms) => Some(instant(ms, || what("decided_at"))?),
            None => None,
        };
        Ok(PendingAction {
            id: row.id,
            conversation: row.conversation,
            platform: row.platform,
            requested_by: row.requested_by,
            tool: row.tool,
            tool_call_id: row.tool_call_id,
            arguments,
            summary: row.summary,
            status,
            created_at,
            expires_at,
            decided_by: row.decided_by,
            decided_at,
            result: row.result,
            prepared,
        })
    }
}

impl From<UsageGroupRow> for UsageRow {
    fn from(row: UsageGroupRow) -> Self {
        UsageRow {
            key: row.group_key,
            model_calls: row.model_calls,
            api_calls: row.api_calls,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            cached_tokens: row.cached_tokens,
            credits: row.credits,
            cost_usd: row.cost_usd,
            api_credits: row.api_credits,
            estimated_calls: row.estimated_calls,
        }
    }
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> StoreResult<Self> {
        let at = instant(row.at, || format!("audit entry `{}`, at", row.action))?;
        let detail = serde_json::from_str(&row.detail).map_err(|e| {
            StoreError::Corrupt(format!(
                "audit entry `{}`: detail is not JSON: {e}",
                row.action
            ))
        })?;
        Ok(AuditEntry {
            at,
            actor: row.actor,
            action: row.action,
            subject: row.subject,
            detail,
        })
    }
}

impl TryFrom<TaskRunRow> for TaskRun {
    type Error = StoreError;

    fn try_from(row: TaskRunRow) -> StoreResult<Self> {
        let what = |field: &str| format!("run of task `{}`, {field}", row.task);
        let status = RunStatus::parse(&row.status).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}: unknown status `{}`",
                what("status"),
                row.status
            ))
        })?;
        let optional = |ms: Option<i64>, field: &str| match ms {
            Some(ms) => instant(ms, || what(field)).map(Some),
            None => Ok(None),
        };
        Ok(TaskRun {
            scheduled_for: instant(row.scheduled_for, || what("scheduled_for"))?,
            started_at: instant(row.started_at, || what("started_at"))?,
            finished_at: optional(row.finished_at, "finished_at")?,
            delivered_at: optional(row.delivered_at, "delivered_at")?,
            status,
            model: row.model,
            output: row.output,
            credits: row.credits,
            delivery_error: row.delivery_error,
            delivery_retry: row.delivery_retry.and_then(|n| u32::try_from(n).ok()),
            task: row.task,
        })
    }
}
