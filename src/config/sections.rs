//! The sections of `fanops.toml`, each with its defaults.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    pub listen: String,
    /// How long turns in flight may run on after SIGTERM before the process exits.
    pub shutdown_grace: String,
    /// Serve the operations page at `GET /` (needs `FANOPS_DASHBOARD_TOKEN` beyond loopback).
    pub dashboard: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OnlyFansConfig {
    pub base_url: String,
    /// Client-side pace, e.g. the plan's limit; the budget the API reports is followed too.
    pub requests_per_minute: u32,
    /// How long the API's reported budget lasts before it resets, e.g. "1m".
    pub rate_limit_window: String,
    /// Per-request timeout, e.g. "30s".
    pub timeout: String,
    /// Retries after a 429, 5xx or timeout before giving up.
    pub max_retries: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LlmConfig {
    pub default_model: String,
    pub credits_per_usd: f64,
    pub providers: BTreeMap<String, ProviderConfig>,
    pub models: BTreeMap<String, ModelConfig>,
    /// `[llm.transcription]`: the model voice notes are transcribed with; none = voice off.
    pub transcription: Option<TranscriptionConfig>,
}

/// `[llm.transcription]`: which alias transcribes voice notes, and at what price.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptionConfig {
    /// A model alias: its provider and provider model id are used.
    pub model: String,
    /// US dollars per minute of audio (the alias's per-token prices do not apply).
    pub usd_per_minute: Option<f64>,
    /// Longer audio is refused before any cost.
    #[serde(default = "default_max_minutes")]
    pub max_minutes: f64,
}

fn default_max_minutes() -> f64 {
    10.0
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub base_url: String,
    #[serde(default = "default_api_key_env")]
    pub api_key_env: String,
}

/// A model alias: the name tasks and reports use, with its prices.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub provider: String,
    pub id: String,
    pub usd_per_mtok_input: Option<f64>,
    pub usd_per_mtok_output: Option<f64>,
    /// Price of cached input tokens; defaults to the input price.
    pub usd_per_mtok_cached_input: Option<f64>,
    /// Aliases that answer, in order, when this model's provider keeps failing.
    #[serde(default)]
    pub fallbacks: Vec<String>,
    /// The model reads images: a picture a person sends is shown to it.
    #[serde(default)]
    pub vision: bool,
}

/// Knobs of the agent loop (beyond the contract's example; all optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct AgentConfig {
    /// Model calls per turn before the loop gives up.
    pub max_steps: u32,
    /// Token budget of the history sent to the model.
    pub history_tokens: u32,
    /// Tool results longer than this many characters are trimmed, with a note.
    pub tool_result_chars: usize,
    /// How long a pending write waits for a decision, e.g. "10m".
    pub confirm_ttl: String,
    /// How long the account list is reused, e.g. "60s".
    pub accounts_cache: String,
}

/// The `[channels.*]` tables as written: each platform's folder reads its own (through
/// [`Config::section`](super::Config::section)) and checks it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct ChannelsConfig {
    sections: BTreeMap<String, toml::Value>,
}

impl ChannelsConfig {
    /// The platforms that have a section in the file.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.sections.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The section of `name` as written.
    pub fn get(&self, name: &str) -> Option<&toml::Value> {
        self.sections.get(name)
    }

    /// Sets a platform's section (tests, and configs built in code).
    pub fn insert(&mut self, name: &str, section: toml::Value) {
        self.sections.insert(name.to_string(), section);
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SchedulerConfig {
    pub workflows_dir: String,
    pub grace: String,
    /// Wait before re-sending a delivery the platform certainly did not post; doubles
    /// on each of up to 6 retries.
    pub delivery_retry: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventsConfig {
    pub onlyfansapi: Option<WebhookSourceConfig>,
    pub ofauth: Option<WebhookSourceConfig>,
    /// `[[events.relay]]`: WebSocket relays, any number.
    pub relay: Vec<RelayConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct WebhookSourceConfig {
    pub enabled: bool,
    /// Accept calls without a signature (OnlyFansAPI's secret is optional on their side).
    pub allow_unsigned: bool,
}

impl WebhookSourceConfig {
    pub fn on(source: &Option<WebhookSourceConfig>) -> bool {
        source.as_ref().is_some_and(|s| s.enabled)
    }
}

/// One WebSocket relay of real-time events.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub name: String,
    /// `onlyfans-api-ai` or `betterfans`.
    pub kind: String,
    /// `wss://…` (or `ws://`); the key never goes in it.
    pub url: String,
    /// The environment variable holding the key sent as `X-API-Key`.
    pub api_key_env: String,
    /// The creator these events belong to, when the relay does not say.
    #[serde(default)]
    pub account: Option<String>,
}

/// The relay kinds fanops speaks.
pub const RELAY_KINDS: &[&str] = &["onlyfans-api-ai", "betterfans"];

/// One MCP server (`[[mcp]]`): Streamable HTTP at `url`, or a child process `command`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpConfig {
    pub name: String,
    pub url: Option<String>,
    pub command: Option<Vec<String>>,
    /// HTTP header → the environment variable holding its value.
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
    /// Only these tools of the server are offered (all when absent).
    pub tools: Option<Vec<String>>,
}

/// `[web_search]`: the provider the `web_search` tool calls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebSearchConfig {
    pub provider: String,
    #[serde(default)]
    pub usd_per_search: f64,
    pub api_url: Option<String>,
    pub api_key_env: Option<String>,
}

/// `[skills]`: where more skills live and which are installed at the first start.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SkillsConfig {
    /// A folder of `<name>/SKILL.md` (and `bundles.toml`) beside the built-in skills.
    pub dir: Option<String>,
    /// Installed when the team's store has never seen skills; managed from chat after.
    pub installed: Vec<String>,
}

/// `[budgets]`: monthly credit budgets of the team and of each user.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BudgetsConfig {
    /// Credits the whole team may spend a calendar month (in the team's zone).
    pub monthly_credits: Option<f64>,
    /// Credits each user may spend a calendar month.
    pub user_monthly_credits: Option<f64>,
    /// Share of a budget at which the bot warns, once a month.
    pub warn_at: f64,
    /// Where the team's warning is posted too.
    pub notify: Option<NotifyConfig>,
}

impl Default for BudgetsConfig {
    fn default() -> Self {
        BudgetsConfig {
            monthly_credits: None,
            user_monthly_credits: None,
            warn_at: 0.8,
            notify: None,
        }
    }
}

/// `[team]`: how the team is managed from chat.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TeamConfig {
    /// Where access requests go instead of each admin's private chat with the bot.
    pub requests_to: Option<NotifyConfig>,
}

/// A chat on one platform, e.g. `{ channel = "<platform>", to = "<chat id>" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    pub channel: String,
    pub to: String,
}

/// Where log lines go and how they look.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `text` for people, `json` (one object per line) for log shippers.
    pub format: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl LogFormat {
    pub const NAMES: &[&str] = &["text", "json"];

    pub fn parse(name: &str) -> Option<LogFormat> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: "text".into(),
        }
    }
}

fn default_api_key_env() -> String {
    "OPENAI_API_KEY".into()
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://fanops.db".into(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8080".into(),
            shutdown_grace: "30s".into(),
            dashboard: false,
        }
    }
}

impl Default for OnlyFansConfig {
    fn default() -> Self {
        OnlyFansConfig {
            base_url: "https://app.onlyfansapi.com".into(),
            requests_per_minute: 1000,
            rate_limit_window: "1m".into(),
            timeout: "30s".into(),
            max_retries: 4,
        }
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        let mut providers = BTreeMap::new();
        providers.insert(
            "openai".to_string(),
            ProviderConfig {
                base_url: "https://api.openai.com/v1".into(),
                api_key_env: default_api_key_env(),
            },
        );
        let mut models = BTreeMap::new();
        models.insert(
            "gpt-4.1-mini".to_string(),
            ModelConfig {
                provider: "openai".into(),
                id: "gpt-4.1-mini".into(),
                usd_per_mtok_input: Some(0.40),
                usd_per_mtok_output: Some(1.60),
                usd_per_mtok_cached_input: Some(0.10),
                fallbacks: Vec::new(),
                vision: true,
            },
        );
        LlmConfig {
            default_model: "gpt-4.1-mini".into(),
            credits_per_usd: 100.0,
            providers,
            models,
            transcription: None,
        }
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig {
            max_steps: 8,
            history_tokens: 6000,
            tool_result_chars: 12_000,
            confirm_ttl: "10m".into(),
            accounts_cache: "60s".into(),
        }
    }
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            workflows_dir: "workflows".into(),
            grace: "1h".into(),
            delivery_retry: "30s".into(),
        }
    }
}
