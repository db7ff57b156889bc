//! Operations-page sessions (`dashboard_sessions`), in SQL both backends run.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{instant, millis};
use super::{PgStore, SqliteStore};
use crate::store::{DashboardSession, DashboardSessions, StoreResult};

const OPEN: &str = "INSERT INTO dashboard_sessions (id_hash, token_fingerprint, created_at, \
     expires_at) VALUES ($1, $2, $3, $4)";

const FIND: &str = "SELECT id_hash, token_fingerprint, created_at, expires_at \
     FROM dashboard_sessions WHERE id_hash = $1 AND expires_at > $2";

const END: &str = "DELETE FROM dashboard_sessions WHERE id_hash = $1";

const PRUNE: &str = "DELETE FROM dashboard_sessions WHERE expires_at <= $1";

type SessionTuple = (String, String, i64, i64);

macro_rules! sessions {
    ($store:ty) => {
        #[async_trait]
        impl DashboardSessions for $store {
            async fn open_session(&self, session: &DashboardSession) -> StoreResult<()> {
                sqlx::query(OPEN)
                    .bind(&session.id_hash)
                    .bind(&session.token_fingerprint)
                    .bind(millis(session.created_at))
                    .bind(millis(session.expires_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn session(
                &self,
                id_hash: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Option<DashboardSession>> {
                let row: Option<SessionTuple> = sqlx::query_as(FIND)
                    .bind(id_hash)
                    .bind(millis(now))
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(id_hash, token_fingerprint, created, expires)| {
                    Ok(DashboardSession {
                        id_hash,
                        token_fingerprint,
                        created_at: instant(created, || "a dashboard session's created_at".into())?,
                        expires_at: instant(expires, || "a dashboard session's expires_at".into())?,
                    })
                })
                .transpose()
            }

            async fn end_session(&self, id_hash: &str) -> StoreResult<bool> {
                let done = sqlx::query(END).bind(id_hash).execute(&self.pool).await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                let done = sqlx::query(PRUNE)
                    .bind(millis(now))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }
        }
    };
}

sessions!(SqliteStore);
sessions!(PgStore);
