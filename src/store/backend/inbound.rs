//! Inbound claims (`inbound_claims`), in SQL both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{millis, sql_limit, InboundClaimRow};
use super::{PgStore, SqliteStore};
use crate::store::{InboundClaim, InboundClaims, StoreResult};

const CLAIM: &str = "INSERT INTO inbound_claims \
     (source, id, payload, owner, claimed_at, lease_until, attempts, answered_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT (source, id) DO NOTHING";

const ANSWER: &str = "UPDATE inbound_claims SET answered_at = $1 WHERE source = $2 AND id = $3";

const NOTE_PLACEHOLDER: &str =
    "UPDATE inbound_claims SET placeholder = $1 WHERE source = $2 AND id = $3";

const RENEW: &str = "UPDATE inbound_claims SET lease_until = $1 \
     WHERE owner = $2 AND answered_at IS NULL";

const RELEASE: &str = "UPDATE inbound_claims SET lease_until = $1 \
     WHERE owner = $2 AND answered_at IS NULL AND lease_until > $1";

const ABANDONED: &str = "SELECT source, id, payload, owner, claimed_at, lease_until, attempts, \
     placeholder \
     FROM inbound_claims WHERE source = $1 AND answered_at IS NULL AND lease_until <= $2 \
     ORDER BY claimed_at, id LIMIT $3";

// Taken only if nobody took it since it was read: the old owner and lease must still match.
const TAKE_OVER: &str = "UPDATE inbound_claims \
     SET owner = $1, lease_until = $2, attempts = attempts + 1 \
     WHERE source = $3 AND id = $4 AND owner = $5 AND lease_until = $6 AND answered_at IS NULL";

const PRUNE: &str = "DELETE FROM inbound_claims \
     WHERE source = $1 AND claimed_at < $2 AND answered_at IS NOT NULL";

macro_rules! inbound_claims {
    ($store:ty) => {
        #[async_trait]
        impl InboundClaims for $store {
            async fn claim_inbound(&self, claim: &InboundClaim) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM)
                    .bind(&claim.source)
                    .bind(&claim.id)
                    .bind(&claim.payload)
                    .bind(&claim.owner)
                    .bind(millis(claim.claimed_at))
                    .bind(millis(claim.lease_until))
                    .bind(i32::try_from(claim.attempts).unwrap_or(i32::MAX))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn answer_inbound(
                &self,
                source: &str,
                id: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(ANSWER)
                    .bind(millis(at))
                    .bind(source)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn note_placeholder(
                &self,
                source: &str,
                id: &str,
                placeholder: &str,
            ) -> StoreResult<()> {
                sqlx::query(NOTE_PLACEHOLDER)
                    .bind(placeholder)
                    .bind(source)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn renew_inbound(
                &self,
                owner: &str,
                lease_until: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let done = sqlx::query(RENEW)
                    .bind(millis(lease_until))
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn release_inbound(&self, owner: &str, now: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(RELEASE)
                    .bind(millis(now))
                    .bind(owner)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn take_abandoned_inbound(
                &self,
                source: &str,
                owner: &str,
                now: DateTime<Utc>,
                lease_until: DateTime<Utc>,
                limit: usize,
            ) -> StoreResult<Vec<InboundClaim>> {
                let rows: Vec<InboundClaimRow> = sqlx::query_as(ABANDONED)
                    .bind(source)
                    .bind(millis(now))
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                let mut taken = Vec::new();
                for row in rows {
                    let done = sqlx::query(TAKE_OVER)
                        .bind(owner)
                        .bind(millis(lease_until))
                        .bind(&row.source)
                        .bind(&row.id)
                        .bind(&row.owner)
                        .bind(row.lease_until)
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        let mut claim = InboundClaim::try_from(row)?;
                        claim.owner = owner.to_string();
                        claim.lease_until = lease_until;
                        claim.attempts += 1;
                        taken.push(claim);
                    }
                }
                Ok(taken)
            }

            async fn prune_inbound(&self, source: &str, before: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(PRUNE)
                    .bind(source)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

inbound_claims!(SqliteStore);
inbound_claims!(PgStore);
