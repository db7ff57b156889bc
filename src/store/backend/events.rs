//! The event log (`events`, `event_outcomes`), in SQL both backends run, expanded for
//! each pool.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use super::rows::{millis, sql_limit};
use super::{PgStore, SqliteStore};
use crate::store::{
    DedupKey, EventFilter, EventLog, EventOutcome, StoreError, StoreResult, StoredEvent,
};

// A key whose hold lapsed is given back (set to the event's own id), so a new copy may
// take it; the event itself stays.
const RELEASE_KEY: &str =
    "UPDATE events SET dedup_key = id WHERE dedup_key = $1 AND dedup_until <= $2";

const INSERT: &str = "INSERT INTO events (id, dedup_key, dedup_until, source, name, kind, \
     account, occurred_at, received_at, fields, raw) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (dedup_key) DO NOTHING";

const ONE: &str = "SELECT id, source, name, kind, account, occurred_at, received_at, fields, \
     raw FROM events WHERE id = $1";

const UNPROCESSED: &str = "SELECT id, source, name, kind, account, occurred_at, received_at, \
     fields, raw FROM events WHERE processed_at IS NULL AND received_at <= $1 \
     ORDER BY received_at LIMIT $2";

const PROCESSED: &str = "UPDATE events SET processed_at = $1 WHERE id = $2";

const CLAIM: &str = "INSERT INTO event_outcomes (event_id, rule, outcome, batch, at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id, rule) DO NOTHING";

const RETAKE: &str = "UPDATE event_outcomes SET at = $1 \
     WHERE event_id = $2 AND rule = $3 AND outcome LIKE 'running%' AND at < $4";

const SET_OUTCOME: &str =
    "UPDATE event_outcomes SET outcome = $1 WHERE event_id = $2 AND rule = $3";

const WAITING: &str = "SELECT DISTINCT rule, batch FROM event_outcomes \
     WHERE outcome = 'batched' AND batch IS NOT NULL AND batch < $1";

const IN_BATCH: &str = "SELECT e.id, e.source, e.name, e.kind, e.account, e.occurred_at, \
     e.received_at, e.fields, e.raw FROM events e JOIN event_outcomes o ON o.event_id = e.id \
     WHERE o.rule = $1 AND o.batch = $2 AND o.outcome = 'batched' ORDER BY e.received_at";

const CLOSE_BATCH: &str = "UPDATE event_outcomes SET outcome = $1 \
     WHERE rule = $2 AND batch = $3 AND outcome = 'batched'";

const RECENT: &str = "SELECT id, source, name, kind, account, occurred_at, received_at, fields, \
     raw FROM events WHERE received_at >= $1 AND ($2 = '' OR kind = $2) \
     ORDER BY received_at DESC LIMIT $3";

const COUNT: &str =
    "SELECT COUNT(*) FROM events WHERE received_at >= $1 AND ($2 = '' OR kind = $2)";

const PRUNE_OUTCOMES: &str = "DELETE FROM event_outcomes WHERE event_id IN \
     (SELECT id FROM events WHERE received_at < $1 AND processed_at IS NOT NULL)";

const PRUNE: &str = "DELETE FROM events WHERE received_at < $1 AND processed_at IS NOT NULL";

const OUTCOMES: &str =
    "SELECT event_id, rule, outcome, at FROM event_outcomes WHERE event_id = $1 ORDER BY rule";

type EventRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    String,
    String,
);

fn instant(ms: i64, what: &str) -> StoreResult<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("{what}: bad time {ms}")))
}

fn event_of(row: EventRow) -> StoreResult<StoredEvent> {
    let (id, source, name, kind, account, occurred_at, received_at, fields, raw) = row;
    let fields = serde_json::from_str(&fields)
        .map_err(|e| StoreError::Corrupt(format!("event {id}: fields are not JSON: {e}")))?;
    Ok(StoredEvent {
        occurred_at: instant(occurred_at, &id)?,
        received_at: instant(received_at, &id)?,
        id,
        source,
        name,
        kind,
        account,
        fields,
        raw,
    })
}

fn events_of(rows: Vec<EventRow>) -> StoreResult<Vec<StoredEvent>> {
    rows.into_iter().map(event_of).collect()
}

macro_rules! event_log {
    ($store:ty) => {
        #[async_trait]
        impl EventLog for $store {
            async fn insert_event(
                &self,
                e: &StoredEvent,
                key: &DedupKey,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let fields = e.fields.to_string();
                // Most events are new: insert first; only a refused copy looks at
                // whether the key it hit has lapsed, and then tries once more.
                for attempt in 0..2 {
                    let done = sqlx::query(INSERT)
                        .bind(&e.id)
                        .bind(&key.key)
                        .bind(millis(key.until))
                        .bind(&e.source)
                        .bind(&e.name)
                        .bind(&e.kind)
                        .bind(&e.account)
                        .bind(millis(e.occurred_at))
                        .bind(millis(e.received_at))
                        .bind(&fields)
                        .bind(&e.raw)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        return Ok(true);
                    }
                    if attempt == 1 {
                        break;
                    }
                    let released = sqlx::query(RELEASE_KEY)
                        .bind(&key.key)
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await?;
                    if released.rows_affected() == 0 {
                        break;
                    }
                }
                Ok(false)
            }

            async fn event(&self, id: &str) -> StoreResult<Option<StoredEvent>> {
                let row: Option<EventRow> = sqlx::query_as(ONE)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(event_of).transpose()
            }

            async fn unprocessed_events(
                &self,
                before: DateTime<Utc>,
                limit: usize,
            ) -> StoreResult<Vec<StoredEvent>> {
                let rows: Vec<EventRow> = sqlx::query_as(UNPROCESSED)
                    .bind(millis(before))
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                events_of(rows)
            }

            async fn mark_processed(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
                sqlx::query(PROCESSED)
                    .bind(millis(at))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn claim_event_rule(
                &self,
                o: &EventOutcome,
                batch: Option<i64>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM)
                    .bind(&o.event_id)
                    .bind(&o.rule)
                    .bind(&o.outcome)
                    .bind(batch)
                    .bind(millis(o.at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn retake_event_rule(
                &self,
                event_id: &str,
                rule: &str,
                older_than: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(RETAKE)
                    .bind(millis(now))
                    .bind(event_id)
                    .bind(rule)
                    .bind(millis(older_than))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn set_event_outcome(
                &self,
                event_id: &str,
                rule: &str,
                outcome: &str,
            ) -> StoreResult<()> {
                sqlx::query(SET_OUTCOME)
                    .bind(outcome)
                    .bind(event_id)
                    .bind(rule)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn waiting_batches(&self, before: i64) -> StoreResult<Vec<(String, i64)>> {
                Ok(sqlx::query_as(WAITING)
                    .bind(before)
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn batch_events(&self, rule: &str, batch: i64) -> StoreResult<Vec<StoredEvent>> {
                let rows: Vec<EventRow> = sqlx::query_as(IN_BATCH)
                    .bind(rule)
                    .bind(batch)
                    .fetch_all(&self.pool)
                    .await?;
                events_of(rows)
            }

            async fn close_batch(&self, rule: &str, batch: i64, outcome: &str) -> StoreResult<()> {
                sqlx::query(CLOSE_BATCH)
                    .bind(outcome)
                    .bind(rule)
                    .bind(batch)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn recent_events(
                &self,
                filter: &EventFilter,
            ) -> StoreResult<(Vec<StoredEvent>, u64)> {
                let since = filter.since.map_or(0, millis);
                let kind = filter.kind.clone().unwrap_or_default();
                let rows: Vec<EventRow> = sqlx::query_as(RECENT)
                    .bind(since)
                    .bind(&kind)
                    .bind(sql_limit(filter.limit))
                    .fetch_all(&self.pool)
                    .await?;
                let (total,): (i64,) = sqlx::query_as(COUNT)
                    .bind(since)
                    .bind(&kind)
                    .fetch_one(&self.pool)
                    .await?;
                Ok((events_of(rows)?, u64::try_from(total).unwrap_or(0)))
            }

            async fn prune_events(&self, before: DateTime<Utc>) -> StoreResult<u64> {
                sqlx::query(PRUNE_OUTCOMES)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                let done = sqlx::query(PRUNE)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn event_outcomes(&self, ids: &[String]) -> StoreResult<Vec<EventOutcome>> {
                let mut out = Vec::new();
                for id in ids {
                    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(OUTCOMES)
                        .bind(id)
                        .fetch_all(&self.pool)
                        .await?;
                    for (event_id, rule, outcome, at) in rows {
                        out.push(EventOutcome {
                            at: instant(at, &event_id)?,
                            event_id,
                            rule,
                            outcome,
                        });
                    }
                }
                Ok(out)
            }
        }
    };
}

event_log!(SqliteStore);
event_log!(PgStore);
