//! Facts chat platforms keep about where the bot listens and whom it has told off, in the
//! store so that every replica and every restart agrees.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A thread the bot answers in without being mentioned again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedThread {
    pub platform: String,
    /// The channel the thread hangs off (where tasks created in it post by default).
    pub chat: String,
    /// The thread: its parent message's id, or the thread's own channel id.
    pub thread: String,
    pub followed_at: DateTime<Utc>,
}

/// Threads the bot answers in without being mentioned again.
#[async_trait]
pub trait FollowedThreads: Send + Sync {
    /// Follows a thread; following one already followed keeps the first record.
    async fn follow_thread(&self, thread: &FollowedThread) -> StoreResult<()>;
    async fn is_followed(&self, platform: &str, chat: &str, thread: &str) -> StoreResult<bool>;
    /// The followed thread of `platform` with this id, in whichever chat: for platforms
    /// whose messages name only the thread.
    async fn followed_thread(
        &self,
        platform: &str,
        thread: &str,
    ) -> StoreResult<Option<FollowedThread>>;
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
