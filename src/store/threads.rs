//! Chat threads fanops follows (Discord): which server channel each hangs off, so a
//! message in the thread is answered without a mention and in the thread's conversation.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A thread fanops answers in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowedThread {
    /// The thread's own channel id.
    pub thread: String,
    /// The channel the thread was started in.
    pub parent: String,
    pub guild: String,
    pub followed_at: DateTime<Utc>,
}

/// The threads fanops follows, shared by every replica.
#[async_trait]
pub trait ThreadStore: Send + Sync {
    /// Follows a thread; following one already followed keeps the first record.
    async fn follow_thread(&self, thread: &FollowedThread) -> StoreResult<()>;
    /// The followed thread with this channel id, if it is one.
    async fn followed_thread(&self, thread: &str) -> StoreResult<Option<FollowedThread>>;
}
