//! Facts chat platforms keep about where the bot listens and whom it has told off, in the
//! store so that every replica and every restart agrees.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// Threads the bot answers in without being mentioned again.
#[async_trait]
pub trait FollowedThreads: Send + Sync {
    /// Marks (platform, chat, thread) followed; marking it again changes nothing.
    async fn follow_thread(
        &self,
        platform: &str,
        chat: &str,
        thread: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    async fn is_followed(&self, platform: &str, chat: &str, thread: &str) -> StoreResult<bool>;
}

/// The one-a-minute reply to a user who is not allowed.
#[async_trait]
pub trait RefusalNotices: Send + Sync {
    /// True, and noted at `now`, when `user` of `platform` was not told since `quiet_since`
    /// (or never): the caller tells them. False for every other caller meanwhile.
    async fn note_refusal(
        &self,
        platform: &str,
        user: &str,
        now: DateTime<Utc>,
        quiet_since: DateTime<Utc>,
    ) -> StoreResult<bool>;
}
