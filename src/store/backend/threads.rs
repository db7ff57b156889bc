//! Followed threads (`followed_threads`) and refusal notices (`refusal_notices`), in SQL
//! both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::millis;
use super::{PgStore, SqliteStore};
use crate::store::{FollowedThreads, RefusalNotices, StoreResult};

const FOLLOW: &str = "INSERT INTO followed_threads (platform, chat, thread, followed_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (platform, chat, thread) DO NOTHING";

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
            async fn follow_thread(
                &self,
                platform: &str,
                chat: &str,
                thread: &str,
                at: DateTime<Utc>,
            ) -> StoreResult<()> {
                sqlx::query(FOLLOW)
                    .bind(platform)
                    .bind(chat)
                    .bind(thread)
                    .bind(millis(at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
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
