//! Scheduled fires (`task_runs`) and tasks created from chat (`scheduled_tasks`), in SQL
//! both backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::{millis, sql_limit, StoredTaskRow, TaskRunRow};
use super::{PgStore, SqliteStore};
use crate::store::{RunStatus, StoreResult, StoredTask, TaskRun, TaskRunStore, TaskStore};

const CLAIM_RUN: &str = "INSERT INTO task_runs (task, scheduled_for, status, started_at, manual) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (task, scheduled_for) DO NOTHING";

const FINISH_RUN: &str = "UPDATE task_runs SET status = $1, finished_at = $2, model = $3, \
     output = $4, credits = $5, delivery_retry = $6 WHERE task = $7 AND scheduled_for = $8";

const RECORD_DELIVERY: &str = "UPDATE task_runs SET delivered_at = $1, delivery_error = $2, \
     delivery_retry = $3 WHERE task = $4 AND scheduled_for = $5";

const LAST_SCHEDULED: &str =
    "SELECT MAX(scheduled_for) FROM task_runs WHERE task = $1 AND manual = 0";

const LAST_SCHEDULED_ALL: &str = "SELECT task, MAX(scheduled_for) FROM task_runs \
     WHERE manual = 0 GROUP BY task";

const FAIL_STALE_RUNS: &str = "UPDATE task_runs SET status = 'failed', finished_at = $1, \
     output = 'The run did not finish (the process stopped or it hung) and was marked failed.' \
     WHERE status = 'running' AND started_at < $2";

const ABANDON_STALE_POSTS: &str = "UPDATE task_runs SET delivery_retry = NULL, \
     delivery_error = 'the process stopped while posting it, so it may not have arrived' \
     WHERE delivery_retry = 0 AND delivered_at IS NULL AND finished_at < $1";

const RECENT_RUNS: &str = "SELECT task, scheduled_for, status, started_at, finished_at, model, \
     output, credits, delivered_at, delivery_error, delivery_retry FROM task_runs WHERE task = $1 \
     ORDER BY scheduled_for DESC LIMIT $2";

const INSERT_TASK: &str = "INSERT INTO scheduled_tasks \
     (id, definition, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (id) DO NOTHING";

const UPDATE_TASK: &str =
    "UPDATE scheduled_tasks SET definition = $1, updated_at = $2 WHERE id = $3";

const DELETE_TASK: &str = "DELETE FROM scheduled_tasks WHERE id = $1";

const STORED_TASKS: &str = "SELECT id, definition, created_by, created_at, updated_at \
     FROM scheduled_tasks ORDER BY id";

macro_rules! tasks {
    ($store:ty) => {
        #[async_trait]
        impl TaskRunStore for $store {
            async fn claim_run(
                &self,
                task: &str,
                scheduled_for: DateTime<Utc>,
                status: RunStatus,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM_RUN)
                    .bind(task)
                    .bind(millis(scheduled_for))
                    .bind(status.as_str())
                    .bind(millis(now))
                    .bind(0i64)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn claim_manual_run(&self, task: &str, at: DateTime<Utc>) -> StoreResult<bool> {
                let done = sqlx::query(CLAIM_RUN)
                    .bind(task)
                    .bind(millis(at))
                    .bind(RunStatus::Running.as_str())
                    .bind(millis(at))
                    .bind(1i64)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn finish_run(&self, run: &TaskRun) -> StoreResult<()> {
                sqlx::query(FINISH_RUN)
                    .bind(run.status.as_str())
                    .bind(run.finished_at.map(millis))
                    .bind(run.model.as_deref())
                    .bind(run.output.as_deref())
                    .bind(run.credits)
                    .bind(run.delivery_retry.map(i64::from))
                    .bind(run.task.as_str())
                    .bind(millis(run.scheduled_for))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn record_delivery(
                &self,
                task: &str,
                scheduled_for: DateTime<Utc>,
                at: DateTime<Utc>,
                error: Option<&str>,
                retry: Option<u32>,
            ) -> StoreResult<()> {
                sqlx::query(RECORD_DELIVERY)
                    .bind(error.is_none().then(|| millis(at)))
                    .bind(error)
                    .bind(retry.map(i64::from))
                    .bind(task)
                    .bind(millis(scheduled_for))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn last_scheduled(&self, task: &str) -> StoreResult<Option<DateTime<Utc>>> {
                let (max,): (Option<i64>,) = sqlx::query_as(LAST_SCHEDULED)
                    .bind(task)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(max.and_then(DateTime::from_timestamp_millis))
            }

            async fn last_scheduled_all(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
                let rows: Vec<(String, Option<i64>)> = sqlx::query_as(LAST_SCHEDULED_ALL)
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(task, ms)| Some((task, DateTime::from_timestamp_millis(ms?)?)))
                    .collect())
            }

            async fn fail_stale_runs(
                &self,
                before: DateTime<Utc>,
                now: DateTime<Utc>,
            ) -> StoreResult<u64> {
                let done = sqlx::query(FAIL_STALE_RUNS)
                    .bind(millis(now))
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                sqlx::query(ABANDON_STALE_POSTS)
                    .bind(millis(before))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected())
            }

            async fn recent_runs(&self, task: &str, limit: usize) -> StoreResult<Vec<TaskRun>> {
                let rows: Vec<TaskRunRow> = sqlx::query_as(RECENT_RUNS)
                    .bind(task)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TaskRun::try_from).collect()
            }
        }

        #[async_trait]
        impl TaskStore for $store {
            async fn insert_task(&self, task: &StoredTask) -> StoreResult<bool> {
                let done = sqlx::query(INSERT_TASK)
                    .bind(task.id.as_str())
                    .bind(task.definition.as_str())
                    .bind(task.created_by.as_str())
                    .bind(millis(task.created_at))
                    .bind(millis(task.updated_at))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn update_task(
                &self,
                id: &str,
                definition: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<bool> {
                let done = sqlx::query(UPDATE_TASK)
                    .bind(definition)
                    .bind(millis(now))
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn delete_task(&self, id: &str) -> StoreResult<bool> {
                let done = sqlx::query(DELETE_TASK)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }

            async fn stored_tasks(&self) -> StoreResult<Vec<StoredTask>> {
                let rows: Vec<StoredTaskRow> =
                    sqlx::query_as(STORED_TASKS).fetch_all(&self.pool).await?;
                rows.into_iter().map(StoredTask::try_from).collect()
            }
        }
    };
}

tasks!(SqliteStore);
tasks!(PgStore);
