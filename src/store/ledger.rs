//! The usage ledger (every model call, API call and web search, with what it cost) and
//! the audit log (who did what, when).

use super::StoreResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One row of the usage ledger: a model call or an OnlyFansAPI call.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageEntry {
    pub at: DateTime<Utc>,
    pub platform: String,
    /// The bot it came through: `<platform>` or `<platform>:<account>` (empty for none).
    pub connection: String,
    pub user: String,
    /// `chat`, `scheduled`, `event`, `web_search`.
    pub kind: String,
    /// Model alias; for an API call, the alias of the turn that made it.
    pub model: Option<String>,
    pub task: Option<String>,
    pub conversation: Option<String>,
    /// `model` or `api`.
    pub source: UsageSource,
    /// For API rows: the catalog endpoint id.
    pub endpoint: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    /// Credits charged for the model call (cost × credits_per_usd).
    pub credits: f64,
    pub cost_usd: f64,
    /// OnlyFansAPI credits read from `_meta._credits.used`.
    pub api_credits: f64,
    /// The provider sent no token usage: the tokens (and so the cost) are fanops' estimate.
    pub estimated: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsageSource {
    #[default]
    Model,
    Api,
    /// One web search, billed at the provider's flat price.
    WebSearch,
}

impl UsageSource {
    pub fn as_str(self) -> &'static str {
        match self {
            UsageSource::Model => "model",
            UsageSource::Api => "api",
            UsageSource::WebSearch => "web_search",
        }
    }
}

/// The dimension a usage report groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageDimension {
    Model,
    Platform,
    /// The bot: `<platform>` or `<platform>:<account>`.
    Connection,
    Kind,
    User,
    Day,
}

/// One group of a usage report.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct UsageRow {
    pub key: String,
    pub model_calls: i64,
    pub api_calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cached_tokens: i64,
    pub credits: f64,
    pub cost_usd: f64,
    pub api_credits: f64,
    /// Model calls whose tokens (and cost) are estimates: the provider sent no usage.
    pub estimated_calls: i64,
}

/// One line of the audit log: who did what, when.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub subject: Option<String>,
    pub detail: serde_json::Value,
}

#[async_trait]
pub trait UsageLedger: Send + Sync {
    async fn record_usage(&self, entry: &UsageEntry) -> StoreResult<()>;
    /// Sums the ledger since `since` (all time when None), grouped by `by`,
    /// largest credits first. `Day` groups by UTC date `YYYY-MM-DD`, oldest first.
    async fn usage_report(
        &self,
        since: Option<DateTime<Utc>>,
        by: UsageDimension,
    ) -> StoreResult<Vec<UsageRow>>;
    /// Credits spent in one conversation from `since` on (a scheduled run has its own
    /// conversation; a turn in chat is what was spent since it began).
    async fn conversation_credits(
        &self,
        conversation: &str,
        since: DateTime<Utc>,
    ) -> StoreResult<f64>;
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn audit(&self, entry: &AuditEntry) -> StoreResult<()>;
    /// Newest first.
    async fn recent_audit(&self, limit: usize) -> StoreResult<Vec<AuditEntry>>;
}
