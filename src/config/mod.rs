//! Configuration in layers: built-in defaults → `fanops.toml` → environment variables.
//!
//! Secrets never live in the file: they are read from the environment into [`Secret`]s.
//! Every problem found is reported as `file:line: problem` (see [`Problem`]).

mod locate;
mod parse;
mod problem;
mod secret;
mod unbuilt;
mod validate;

pub use locate::{path, Locator, PathPart};
pub use parse::parse_toml;
pub use problem::{one_line, ConfigError, Problem, Warning};
pub use secret::{Secret, Secrets};

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default config path, relative to the working directory.
pub const DEFAULT_PATH: &str = "fanops.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// IANA time zone of the team; the default for tasks and for "today".
    pub timezone: String,
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub onlyfans: OnlyFansConfig,
    pub llm: LlmConfig,
    pub agent: AgentConfig,
    pub channels: ChannelsConfig,
    pub scheduler: SchedulerConfig,
    pub events: EventsConfig,
    pub mcp: Vec<McpConfig>,
    pub web_search: Option<WebSearchConfig>,
    pub skills: SkillsConfig,
    pub budgets: Option<BudgetsConfig>,
    pub log: LogConfig,
    /// Read from the environment only.
    #[serde(skip)]
    pub secrets: Secrets,
    /// Where the file came from (None: defaults and environment only).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Keys whose value came from an environment variable: key → variable.
    #[serde(skip)]
    pub from_env: BTreeMap<&'static str, &'static str>,
    /// Sections of the file whose features this build lacks, each located.
    #[serde(skip)]
    pub ignored: Vec<Warning>,
}

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

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelsConfig {
    pub telegram: Option<TelegramConfig>,
    pub slack: Option<SlackConfig>,
    pub discord: Option<DiscordConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TelegramConfig {
    pub api_url: String,
    pub mode: String,
    pub permitted_users: Vec<i64>,
    pub roles: BTreeMap<String, String>,
    /// Webhook mode: the public HTTPS URL Telegram posts to (ending in /telegram/webhook).
    pub webhook_url: Option<String>,
    /// Long-polling wait per request, in seconds.
    pub poll_timeout: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SlackConfig {
    pub api_url: String,
    pub mode: String,
    pub permitted_users: Vec<String>,
    pub roles: BTreeMap<String, String>,
    /// The role of a member not named in `roles` while the whole workspace is allowed.
    pub everyone_role: String,
    /// Socket Mode: a socket silent this long is pinged, and replaced if it stays silent
    /// as long again.
    pub socket_watchdog: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct DiscordConfig {
    /// Base of the REST API; the gateway URL is asked of it (`GET /api/v10/gateway`).
    pub api_url: String,
    pub allow_everyone: bool,
    pub permitted_members: Vec<String>,
    pub roles: BTreeMap<String, String>,
    /// Role of a member not named in `roles` while the whole server is allowed.
    pub everyone_role: String,
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

/// A chat on one platform, e.g. `{ channel = "telegram", to = "-100123" }`.
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

impl Default for Config {
    fn default() -> Self {
        Config {
            timezone: "UTC".into(),
            database: DatabaseConfig::default(),
            server: ServerConfig::default(),
            onlyfans: OnlyFansConfig::default(),
            llm: LlmConfig::default(),
            agent: AgentConfig::default(),
            channels: ChannelsConfig::default(),
            scheduler: SchedulerConfig::default(),
            events: EventsConfig::default(),
            mcp: Vec::new(),
            web_search: None,
            skills: SkillsConfig::default(),
            budgets: None,
            log: LogConfig::default(),
            secrets: Secrets::default(),
            source: None,
            from_env: BTreeMap::new(),
            ignored: Vec::new(),
        }
    }
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
            },
        );
        LlmConfig {
            default_model: "gpt-4.1-mini".into(),
            credits_per_usd: 100.0,
            providers,
            models,
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

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            api_url: "https://api.telegram.org".into(),
            mode: "polling".into(),
            permitted_users: Vec::new(),
            roles: BTreeMap::new(),
            webhook_url: None,
            poll_timeout: 25,
        }
    }
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            api_url: "https://slack.com/api".into(),
            mode: "socket".into(),
            permitted_users: Vec::new(),
            roles: BTreeMap::new(),
            everyone_role: "viewer".into(),
            socket_watchdog: "30s".into(),
        }
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            api_url: "https://discord.com".into(),
            allow_everyone: true,
            permitted_members: Vec::new(),
            roles: BTreeMap::new(),
            everyone_role: "viewer".into(),
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

/// Where to read the file from.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// `--config PATH` or `FANOPS_CONFIG`: the file must exist.
    Explicit(PathBuf),
    /// `./fanops.toml` if present, else defaults and environment alone.
    Default,
    /// Text given directly (tests), named by `origin` in messages.
    Text { origin: String, text: String },
}

impl Config {
    /// Loads, layers the environment on top, and validates.
    pub fn load(source: ConfigSource) -> Result<Config, ConfigError> {
        Self::load_with_env(source, &|name| std::env::var(name).ok())
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        source: ConfigSource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Self::inspect(source, env)?;
        match problems.is_empty() {
            true => Ok(config),
            false => Err(ConfigError { problems }),
        }
    }

    /// Loads as far as possible for `fanops check`: the config with every value that has
    /// the wrong type left at its default, and every problem found. Fails only when the
    /// file cannot be read or is not TOML at all.
    pub fn inspect(
        source: ConfigSource,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Vec<Problem>), ConfigError> {
        let (origin, text) = read_source(&source)?;
        let locator = Locator::new(text.as_deref().unwrap_or(""));
        let (unbuilt, ignored) = unbuilt::find(&origin, &locator);
        let mut problems = Vec::new();
        let (mut config, dropped) = match &text {
            Some(text) => {
                let parsed =
                    parse::parse_toml_quieting::<Config>(&origin, text, &unbuilt, &mut problems);
                match parsed.value {
                    Some(config) => (config, parsed.dropped),
                    None => return Err(ConfigError { problems }),
                }
            }
            None => (Config::default(), Vec::new()),
        };
        config.ignored = ignored;
        config.source = match &source {
            ConfigSource::Text { .. } => None,
            _ => text.as_ref().map(|_| PathBuf::from(&origin)),
        };
        apply_env(&mut config, env);
        config.secrets = Secrets::from_env(env);
        for (name, provider) in &config.llm.providers {
            let key = env(&provider.api_key_env)
                .map(Secret::new)
                .unwrap_or_default();
            config.secrets.provider_keys.insert(name.clone(), key);
        }
        for relay in &config.events.relay {
            let key = env(&relay.api_key_env).map(Secret::new).unwrap_or_default();
            config.secrets.relay_keys.insert(relay.name.clone(), key);
        }
        let integration_envs = config
            .web_search
            .iter()
            .filter_map(|w| w.api_key_env.clone())
            .chain(
                config
                    .mcp
                    .iter()
                    .flat_map(|m| m.headers_env.values().cloned()),
            );
        for var in integration_envs.collect::<Vec<_>>() {
            if let Some(value) = env(&var) {
                config
                    .secrets
                    .integration_keys
                    .insert(var, Secret::new(value));
            }
        }
        validate::validate(&config, &origin, &locator, &dropped, &mut problems);
        problems.sort_by_key(|p| p.line);
        Ok((config, problems))
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }

    /// How long a stopping process lets the turns in flight finish.
    pub fn shutdown_grace(&self) -> Duration {
        parse_duration(&self.server.shutdown_grace).unwrap_or(Duration::from_secs(30))
    }

    pub fn confirm_ttl(&self) -> Duration {
        parse_duration(&self.agent.confirm_ttl).unwrap_or(Duration::from_secs(600))
    }

    pub fn accounts_cache(&self) -> Duration {
        parse_duration(&self.agent.accounts_cache).unwrap_or(Duration::from_secs(60))
    }

    pub fn onlyfans_timeout(&self) -> Duration {
        parse_duration(&self.onlyfans.timeout).unwrap_or(Duration::from_secs(30))
    }

    pub fn onlyfans_rate_limit_window(&self) -> Duration {
        parse_duration(&self.onlyfans.rate_limit_window).unwrap_or(Duration::from_secs(60))
    }

    /// How log lines are written (`[log] format`, or `FANOPS_LOG_FORMAT`).
    pub fn log_format(&self) -> LogFormat {
        LogFormat::parse(&self.log.format).unwrap_or(LogFormat::Text)
    }

    /// What limits the bot without stopping it: sections this build ignores, missing
    /// secrets.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = self.ignored.clone();
        let mut unlocated = |message: String| {
            out.push(Warning {
                origin: None,
                line: 0,
                message,
            })
        };
        if !self.secrets.onlyfansapi_api_key.is_set() {
            unlocated(
                "ONLYFANSAPI_API_KEY is not set: questions about your accounts will fail".into(),
            );
        }
        if let Some(why) = self.dashboard_unprotected() {
            unlocated(why);
        }
        for (name, provider) in &self.llm.providers {
            if !self
                .secrets
                .provider_keys
                .get(name)
                .is_some_and(Secret::is_set)
            {
                unlocated(format!(
                    "{} (key of provider `{name}`) is not set: models of that provider will fail",
                    provider.api_key_env
                ));
            }
        }
        let unsigned = |source: &Option<WebhookSourceConfig>| {
            source
                .as_ref()
                .is_some_and(|s| s.enabled && !s.allow_unsigned)
        };
        if unsigned(&self.events.onlyfansapi) && !self.secrets.onlyfansapi_webhook_secret.is_set() {
            unlocated("ONLYFANSAPI_WEBHOOK_SECRET is not set: POST /webhooks/onlyfansapi is not served (set the signing secret from the OnlyFansAPI dashboard, or allow_unsigned = true)".into());
        }
        if unsigned(&self.events.ofauth) && !self.secrets.ofauth_webhook_secret.is_set() {
            unlocated("OFAUTH_WEBHOOK_SECRET is not set: POST /webhooks/ofauth is not served (set the signing secret from the OFAuth dashboard)".into());
        }
        for relay in &self.events.relay {
            if !self
                .secrets
                .relay_keys
                .get(&relay.name)
                .is_some_and(Secret::is_set)
            {
                unlocated(format!(
                    "{} (key of relay `{}`) is not set: that relay will be refused",
                    relay.api_key_env, relay.name
                ));
            }
        }
        for var in self
            .web_search
            .iter()
            .filter_map(|w| w.api_key_env.as_ref())
            .chain(self.mcp.iter().flat_map(|m| m.headers_env.values()))
        {
            if !self.secrets.integration_keys.contains_key(var) {
                unlocated(format!(
                    "{var} is not set: the integration that reads it will be refused"
                ));
            }
        }
        out
    }
}

impl Config {
    /// Whether `[server] listen` accepts connections from other machines.
    pub fn listens_beyond_loopback(&self) -> bool {
        self.server
            .listen
            .parse::<std::net::SocketAddr>()
            .map_or(true, |a| !a.ip().is_loopback())
    }

    /// What is wrong with serving the operations page without a token, if it is on and
    /// `FANOPS_DASHBOARD_TOKEN` is not set.
    pub fn dashboard_unprotected(&self) -> Option<String> {
        if !self.server.dashboard || self.secrets.dashboard_token.is_set() {
            return None;
        }
        Some(if self.listens_beyond_loopback() {
            format!(
                "[server] dashboard = true needs FANOPS_DASHBOARD_TOKEN when listening on {} (beyond loopback): `fanops run` refuses to start without it",
                self.server.listen
            )
        } else {
            format!(
                "FANOPS_DASHBOARD_TOKEN is not set: the operations page on {} is open to anyone on this machine",
                self.server.listen
            )
        })
    }
}

/// Parses "30s", "10m", "1h", "1h 30m".
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

fn read_source(source: &ConfigSource) -> Result<(String, Option<String>), ConfigError> {
    let one = |origin: &Path, message: String| ConfigError {
        problems: vec![Problem {
            origin: origin.display().to_string(),
            line: 0,
            message,
        }],
    };
    match source {
        ConfigSource::Text { origin, text } => Ok((origin.clone(), Some(text.clone()))),
        ConfigSource::Explicit(path) => match std::fs::read_to_string(path) {
            Ok(text) => Ok((path.display().to_string(), Some(text))),
            Err(e) => Err(one(path, format!("cannot read the config file: {e}"))),
        },
        ConfigSource::Default => {
            let path = Path::new(DEFAULT_PATH);
            match std::fs::read_to_string(path) {
                Ok(text) => Ok((DEFAULT_PATH.to_string(), Some(text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok((DEFAULT_PATH.to_string(), None))
                }
                Err(e) => Err(one(path, format!("cannot read the config file: {e}"))),
            }
        }
    }
}

/// Environment variables that override file values.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("DATABASE_URL", "database.url"),
    ("FANOPS_LISTEN", "server.listen"),
    ("FANOPS_TIMEZONE", "timezone"),
    ("FANOPS_DEFAULT_MODEL", "llm.default_model"),
    ("ONLYFANSAPI_BASE_URL", "onlyfans.base_url"),
    ("FANOPS_LOG_FORMAT", "log.format"),
];

fn apply_env(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) {
    for (var, key) in ENV_OVERRIDES {
        let Some(value) = env(var).filter(|v| !v.is_empty()) else {
            continue;
        };
        let slot = match *key {
            "database.url" => &mut config.database.url,
            "server.listen" => &mut config.server.listen,
            "timezone" => &mut config.timezone,
            "llm.default_model" => &mut config.llm.default_model,
            "log.format" => &mut config.log.format,
            _ => &mut config.onlyfans.base_url,
        };
        *slot = value;
        config.from_env.insert(key, var);
    }
}
