//! Delivery retries (`delivery_retries`), in SQL both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{millis, sql_limit, RetryRow};
use super::{PgStore, SqliteStore};
use crate::store::{DeliveryRetries, QueuedDelivery, StoreResult};

const QUEUE: &str = "INSERT INTO delivery_retries \
     (task, scheduled_for, channel, recipient, body, files, posted, attempt, next_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (task, scheduled_for) DO UPDATE SET channel = excluded.channel, \
     recipient = excluded.recipient, body = excluded.body, files = excluded.files, \
     posted = excluded.posted, attempt = excluded.attempt, next_at = excluded.next_at";

const DUE: &str = "SELECT task, scheduled_for, channel, recipient, body, files, posted, attempt, \
     next_at FROM delivery_retries WHERE next_at <= $1 ORDER BY next_at LIMIT $2";

// Taken only if nobody took it since it was read.
const TAKE: &str = "UPDATE delivery_retries SET next_at = $1 \
     WHERE task = $2 AND scheduled_for = $3 AND next_at = $4";

const FINISH: &str = "DELETE FROM delivery_retries WHERE task = $1 AND scheduled_for = $2";

macro_rules! delivery_retries {
    ($store:ty) => {
        #[async_trait]
        impl DeliveryRetries for $store {
            async fn queue_retry(&self, d: &QueuedDelivery) -> StoreResult<()> {
                sqlx::query(QUEUE)
                    .bind(&d.task)
                    .bind(millis(d.scheduled_for))
                    .bind(&d.channel)
                    .bind(&d.recipient)
                    .bind(&d.body)
                    .bind(&d.files)
                    .bind(i32::try_from(d.posted).unwrap_or(i32::MAX))
                    .bind(i32::try_from(d.attempt).unwrap_or(i32::MAX))
                    .bind(millis(d.next_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn take_due_retries(
                &self,
                now: DateTime<Utc>,
                hold_until: DateTime<Utc>,
                limit: usize,
            ) -> StoreResult<Vec<QueuedDelivery>> {
                let rows: Vec<RetryRow> = sqlx::query_as(DUE)
                    .bind(millis(now))
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut taken = Vec::new();
                for row in rows {
                    let done = sqlx::query(TAKE)
                        .bind(millis(hold_until))
                        .bind(&row.task)
                        .bind(row.scheduled_for)
                        .bind(row.next_at)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        let mut delivery = QueuedDelivery::try_from(row)?;
                        delivery.next_at = hold_until;
                        taken.push(delivery);
                    }
                }
                Ok(taken)
            }

            async fn finish_retry(
                &self,
                task: &str,
                scheduled_for: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(FINISH)
                    .bind(task)
                    .bind(millis(scheduled_for))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

delivery_retries!(SqliteStore);
delivery_retries!(PgStore);
