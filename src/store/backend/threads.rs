//! Followed threads (`followed_threads`) and refusal notices (`refusal_notices`), in SQL
//! both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};

use super::rows::millis;
use super::{PgStore, SqliteStore};
use crate::store::{FollowedThread, FollowedThreads, RefusalNotices, StoreError, StoreResult};

const FOLLOW: &str = "INSERT INTO followed_threads (platform, chat, thread, followed_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (platform, chat, thread) DO NOTHING";

const BY_ID: &str = "SELECT chat, followed_at FROM followed_threads \
     WHERE platform = $1 AND thread = $2 ORDER BY followed_at LIMIT 1";

const FOLLOWED: &str =
    "SELECT COUNT(*) FROM followed_threads WHERE platform = $1 AND chat = $2 AND thread = $3";

// One statement: the first notice, or a later one once the last is old enough.
const NOTE: &str = "INSERT INTO refusal_notices (platform, user_id, told_at) VALUES ($1, $2, $3) \
     ON CONFLICT (platform, user_id) DO UPDATE SET told_at = excluded.told_at \
     WHERE refusal_notices.told_at <= $4";

macro_rules! threads {
    ($store:ty) => {
        #[async_trait]
        impl FollowedThreads for $store {
            async fn follow_thread(&self, thread: &FollowedThread) -> StoreResult<()> {
                sqlx::query(FOLLOW)
                    .bind(&thread.platform)
                    .bind(&thread.chat)
                    .bind(&thread.thread)
                    .bind(millis(thread.followed_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn followed_thread(
                &self,
                platform: &str,
                thread: &str,
            ) -> StoreResult<Option<FollowedThread>> {
                let row: Option<(String, i64)> = sqlx::query_as(BY_ID)
                    .bind(platform)
                    .bind(thread)
                    .fetch_optional(&self.pool)
                    .await?;
                let Some((chat, at)) = row else {
                    return Ok(None);
                };
                let followed_at = Utc.timestamp_millis_opt(at).single().ok_or_else(|| {
                    StoreError::Corrupt(format!("followed thread `{thread}`: bad time {at}"))
                })?;
                Ok(Some(FollowedThread {
                    platform: platform.to_string(),
                    chat,
                    thread: thread.to_string(),
                    followed_at,
                }))
            }

            async fn is_followed(
                &self,
                platform: &str,
                chat: &str,
                thread: &str,
            ) -> StoreResult<bool> {
                let (n,): (i64,) = sqlx::query_as(FOLLOWED)
                    .bind(platform)
                    .bind(chat)
                    .bind(thread)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n > 0)
            }
        }

        #[async_trait]
        impl RefusalNotices for $store {
            async fn note_refusal(
                &self,
                platform: &str,
                user: &str,
                now: DateTime<Utc>,
                quiet_since: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(NOTE)
                    .bind(platform)
                    .bind(user)
                    .bind(millis(now))
                    .bind(millis(quiet_since))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

threads!(SqliteStore);
threads!(PgStore);
