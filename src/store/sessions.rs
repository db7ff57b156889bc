//! Sign-ins to the operations page, kept in the store so that every replica agrees on
//! who is signed in and a logout ends the session everywhere.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// One signed-in browser. The store never sees the cookie's value, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardSession {
    /// SHA-256 of the random session id the cookie holds, hex.
    pub id_hash: String,
    /// Ties the session to the dashboard token it was opened with (an HMAC keyed by the
    /// token), so that changing the token ends it.
    pub token_fingerprint: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait DashboardSessions: Send + Sync {
    /// Stores a new session.
    async fn open_session(&self, session: &DashboardSession) -> StoreResult<()>;
    /// The session with this id hash, if it is still unexpired at `now`.
    async fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<DashboardSession>>;
    /// Ends a session; false when there was none.
    async fn end_session(&self, id_hash: &str) -> StoreResult<bool>;
    /// Forgets the sessions expired by `now`; returns how many.
    async fn prune_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}
