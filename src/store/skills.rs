//! Which skills the team installed: one row per skill, shared by every replica.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

#[async_trait]
pub trait SkillStore: Send + Sync {
    /// Installs each of `names` not installed yet; returns the ones this call added.
    async fn install_skills(
        &self,
        names: &[String],
        by: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
    /// Removes each of `names` that is installed; returns the ones this call removed.
    async fn remove_skills(&self, names: &[String]) -> StoreResult<Vec<String>>;
    /// Every installed skill, by name.
    async fn installed_skills(&self) -> StoreResult<Vec<String>>;
    /// Installs `names` only if no replica ever seeded the skills before: true when this
    /// call did (the first start).
    async fn seed_skills(&self, names: &[String], now: DateTime<Utc>) -> StoreResult<bool>;
}
