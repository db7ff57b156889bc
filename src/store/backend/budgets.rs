//! Budgets (`budgets`) and the operations page's reads, in SQL both backends run,
//! expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::rows::{group_expression, millis, sql_limit, ActionRow, TaskRunRow};
use super::{PgStore, SqliteStore};
use crate::store::{
    Bucket, BudgetSetting, BudgetStore, OperationsView, PendingAction, SeriesPoint, Spend,
    StoreError, StoreResult, TaskRun, UsageDimension, UsageEntry, UsageSource,
};

const SETTINGS: &str = "SELECT scope, monthly_credits, set_by, set_at FROM budgets ORDER BY scope";

const SET: &str = "INSERT INTO budgets (scope, monthly_credits, set_by, set_at) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (scope) DO UPDATE SET \
     monthly_credits = excluded.monthly_credits, set_by = excluded.set_by, \
     set_at = excluded.set_at";

/// A row of the team's own spending: a scheduled run or an event rule (everything such
/// a run spends carries its task; older rows may only carry the kind). As a literal
/// `concat!` can splice.
macro_rules! of_a_run {
    () => {
        "(task IS NOT NULL OR kind IN ('scheduled', 'event'))"
    };
}

// One pass over the month's rows gives both sums; a person's are never a run's.
const SPEND: &str = concat!(
    "SELECT CAST(COALESCE(SUM(credits), 0) AS DOUBLE PRECISION), \
     CAST(COALESCE(SUM(CASE WHEN user_name = $2 AND NOT ",
    of_a_run!(),
    " THEN credits ELSE 0 END), 0) AS DOUBLE PRECISION) FROM usage_ledger WHERE at >= $1"
);

const SPEND_BY_USER: &str = concat!(
    "SELECT user_name, CAST(SUM(credits) AS DOUBLE PRECISION) AS spent FROM usage_ledger \
     WHERE at >= $1 AND NOT ",
    of_a_run!(),
    " GROUP BY user_name ORDER BY spent DESC, user_name"
);

const SPEND_OF_RUNS: &str = concat!(
    "SELECT kind, CAST(SUM(credits) AS DOUBLE PRECISION) AS spent FROM usage_ledger \
     WHERE at >= $1 AND ",
    of_a_run!(),
    " GROUP BY kind ORDER BY spent DESC, kind"
);

const FIRST_USAGE: &str = "SELECT MIN(at) FROM usage_ledger";

/// The ledger columns `LedgerTuple` decodes, as a literal `concat!` can splice.
macro_rules! ledger_columns {
    () => {
        concat!(
            "SELECT at, ",
            super::rows::connection_column!(),
            ", user_name, kind, model, task, conversation, source, endpoint, \
         prompt_tokens, completion_tokens, cached_tokens, credits, cost_usd, api_credits, \
         estimated FROM usage_ledger WHERE at >= $1 "
        )
    };
}

const RECENT_USAGE: &str = concat!(ledger_columns!(), "ORDER BY at DESC, id DESC LIMIT $2");

const RECENT_CHARGED: &str = concat!(
    ledger_columns!(),
    "AND (source = 'model' OR credits > 0) ORDER BY at DESC, id DESC LIMIT $2"
);

const OPEN_ACTIONS: &str = "SELECT id, conversation, platform, requested_by, tool, \
     tool_call_id, arguments, summary, status, created_at, expires_at, decided_by, decided_at, \
     result, prepared FROM pending_actions WHERE status = 'pending' AND expires_at > $1 \
     ORDER BY created_at DESC, id DESC LIMIT $2";

const LATEST_RUNS: &str = "SELECT task, scheduled_for, status, started_at, finished_at, model, \
     output, credits, delivered_at, delivery_error, delivery_retry FROM task_runs \
     ORDER BY scheduled_for DESC, task LIMIT $1";

const HOUR_MS: i64 = 3_600_000;

/// The series query: one of ten fixed strings (five dimensions, two buckets). Hours are
/// counted since the Unix epoch (integer division on both backends) and labelled here.
fn series_sql(by: UsageDimension, bucket: Bucket) -> String {
    let key = group_expression(by);
    let (columns, group) = match bucket {
        Bucket::Hour => (
            "'' AS day_label, CAST(at / 3600000 AS BIGINT) AS hour_index",
            "CAST(at / 3600000 AS BIGINT)",
        ),
        Bucket::Day => ("day AS day_label, CAST(0 AS BIGINT) AS hour_index", "day"),
    };
    format!(
        "SELECT {columns}, {key} AS group_key, CAST(SUM(credits) AS DOUBLE PRECISION) AS credits \
         FROM usage_ledger WHERE at >= $1 GROUP BY {group}, {key} ORDER BY {group}, {key}"
    )
}

type LedgerTuple = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    f64,
    f64,
    f64,
    i64,
);

fn entry(row: LedgerTuple) -> StoreResult<UsageEntry> {
    let (at, connection, user, kind, model, task, conversation, source) =
        (row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7);
    // The connection is `<platform>` or `<platform>:<account>`.
    let platform = connection.split(':').next().unwrap_or_default().to_string();
    let at = DateTime::from_timestamp_millis(at)
        .ok_or_else(|| StoreError::Corrupt(format!("usage row: bad time {at}")))?;
    Ok(UsageEntry {
        at,
        platform,
        connection,
        user,
        kind,
        model,
        task,
        conversation,
        source: if source == "api" {
            UsageSource::Api
        } else {
            UsageSource::Model
        },
        endpoint: row.8,
        prompt_tokens: row.9,
        completion_tokens: row.10,
        cached_tokens: row.11,
        credits: row.12,
        cost_usd: row.13,
        api_credits: row.14,
        estimated: row.15 != 0,
    })
}

fn hour_label(index: i64) -> String {
    DateTime::from_timestamp_millis(index.saturating_mul(HOUR_MS))
        .map(|at| at.format("%Y-%m-%d %H").to_string())
        .unwrap_or_default()
}

macro_rules! budgets {
    ($store:ty) => {
        #[async_trait]
        impl BudgetStore for $store {
            async fn budget_settings(&self) -> StoreResult<Vec<BudgetSetting>> {
                let rows: Vec<(String, Option<f64>, String, i64)> =
                    sqlx::query_as(SETTINGS).fetch_all(&self.pool).await?;
                rows.into_iter()
                    .map(|(scope, monthly_credits, set_by, set_at)| {
                        let set_at = DateTime::from_timestamp_millis(set_at).ok_or_else(|| {
                            StoreError::Corrupt(format!("budget `{scope}`: bad time {set_at}"))
                        })?;
                        Ok(BudgetSetting {
                            scope,
                            monthly_credits,
                            set_by,
                            set_at,
                        })
                    })
                    .collect()
            }

            async fn set_budget(&self, setting: &BudgetSetting) -> StoreResult<()> {
                sqlx::query(SET)
                    .bind(setting.scope.as_str())
                    .bind(setting.monthly_credits)
                    .bind(setting.set_by.as_str())
                    .bind(millis(setting.set_at))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn spend_since(&self, since: DateTime<Utc>, user: &str) -> StoreResult<Spend> {
                let (team, user): (f64, f64) = sqlx::query_as(SPEND)
                    .bind(millis(since))
                    .bind(user)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(Spend { team, user })
            }

            async fn spend_by_user_since(
                &self,
                since: DateTime<Utc>,
            ) -> StoreResult<Vec<(String, f64)>> {
                Ok(sqlx::query_as(SPEND_BY_USER)
                    .bind(millis(since))
                    .fetch_all(&self.pool)
                    .await?)
            }

            async fn spend_of_runs_since(
                &self,
                since: DateTime<Utc>,
            ) -> StoreResult<Vec<(String, f64)>> {
                Ok(sqlx::query_as(SPEND_OF_RUNS)
                    .bind(millis(since))
                    .fetch_all(&self.pool)
                    .await?)
            }
        }

        #[async_trait]
        impl OperationsView for $store {
            async fn recent_usage(
                &self,
                since: Option<DateTime<Utc>>,
                limit: usize,
                charged_only: bool,
            ) -> StoreResult<Vec<UsageEntry>> {
                let sql = if charged_only {
                    RECENT_CHARGED
                } else {
                    RECENT_USAGE
                };
                let rows: Vec<LedgerTuple> = sqlx::query_as(sql)
                    .bind(since.map_or(i64::MIN, millis))
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(entry).collect()
            }

            async fn usage_series(
                &self,
                since: Option<DateTime<Utc>>,
                by: UsageDimension,
                bucket: Bucket,
            ) -> StoreResult<Vec<SeriesPoint>> {
                let rows: Vec<(String, i64, String, f64)> =
                    sqlx::query_as(AssertSqlSafe(series_sql(by, bucket)))
                        .bind(since.map_or(i64::MIN, millis))
                        .fetch_all(&self.pool)
                        .await?;
                Ok(rows
                    .into_iter()
                    .map(|(day, hour, key, credits)| SeriesPoint {
                        bucket: match bucket {
                            Bucket::Hour => hour_label(hour),
                            Bucket::Day => day,
                        },
                        key,
                        credits,
                    })
                    .collect())
            }

            async fn open_actions(
                &self,
                now: DateTime<Utc>,
                limit: usize,
            ) -> StoreResult<Vec<PendingAction>> {
                let rows: Vec<ActionRow> = sqlx::query_as(OPEN_ACTIONS)
                    .bind(millis(now))
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(PendingAction::try_from).collect()
            }

            async fn first_usage(&self) -> StoreResult<Option<DateTime<Utc>>> {
                let (first,): (Option<i64>,) =
                    sqlx::query_as(FIRST_USAGE).fetch_one(&self.pool).await?;
                Ok(first.and_then(DateTime::from_timestamp_millis))
            }

            async fn latest_runs(&self, limit: usize) -> StoreResult<Vec<TaskRun>> {
                let rows: Vec<TaskRunRow> = sqlx::query_as(LATEST_RUNS)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(TaskRun::try_from).collect()
            }
        }
    };
}

budgets!(SqliteStore);
budgets!(PgStore);
