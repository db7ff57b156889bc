//! Followed chat threads (`discord_threads`), in SQL both backends run.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};

use super::rows::millis;
use super::{PgStore, SqliteStore};
use crate::store::{FollowedThread, StoreError, StoreResult, ThreadStore};

const FOLLOW: &str = "INSERT INTO discord_threads (thread, parent, guild, followed_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (thread) DO NOTHING";

const FOLLOWED: &str =
    "SELECT thread, parent, guild, followed_at FROM discord_threads WHERE thread = $1";

macro_rules! threads {
    ($store:ty) => {
        #[async_trait]
        impl ThreadStore for $store {
            async fn follow_thread(&self, thread: &FollowedThread) -> StoreResult<()> {
                sqlx::query(FOLLOW)
                    .bind(&thread.thread)
                    .bind(&thread.parent)
                    .bind(&thread.guild)
                    .bind(millis(thread.followed_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn followed_thread(&self, thread: &str) -> StoreResult<Option<FollowedThread>> {
                let row: Option<(String, String, String, i64)> = sqlx::query_as(FOLLOWED)
                    .bind(thread)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|(thread, parent, guild, at)| {
                    let followed_at = Utc.timestamp_millis_opt(at).single().ok_or_else(|| {
                        StoreError::Corrupt(format!("discord thread `{thread}`: bad time {at}"))
                    })?;
                    Ok(FollowedThread {
                        followed_at,
                        thread,
                        parent,
                        guild,
                    })
                })
                .transpose()
            }
        }
    };
}

threads!(SqliteStore);
threads!(PgStore);
