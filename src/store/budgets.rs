//! What budgets and the operations page read and write: budget settings, spend since a
//! date, the latest ledger rows, credits over time, and the open and recent records of
//! every conversation and task.

use super::{PendingAction, StoreResult, TaskRun, UsageDimension, UsageEntry};
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// A budget an admin set; it replaces the config's value for its scope.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetSetting {
    /// `team`, `user:<id>`, or `user:*` (every user without a setting of their own).
    pub scope: String,
    /// Credits a calendar month; None: no budget.
    pub monthly_credits: Option<f64>,
    pub set_by: String,
    pub set_at: DateTime<Utc>,
}

/// Credits spent since a date: by everyone, and by one user.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Spend {
    pub team: f64,
    pub user: f64,
}

/// How finely credits over time are summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// By UTC hour, labelled `YYYY-MM-DD HH`.
    Hour,
    /// By UTC day, labelled `YYYY-MM-DD`.
    Day,
}

/// Credits of one group in one time bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub bucket: String,
    pub key: String,
    pub credits: f64,
}

#[async_trait]
pub trait BudgetStore: Send + Sync {
    /// Every budget set by an admin, by scope.
    async fn budget_settings(&self) -> StoreResult<Vec<BudgetSetting>>;
    /// Sets (or replaces) the budget of one scope.
    async fn set_budget(&self, setting: &BudgetSetting) -> StoreResult<()>;
    /// Credits charged since `since` in all, and for `user` as a person (never what a
    /// scheduled run or event rule spent), in one read of the ledger.
    async fn spend_since(&self, since: DateTime<Utc>, user: &str) -> StoreResult<Spend>;
    /// Credits people charged since `since`, by user, largest first: scheduled runs and
    /// event rules are not a user.
    async fn spend_by_user_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, f64)>>;
    /// Credits scheduled runs and event rules charged since `since` (the team's own
    /// spending), by the ledger's kind, largest first.
    async fn spend_of_runs_since(&self, since: DateTime<Utc>) -> StoreResult<Vec<(String, f64)>>;
}

/// Reads for the operations page and the usage charts.
#[async_trait]
pub trait OperationsView: Send + Sync {
    /// The newest ledger rows since `since` (all time when None), newest first; with
    /// `charged_only`, only the rows that cost credits or are model calls (the activity
    /// people read), without the OnlyFansAPI calls.
    async fn recent_usage(
        &self,
        since: Option<DateTime<Utc>>,
        limit: usize,
        charged_only: bool,
    ) -> StoreResult<Vec<UsageEntry>>;
    /// Credits since `since` summed by time bucket and by `by`, oldest bucket first.
    async fn usage_series(
        &self,
        since: Option<DateTime<Utc>>,
        by: UsageDimension,
        bucket: Bucket,
    ) -> StoreResult<Vec<SeriesPoint>>;
    /// Writes still waiting for a decision at `now`, in every conversation, newest first.
    async fn open_actions(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<PendingAction>>;
    /// When the ledger's first row was recorded (None: the ledger is empty).
    async fn first_usage(&self) -> StoreResult<Option<DateTime<Utc>>>;
    /// The newest runs of every task, newest first.
    async fn latest_runs(&self, limit: usize) -> StoreResult<Vec<TaskRun>>;
}
