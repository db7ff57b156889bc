//! Every query of the store, written once in SQL that SQLite and PostgreSQL both run
//! (`$n` placeholders, BIGINT milliseconds, JSON as TEXT), and the trait impls that
//! `portable_store!` expands for each pool type.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::rows::{
    encode_message, group_expression, millis, sql_limit, utc_day, ActionRow, AuditRow, MessageRow,
    StoredTaskRow, TaskRunRow, UsageGroupRow,
};
use super::{postgres_migrator, sqlite_migrator, PgStore, SqliteStore};
use crate::store::{
    ActionStatus, AuditEntry, AuditLog, ChannelState, ConversationStore, DecideOutcome, Decision,
    PendingAction, PendingActionStore, RunStatus, Store, StoreResult, StoredMessage, StoredTask,
    TaskRun, TaskRunStore, TaskStore, UsageDimension, UsageEntry, UsageLedger, UsageRow,
};

const INSERT_MESSAGES: &str = "INSERT INTO conversation_messages \
     (conversation, body, tokens, tool_call_id, created_at) ";

const NEWEST_MESSAGES: &str = "SELECT seq, body, tokens FROM conversation_messages \
     WHERE conversation = $1 ORDER BY seq DESC LIMIT $2";

const FIND_TOOL_RESULT: &str = "SELECT seq, body, tokens FROM conversation_messages \
     WHERE conversation = $1 AND tool_call_id = $2 ORDER BY seq DESC LIMIT 1";

const UPDATE_MESSAGE: &str =
    "UPDATE conversation_messages SET body = $1, tokens = $2 WHERE seq = $3";

const CLEAR_HISTORY: &str = "DELETE FROM conversation_messages WHERE conversation = $1";

/// The `pending_actions` columns `ActionRow` decodes, as a literal `concat!` can splice.
macro_rules! action_columns {
    () => {
        "id, conversation, platform, requested_by, tool, tool_call_id, arguments, summary, \
         status, created_at, expires_at, decided_by, decided_at, result, prepared"
    };
}

const INSERT_ACTION: &str = concat!(
    "INSERT INTO pending_actions (",
    action_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
);

const ACTION_BY_ID: &str = concat!(
    "SELECT ",
    action_columns!(),
    " FROM pending_actions WHERE id = $1"
);

// Read first: most turns have nothing to expire, and a read takes no write lock.
const ANY_EXPIRED: &str = "SELECT 1 FROM pending_actions \
     WHERE conversation = $1 AND status = 'pending' AND expires_at <= $2 LIMIT 1";

const EXPIRE_ACTIONS: &str = concat!(
    "UPDATE pending_actions SET status = 'expired' \
     WHERE conversation = $1 AND status = 'pending' AND expires_at <= $2 RETURNING ",
    action_columns!()
);

const OPEN_ACTION: &str = concat!(
    "SELECT ",
    action_columns!(),
    " FROM pending_actions WHERE conversation = $1 AND status = 'pending' AND expires_at > $2 \
     ORDER BY created_at DESC, id DESC LIMIT 1"
);

// One statement decides: the row lock (PostgreSQL) or the write lock (SQLite) makes
// every concurrent caller after the first find the status no longer `pending`.
const DECIDE_ACTION: &str = concat!(
    "UPDATE pending_actions SET status = $1, decided_by = $2, decided_at = $3 \
     WHERE id = $4 AND status = 'pending' AND expires_at > $3 RETURNING ",
    action_columns!()
);

// Only a confirmed action can end, so a repeated or stray call cannot rewrite the
// outcome of an action that already ended or was never confirmed.
const FINISH_ACTION: &str = "UPDATE pending_actions SET status = $1, result = $2 \
     WHERE id = $3 AND status = 'confirmed'";

const INSERT_USAGE: &str = "INSERT INTO usage_ledger (at, day, platform, user_name, kind, \
     model, task, conversation, source, endpoint, prompt_tokens, completion_tokens, \
     cached_tokens, credits, cost_usd, api_credits, estimated) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)";

const STATE: &str = "SELECT value FROM channel_state WHERE name = $1";

const SET_STATE: &str = "INSERT INTO channel_state (name, value, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

const STATES_WITH_PREFIX: &str = "SELECT name, value FROM channel_state \
     WHERE substr(name, 1, length($1)) = $1 ORDER BY name";

const CLAIM: &str = "INSERT INTO claims (scope, name, claimed_at) VALUES ($1, $2, $3) \
     ON CONFLICT (scope, name) DO NOTHING";

const PRUNE_CLAIMS: &str = "DELETE FROM claims WHERE scope = $1 AND claimed_at < $2";

const CLAIM_RUN: &str = "INSERT INTO task_runs (task, scheduled_for, status, started_at, manual) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task, scheduled_for) DO NOTHING";

const FINISH_RUN: &str = "UPDATE task_runs SET status = $1, finished_at = $2, model = $3, \
     output = $4, credits = $5, delivery_retry = $6 WHERE task = $7 AND scheduled_for = $8";

const RECORD_DELIVERY: &str = "UPDATE task_runs SET delivered_at = $1, delivery_error = $2, \
     delivery_retry = $3 WHERE task = $4 AND scheduled_for = $5";

const LAST_SCHEDULED: &str =
    "SELECT MAX(scheduled_for) FROM task_runs WHERE task = $1 AND manual = 0";

const LAST_SCHEDULED_ALL: &str = "SELECT task, MAX(scheduled_for) FROM task_runs \
     WHERE manual = 0 GROUP BY task";

const FAIL_STALE_RUNS: &str = "UPDATE task_runs SET status = 'failed', finished_at = $1, \
     output = 'The run did not finish (the process stopped or it hung) and was marked failed.' \
     WHERE status = 'running' AND started_at < $2";

const ABANDON_STALE_POSTS: &str = "UPDATE task_runs SET delivery_retry = NULL, \
     delivery_error = 'the process stopped while posting it, so it may not have arrived' \
     WHERE delivery_retry = 0 AND delivered_at IS NULL AND finished_at < $1";

const RECENT_RUNS: &str = "SELECT task, scheduled_for, status, started_at, finished_at, model, \
     output, credits, delivered_at, delivery_error, delivery_retry FROM task_runs WHERE task = $1 \
     ORDER BY scheduled_for DESC LIMIT $2";

const INSERT_TASK: &str = "INSERT INTO scheduled_tasks \
     (id, definition, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO NOTHING";

const UPDATE_TASK: &str =
    "UPDATE scheduled_tasks SET definition = $1, updated_at = $2 WHERE id = $3";

const DELETE_TASK: &str = "DELETE FROM scheduled_tasks WHERE id = $1";

const STORED_TASKS: &str = "SELECT id, definition, created_by, created_at, updated_at \
     FROM scheduled_tasks ORDER BY id";

const CONVERSATION_CREDITS: &str = "SELECT CAST(COALESCE(SUM(credits), 0) AS DOUBLE PRECISION) \
     FROM usage_ledger WHERE conversation = $1 AND at >= $2";

const RECENT_AUDIT: &str = "SELECT at, actor, action, subject, detail FROM audit_log \
     ORDER BY at DESC, id DESC LIMIT $1";

/// The report query for one dimension. The casts pin the aggregate types: PostgreSQL
/// sums BIGINT into NUMERIC, and SQLite types a result by its value.
fn usage_report_sql(by: UsageDimension) -> String {
    let key = group_expression(by);
    let order = match by {
        UsageDimension::Day => "group_key",
        _ => "credits DESC, group_key",
    };
    format!(
        "SELECT {key} AS group_key, \
         COUNT(CASE WHEN source = 'model' THEN 1 END) AS model_calls, \
         COUNT(CASE WHEN source = 'api' THEN 1 END) AS api_calls, \
         CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
         CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
         CAST(SUM(cached_tokens) AS BIGINT) AS cached_tokens, \
         CAST(SUM(credits) AS DOUBLE PRECISION) AS credits, \
         CAST(SUM(cost_usd) AS DOUBLE PRECISION) AS cost_usd, \
         CAST(SUM(api_credits) AS DOUBLE PRECISION) AS api_credits, \
         COUNT(CASE WHEN source = 'model' AND estimated = 1 THEN 1 END) AS estimated_calls \
         FROM usage_ledger WHERE at >= $1 GROUP BY {key} ORDER BY {order}"
    )
}

fn decided_status(decision: Decision) -> ActionStatus {
    match decision {
        Decision::Confirm => ActionStatus::Confirmed,
        Decision::Cancel => ActionStatus::Cancelled,
    }
}

/// Implements every store trait for `$store`, a struct whose `pool` field is an
/// `sqlx::Pool`; `$backend` names it and `$migrator` builds its migrator.
macro_rules! portable_store {
    ($store:ty, $backend:literal, $migrator:path) => {
        #[async_trait]
        impl ConversationStore for $store {
            async fn append_messages(
                &self,
                conversation: &str,
                messages: &[StoredMessage],
            ) -> StoreResult<()> {
                if messages.is_empty() {
                    return Ok(());
                }
                let now = millis(Utc::now());
                // One statement: atomic, so a reader never sees half a turn, and one
                // round trip to the database however many messages there are.
                let mut insert = sqlx::QueryBuilder::new(INSERT_MESSAGES);
                let mut encoded = Vec::with_capacity(messages.len());
                for message in messages {
                    encoded.push(encode_message(message)?);
                }
                insert.push_values(messages.iter().zip(encoded), |mut row, (message, body)| {
                    row.push_bind(conversation)
                        .push_bind(body)
                        .push_bind(i64::from(message.tokens))
                        .push_bind(message.tool_call_id.as_deref())
                        .push_bind(now);
                });
                insert.build().execute(&self.pool).await?;
                Ok(())
            }

            async fn history(
                &self,
                conversation: &str,
                limit: usize,
            ) -> StoreResult<Vec<StoredMessage>> {
                let rows: Vec<MessageRow> = sqlx::query_as(NEWEST_MESSAGES)
                    .bind(conversation)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .rev()
                    .map(|row| row.into_message(conversation))
                    .collect()
            }

            async fn replace_tool_result(
                &self,
                conversation: &str,
                tool_call_id: &str,
                content: &str,
                tokens: u32,
            ) -> StoreResult<bool> {
                let found: Option<MessageRow> = sqlx::query_as(FIND_TOOL_RESULT)
                    .bind(conversation)
                    .bind(tool_call_id)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = found else {
                    return Ok(false);
                };
                // Read, edit, write back by `seq`: the body's JSON is edited here rather
                // than with backend-specific JSON functions. Only the gate writes a tool
                // result, once per action, so there is no competing writer.
                let seq = row.seq;
                let mut message = row.into_message(conversation)?;
                message.content = Some(content.to_string());
                message.tokens = tokens;
                let done = sqlx::query(UPDATE_MESSAGE)
                    .bind(encode_message(&message)?)
                    .bind(i64::from(tokens))
                    .bind(seq)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn clear_history(&self, conversation: &str) -> StoreResult<u64> {
                let done = sqlx::query(CLEAR_HISTORY)
                    .bind(conversation)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }

        #[async_trait]
        impl PendingActionStore for $store {
            async fn insert_action(&self, action: &PendingAction) -> StoreResult<()> {
                sqlx::query(INSERT_ACTION)
                    .bind(action.id.as_str())
                    .bind(action.conversation.as_str())
                    .bind(action.platform.as_str())
                    .bind(action.requested_by.as_str())
                    .bind(action.tool.as_str())
                    .bind(action.tool_call_id.as_str())
                    .bind(action.arguments.to_string())
                    .bind(action.summary.as_str())
                    .bind(action.status.as_str())
                    .bind(millis(action.created_at))
                    .bind(millis(action.expires_at))
                    .bind(action.decided_by.as_deref())
                    .bind(action.decided_at.map(millis))
                    .bind(action.result.as_deref())
                    .bind(action.prepared.as_ref().map(|p| p.to_string()))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn action(&self, id: &str) -> StoreResult<Option<PendingAction>> {
                let row: Option<ActionRow> = sqlx::query_as(ACTION_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(PendingAction::try_from).transpose()
            }

            async fn open_action(
                &self,
                conversation: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<PendingAction>> {
                let row: Option<ActionRow> = sqlx::query_as(OPEN_ACTION)
                    .bind(conversation)
                    .bind(millis(now))
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(PendingAction::try_from).transpose()
            }

            async fn decide(
                &self,
                id: &str,
                decision: Decision,
                by: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<DecideOutcome> {
                let decided: Option<ActionRow> = sqlx::query_as(DECIDE_ACTION)
                    .bind(decided_status(decision).as_str())
                    .bind(by)
                    .bind(millis(now))
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                if let Some(row) = decided {
                    return Ok(DecideOutcome::Decided(row.try_into()?));
                }
                Ok(match self.action(id).await? {
                    Some(current) => DecideOutcome::Unchanged(current),
                    None => DecideOutcome::NotFound,
                })
            }

            async fn finish_action(
                &self,
                id: &str,
                status: ActionStatus,
                result: &str,
            ) -> StoreResult<()> {
                let done = sqlx::query(FINISH_ACTION)
                    .bind(status.as_str())
                    .bind(result)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                if done.rows_affected() == 0 {
                    tracing::warn!(
                        action = id,
                        status = status.as_str(),
                        "ignored the end of an action that is unknown or not confirmed"
                    );
                }
                Ok(())
            }

            async fn expire_actions(
                &self,
                conversation: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<PendingAction>> {
                let any: Option<(i32,)> = sqlx::query_as(ANY_EXPIRED)
                    .bind(conversation)
                    .bind(millis(now))
                    .fetch_optional(&self.pool)
                    .await?;
                if any.is_none() {
                    return Ok(Vec::new());
                }
                let rows: Vec<ActionRow> = sqlx::query_as(EXPIRE_ACTIONS)
                    .bind(conversation)
                    .bind(millis(now))
                    .fetch_all(&self.pool)
                    .await?;
                let mut expired = rows
                    .into_iter()
                    .map(PendingAction::try_from)
                    .collect::<StoreResult<Vec<_>>>()?;
                expired.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
                Ok(expired)
            }
        }

        #[async_trait]
        impl UsageLedger for $store {
            async fn record_usage(&self, entry: &UsageEntry) -> StoreResult<()> {
                sqlx::query(INSERT_USAGE)
                    .bind(millis(entry.at))
                    .bind(utc_day(entry.at))
                    .bind(entry.platform.as_str())
                    .bind(entry.user.as_str())
                    .bind(entry.kind.as_str())
                    .bind(entry.model.as_deref())
                    .bind(entry.task.as_deref())
                    .bind(entry.conversation.as_deref())
                    .bind(entry.source.as_str())
                    .bind(entry.endpoint.as_deref())
                    .bind(entry.prompt_tokens)
                    .bind(entry.completion_tokens)
                    .bind(entry.cached_tokens)
                    .bind(entry.credits)
                    .bind(entry.cost_usd)
                    .bind(entry.api_credits)
                    .bind(i64::from(entry.estimated))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn conversation_credits(
                &self,
                conversation: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<f64> {
                let (credits,): (f64,) = sqlx::query_as(CONVERSATION_CREDITS)
                    .bind(conversation)
                    .bind(millis(since))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(credits)
            }

            async fn usage_report(
                &self,
                since: Option<DateTime<Utc>>,
                by: UsageDimension,
            ) -> StoreResult<Vec<UsageRow>> {
                // The SQL is one of five fixed strings: only the grouping column varies.
                let rows: Vec<UsageGroupRow> = sqlx::query_as(AssertSqlSafe(usage_report_sql(by)))
                    .bind(since.map_or(i64::MIN, millis))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(UsageRow::from).collect())
            }
        }

        #[async_trait]
        impl AuditLog for $store {
            async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
                sqlx::query(INSERT_AUDIT)
                    .bind(millis(entry.at))
                    .bind(entry.actor.as_str())
                    .bind(entry.action.as_str())
                    .bind(entry.subject.as_deref())
                    .bind(entry.detail.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn recent_audit(&self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
                let rows: Vec<AuditRow> = sqlx::query_as(RECENT_AUDIT)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(AuditEntry::try_from).collect()
            }
        }

        #[async_trait]
        impl ChannelState for $store {
            async fn state(&self, name: &str) -> StoreResult<Option<String>> {
                let row: Option<(String,)> = sqlx::query_as(STATE)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(row.map(|(value,)| value))
            }

            async fn set_state(&self, name: &str, value: &str) -> StoreResult<()> {
                sqlx::query(SET_STATE)
                    .bind(name)
                    .bind(value)
                    .bind(millis(Utc::now()))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn prune_claims(&self, scope: &str, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(PRUNE_CLAIMS)
                    .bind(scope)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn states_with_prefix(&self, prefix: &str) -> StoreResult<Vec<(String, String)>> {
                Ok(sqlx::query_as(STATES_WITH_PREFIX)
                    .bind(prefix)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn set_states(&self, facts: &[(String, String)]) -> StoreResult<()> {
                let now = millis(Utc::now());
                let mut tx = self.pool.begin().await?;
                for (name, value) in facts {
                    sqlx::query(SET_STATE)
                        .bind(name.as_str())
                        .bind(value.as_str())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn claim(&self, scope: &str, name: &str) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM)
                    .bind(scope)
                    .bind(name)
                    .bind(millis(Utc::now()))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }

        #[async_trait]
        impl TaskRunStore for $store {
            async fn claim_run(
                &self,
                task: &str,
                scheduled_for: DateTime<Utc>,
                status: RunStatus,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM_RUN)
                    .bind(task)
                    .bind(millis(scheduled_for))
                    .bind(status.as_str())
                    .bind(millis(now))
                    .bind(0i64)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_manual_run(&self, task: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM_RUN)
                    .bind(task)
                    .bind(millis(at))
                    .bind(RunStatus::Running.as_str())
                    .bind(millis(at))
                    .bind(1i64)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_run(&self, run: &TaskRun) -> StoreResult<()> {
                sqlx::query(FINISH_RUN)
                    .bind(run.status.as_str())
                    .bind(run.finished_at.map(millis))
                    .bind(run.model.as_deref())
                    .bind(run.output.as_deref())
                    .bind(run.credits)
                    .bind(run.delivery_retry.map(i64::from))
                    .bind(run.task.as_str())
                    .bind(millis(run.scheduled_for))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn record_delivery(
                &self,
                task: &str,
                scheduled_for: DateTime<Utc>,
                at: DateTime<Utc>,
                error: Option<&str>,
                retry: Option<u32>,
            ) -> StoreResult<()> {
                sqlx::query(RECORD_DELIVERY)
                    .bind(error.is_none().then(|| millis(at)))
                    .bind(error)
                    .bind(retry.map(i64::from))
                    .bind(task)
                    .bind(millis(scheduled_for))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn last_scheduled(&self, task: &str) -> StoreResult<Option<DateTime<Utc>>> {
                let (max,): (Option<i64>,) = sqlx::query_as(LAST_SCHEDULED)
                    .bind(task)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(max.and_then(DateTime::from_timestamp_millis))
            }

            async fn last_scheduled_all(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
                let rows: Vec<(String, Option<i64>)> = sqlx::query_as(LAST_SCHEDULED_ALL)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(task, ms)| Some((task, DateTime::from_timestamp_millis(ms?)?)))
                    .collect())
            }

            async fn fail_stale_runs(
                &self,
                before: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let done = sqlx::query(FAIL_STALE_RUNS)
                    .bind(millis(now))
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                sqlx::query(ABANDON_STALE_POSTS)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn recent_runs(&self, task: &str, limit: usize) -> StoreResult<Vec<TaskRun>> {
                let rows: Vec<TaskRunRow> = sqlx::query_as(RECENT_RUNS)
                    .bind(task)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TaskRun::try_from).collect()
            }
        }

        #[async_trait]
        impl TaskStore for $store {
            async fn insert_task(&self, task: &StoredTask) -> StoreResult<bool> {
                let done = sqlx::query(INSERT_TASK)
                    .bind(task.id.as_str())
                    .bind(task.definition.as_str())
                    .bind(task.created_by.as_str())
                    .bind(millis(task.created_at))
                    .bind(millis(task.updated_at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_task(
                &self,
                id: &str,
                definition: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(UPDATE_TASK)
                    .bind(definition)
                    .bind(millis(now))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_task(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query(DELETE_TASK)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn stored_tasks(&self) -> StoreResult<Vec<StoredTask>> {
                let rows: Vec<StoredTaskRow> =
                    sqlx::query_as(STORED_TASKS).fetch_all(&self.pool).await?;
                rows.into_iter().map(StoredTask::try_from).collect()
            }
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn migrate(&self) -> StoreResult<()> {
                $migrator().run(&self.pool).await?;
                Ok(())
            }

            async fn ping(&self) -> StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await?;
                Ok(())
            }
        }
    };
}

portable_store!(SqliteStore, "sqlite", sqlite_migrator);
portable_store!(PgStore, "postgres", postgres_migrator);
