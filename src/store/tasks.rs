//! Scheduled fires and their deliveries, and the tasks created from chat.

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

/// How a scheduled fire ended (or that it is still running).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    /// The process was down at fire time and the grace period had passed.
    Missed,
    /// The month's budget was spent: no model call was made (or no further one).
    SkippedBudget,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Missed => "missed",
            RunStatus::SkippedBudget => "skipped: budget",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            "failed" => RunStatus::Failed,
            "missed" => RunStatus::Missed,
            "skipped: budget" => RunStatus::SkippedBudget,
            _ => return None,
        })
    }
}

/// One fire of a scheduled task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRun {
    pub task: String,
    pub scheduled_for: DateTime<Utc>,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub model: Option<String>,
    pub output: Option<String>,
    pub credits: f64,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
    /// While its post is on the way: 0 during the first try, N while retry N waits.
    pub delivery_retry: Option<u32>,
}

impl TaskRun {
    /// How the run went, as people read it: `succeeded` only when its post reached the
    /// chat (or it posts nothing); else where the post stands.
    pub fn outcome(&self) -> String {
        let reason = self.delivery_error.as_deref().unwrap_or("");
        let delivery = match (self.delivered_at, self.delivery_retry) {
            (Some(_), _) => None,
            (None, Some(0)) => Some("delivering".to_string()),
            (None, Some(n)) if reason.is_empty() => Some(format!("delivering (retry {n})")),
            (None, Some(n)) => Some(format!("delivering (retry {n}): {reason}")),
            (None, None) if reason.is_empty() => None,
            (None, None) => Some(format!("not delivered: {reason}")),
        };
        match (self.status, delivery) {
            (_, None) => self.status.as_str().to_string(),
            (RunStatus::Succeeded, Some(delivery)) => delivery,
            (status, Some(delivery)) => format!("{}; {delivery}", status.as_str()),
        }
    }

    /// Its post did not reach the chat, or is still on the way.
    pub fn undelivered(&self) -> bool {
        self.delivered_at.is_none()
            && (self.delivery_retry.is_some() || self.delivery_error.is_some())
    }
}

/// The record of scheduled fires; a fire is claimed by inserting its row.
#[async_trait]
pub trait TaskRunStore: Send + Sync {
    /// Inserts (task, scheduled_for) with `status`; true only for the one caller that did.
    async fn claim_run(
        &self,
        task: &str,
        scheduled_for: DateTime<Utc>,
        status: RunStatus,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records a run started by hand at `at`; it never moves the schedule.
    async fn claim_manual_run(&self, task: &str, at: DateTime<Utc>) -> StoreResult<bool>;
    /// Records how a claimed run ended.
    async fn finish_run(&self, run: &TaskRun) -> StoreResult<()>;
    /// Records the delivery of a run's output: delivered (`error` None), refused for good,
    /// or refused for now with retry number `retry` waiting.
    async fn record_delivery(
        &self,
        task: &str,
        scheduled_for: DateTime<Utc>,
        at: DateTime<Utc>,
        error: Option<&str>,
        retry: Option<u32>,
    ) -> StoreResult<()>;
    /// The latest scheduled fire recorded for the task, in any status (manual runs aside).
    async fn last_scheduled(&self, task: &str) -> StoreResult<Option<DateTime<Utc>>>;
    /// [`TaskRunStore::last_scheduled`] of every task with a recorded fire, in one query.
    async fn last_scheduled_all(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    /// Marks runs still `running` that started before `before` as failed (a crash), and
    /// posts whose first try was under way when a run finished before `before` as not
    /// delivered (the process stopped mid-post); returns how many runs were failed.
    async fn fail_stale_runs(&self, before: DateTime<Utc>, now: DateTime<Utc>) -> StoreResult<u64>;
    /// The newest runs of a task, newest first.
    async fn recent_runs(&self, task: &str, limit: usize) -> StoreResult<Vec<TaskRun>>;
}

/// A task created from chat, kept as a workflow document.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTask {
    pub id: String,
    /// The task as a workflow file would say it (TOML).
    pub definition: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Tasks created from chat.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Inserts a new task; false (and nothing changed) when the id is taken.
    async fn insert_task(&self, task: &StoredTask) -> StoreResult<bool>;
    /// Replaces a task's definition; false when there is no such task.
    async fn update_task(
        &self,
        id: &str,
        definition: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Removes a task (its run history stays); false when there was none.
    async fn delete_task(&self, id: &str) -> StoreResult<bool>;
    /// Every stored task, by id.
    async fn stored_tasks(&self) -> StoreResult<Vec<StoredTask>>;
}
