//! Conversations (`conversation_messages`), pending actions (`pending_actions`), channel
//! facts and claims (`channel_state`, `claims`) and the [`Store`] impl itself, in SQL that
//! SQLite and PostgreSQL both run (`$n` placeholders, BIGINT milliseconds, JSON as TEXT),
//! expanded by `portable_store!` for each pool type.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{encode_message, instant, millis, sql_limit, ActionRow, MessageRow};
use super::{postgres_migrator, sqlite_migrator, PgStore, SqliteStore};
use crate::store::{
    ActionStatus, ChannelState, ConversationStore, DecideOutcome, Decision, PendingAction,
    PendingActionStore, Store, StoreResult, StoredMessage,
};

const INSERT_MESSAGES: &str = "INSERT INTO conversation_messages \
     (conversation, body, tokens, tool_call_id, created_at) ";

const NEWEST_MESSAGES: &str = "SELECT seq, body, tokens FROM conversation_messages \
     WHERE conversation = $1 ORDER BY seq DESC LIMIT $2";

// The newest rows whose running total of tokens (newest first, at least 1 a row, as
// `agent::history::fit` counts them) stays within $2, plus every row of the newest unit
// (its head is the newest row that is not a tool result): a superset of what `fit`
// keeps, so the bodies of rows that cannot reach the model are neither sent nor decoded.
const NEWEST_WITHIN: &str = "WITH newest AS (SELECT seq, tokens, tool_call_id \
     FROM conversation_messages WHERE conversation = $1 ORDER BY seq DESC LIMIT $3), \
     counted AS (SELECT seq, SUM(CASE WHEN tokens < 1 THEN 1 ELSE tokens END) \
     OVER (ORDER BY seq DESC ROWS UNBOUNDED PRECEDING) AS through FROM newest), \
     kept AS (SELECT seq FROM counted WHERE through <= $2 \
     OR seq >= (SELECT MAX(seq) FROM newest WHERE tool_call_id IS NULL)) \
     SELECT m.seq, m.body, m.tokens FROM conversation_messages m \
     WHERE m.seq IN (SELECT seq FROM kept) ORDER BY m.seq DESC";

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

const PENDING_EXPIRIES: &str = "SELECT conversation, MIN(expires_at) FROM pending_actions \
     WHERE status = 'pending' GROUP BY conversation";

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

const STATE: &str = "SELECT value FROM channel_state WHERE name = $1";

const SET_STATE: &str = "INSERT INTO channel_state (name, value, updated_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

const STATES_WITH_PREFIX: &str = "SELECT name, value FROM channel_state \
     WHERE substr(name, 1, length($1)) = $1 ORDER BY name";

const CLAIM: &str = "INSERT INTO claims (scope, name, claimed_at) VALUES ($1, $2, $3) \
     ON CONFLICT (scope, name) DO NOTHING";

const PRUNE_CLAIMS: &str = "DELETE FROM claims WHERE scope = $1 AND claimed_at < $2";

fn decided_status(decision: Decision) -> ActionStatus {
    match decision {
        Decision::Confirm => ActionStatus::Confirmed,
        Decision::Cancel => ActionStatus::Cancelled,
    }
}

/// Implements the conversation, pending-action and channel-state traits and [`Store`] for
/// `$store`, a struct whose `pool` field is an `sqlx::Pool`; `$backend` names it and
/// `$migrator` builds its migrator.
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

            async fn history_within(
                &self,
                conversation: &str,
                tokens: u32,
                limit: usize,
            ) -> StoreResult<Vec<StoredMessage>> {
                let rows: Vec<MessageRow> = sqlx::query_as(NEWEST_WITHIN)
                    .bind(conversation)
                    .bind(i64::from(tokens))
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

            async fn pending_expiries(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
                let rows: Vec<(String, i64)> = sqlx::query_as(PENDING_EXPIRIES)
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter()
                    .map(|(conversation, at)| {
                        let at = instant(at, || format!("pending action of `{conversation}`"))?;
                        Ok((conversation, at))
                    })
                    .collect()
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
