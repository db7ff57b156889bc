//! Leases (`leases`), in SQL both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use super::rows::millis;
use super::{PgStore, SqliteStore};
use crate::store::{Leases, StoreError, StoreResult};

// One statement: a new lease, or the same owner's renewal, or a takeover of a lapsed one.
const HOLD: &str = "INSERT INTO leases (name, owner, lease_until) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until \
     WHERE leases.owner = excluded.owner OR leases.lease_until <= $4";

const HOLDER: &str = "SELECT owner, lease_until FROM leases WHERE name = $1";

const RELEASE: &str = "DELETE FROM leases WHERE name = $1 AND owner = $2";

macro_rules! leases {
    ($store:ty) => {
        #[async_trait]
        impl Leases for $store {
            async fn hold_lease(
                &self,
                name: &str,
                owner: &str,
                now: DateTime<Utc>,
                until: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(HOLD)
                    .bind(name)
                    .bind(owner)
                    .bind(millis(until))
                    .bind(millis(now))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn lease_holder(
                &self,
                name: &str,
            ) -> StoreResult<Option<(String, DateTime<Utc>)>> {
                let row: Option<(String, i64)> = sqlx::query_as(HOLDER)
                    .bind(name)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(owner, until)| {
                    let until = Utc.timestamp_millis_opt(until).single().ok_or_else(|| {
                        StoreError::Corrupt(format!("lease `{name}`: bad time {until}"))
                    })?;
                    Ok((owner, until))
                })
                .transpose()
            }

            async fn release_lease(&self, name: &str, owner: &str) -> StoreResult<()> {
                sqlx::query(RELEASE)
                    .bind(name)
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    };
}

leases!(SqliteStore);
leases!(PgStore);
