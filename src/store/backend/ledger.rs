//! The usage ledger (`usage_ledger`) and the audit log (`audit_log`), in SQL both
//! backends run, expanded for each pool.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::AssertSqlSafe;

use super::rows::{group_expression, millis, sql_limit, utc_day, AuditRow, UsageGroupRow};
use super::{PgStore, SqliteStore};
use crate::store::{
    AuditEntry, AuditLog, StoreResult, UsageDimension, UsageEntry, UsageLedger, UsageRow,
};

const INSERT_USAGE: &str = "INSERT INTO usage_ledger (at, day, platform, user_name, kind, \
     model, task, conversation, source, endpoint, prompt_tokens, completion_tokens, \
     cached_tokens, credits, cost_usd, api_credits, estimated, connection) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";

const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)";

const CONVERSATION_CREDITS: &str = "SELECT CAST(COALESCE(SUM(credits), 0) AS DOUBLE PRECISION) \
     FROM usage_ledger WHERE conversation = $1 AND at >= $2";

const RECENT_AUDIT: &str = "SELECT at, actor, action, subject, detail FROM audit_log \
     ORDER BY at DESC, id DESC LIMIT $1";

/// The report query for one dimension. The casts pin the aggregate types: PostgreSQL
/// sums BIGINT into NUMERIC, and SQLite types a result by its value.
fn usage_report_sql(by: UsageDimension) -> String {
    let key = group_expression(by);
    let order = match by {
        UsageDimension::Day => "group_key",
        _ => "credits DESC, group_key",
    };
    format!(
        "SELECT {key} AS group_key, \
         COUNT(CASE WHEN source = 'model' THEN 1 END) AS model_calls, \
         COUNT(CASE WHEN source = 'api' THEN 1 END) AS api_calls, \
         CAST(SUM(prompt_tokens) AS BIGINT) AS prompt_tokens, \
         CAST(SUM(completion_tokens) AS BIGINT) AS completion_tokens, \
         CAST(SUM(cached_tokens) AS BIGINT) AS cached_tokens, \
         CAST(SUM(credits) AS DOUBLE PRECISION) AS credits, \
         CAST(SUM(cost_usd) AS DOUBLE PRECISION) AS cost_usd, \
         CAST(SUM(api_credits) AS DOUBLE PRECISION) AS api_credits, \
         COUNT(CASE WHEN source = 'model' AND estimated = 1 THEN 1 END) AS estimated_calls \
         FROM usage_ledger WHERE at >= $1 GROUP BY {key} ORDER BY {order}"
    )
}

macro_rules! ledger {
    ($store:ty) => {
        #[async_trait]
        impl UsageLedger for $store {
            async fn record_usage(&self, entry: &UsageEntry) -> StoreResult<()> {
                sqlx::query(INSERT_USAGE)
                    .bind(millis(entry.at))
                    .bind(utc_day(entry.at))
                    .bind(entry.platform.as_str())
                    .bind(entry.user.as_str())
                    .bind(entry.kind.as_str())
                    .bind(entry.model.as_deref())
                    .bind(entry.task.as_deref())
                    .bind(entry.conversation.as_deref())
                    .bind(entry.source.as_str())
                    .bind(entry.endpoint.as_deref())
                    .bind(entry.prompt_tokens)
                    .bind(entry.completion_tokens)
                    .bind(entry.cached_tokens)
                    .bind(entry.credits)
                    .bind(entry.cost_usd)
                    .bind(entry.api_credits)
                    .bind(i64::from(entry.estimated))
                    .bind(entry.connection.as_str())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn conversation_credits(
                &self,
                conversation: &str,
                since: DateTime<Utc>,
            ) -> StoreResult<f64> {
                let (credits,): (f64,) = sqlx::query_as(CONVERSATION_CREDITS)
                    .bind(conversation)
                    .bind(millis(since))
                    .fetch_one(&self.pool)
                    .await?;
                Ok(credits)
            }

            async fn usage_report(
                &self,
                since: Option<DateTime<Utc>>,
                by: UsageDimension,
            ) -> StoreResult<Vec<UsageRow>> {
                // The SQL is one of six fixed strings: only the grouping column varies.
                let rows: Vec<UsageGroupRow> = sqlx::query_as(AssertSqlSafe(usage_report_sql(by)))
                    .bind(since.map_or(i64::MIN, millis))
                    .fetch_all(&self.pool)
                    .await?;
                Ok(rows.into_iter().map(UsageRow::from).collect())
            }
        }

        #[async_trait]
        impl AuditLog for $store {
            async fn audit(&self, entry: &AuditEntry) -> StoreResult<()> {
                sqlx::query(INSERT_AUDIT)
                    .bind(millis(entry.at))
                    .bind(entry.actor.as_str())
                    .bind(entry.action.as_str())
                    .bind(entry.subject.as_deref())
                    .bind(entry.detail.to_string())
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn recent_audit(&self, limit: usize) -> StoreResult<Vec<AuditEntry>> {
                let rows: Vec<AuditRow> = sqlx::query_as(RECENT_AUDIT)
                    .bind(sql_limit(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.into_iter().map(AuditEntry::try_from).collect()
            }
        }
    };
}

ledger!(SqliteStore);
ledger!(PgStore);
