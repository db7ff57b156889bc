//! Configuration in layers: built-in defaults → `fanops.toml` → environment variables.
//!
//! Secrets never live in the file: they are read from the environment into [`Secret`]s.
//! Every problem found is reported as `file:line: problem` (see [`Problem`]).

mod connection;
mod locate;
mod parse;
mod platform;
mod problem;
mod report;
mod secret;
mod sections;
pub mod setup;
mod validate;

pub use connection::{Connection, ConnectionName};
pub use locate::{path, Locator, PathPart};
pub use parse::parse_toml;
pub use platform::{PlatformConfig, Platforms};
pub use problem::{one_line, ConfigError, Problem, Warning};
pub use report::Report;
pub use secret::{Secret, Secrets};
pub use sections::*;
pub use setup::{Setup, SetupQuestion};

use serde::de::DeserializeOwned;
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
    pub team: TeamConfig,
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
    /// The chat platforms it was loaded with (the registry's).
    #[serde(skip)]
    pub platforms: Platforms,
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
            team: TeamConfig::default(),
            log: LogConfig::default(),
            secrets: Secrets::default(),
            source: None,
            from_env: BTreeMap::new(),
            ignored: Vec::new(),
            platforms: Platforms::default(),
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
    /// Loads, layers the environment on top, and validates, with the chat `platforms`
    /// of the registry (each checks its own section).
    pub fn load(
        source: ConfigSource,
        platforms: &[&'static dyn PlatformConfig],
    ) -> Result<Config, ConfigError> {
        Self::load_with_env(source, &|name| std::env::var(name).ok(), platforms)
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_with_env(
        source: ConfigSource,
        env: &dyn Fn(&str) -> Option<String>,
        platforms: &[&'static dyn PlatformConfig],
    ) -> Result<Config, ConfigError> {
        let (config, problems) = Self::inspect(source, env, platforms)?;
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
        platforms: &[&'static dyn PlatformConfig],
    ) -> Result<(Config, Vec<Problem>), ConfigError> {
        let (origin, text) = read_source(&source)?;
        let locator = Locator::new(text.as_deref().unwrap_or(""));
        let mut problems = Vec::new();
        let (mut config, dropped) = match &text {
            Some(text) => {
                let parsed = parse::parse_toml_dropping::<Config>(&origin, text, &mut problems);
                match parsed.value {
                    Some(config) => (config, parsed.dropped),
                    None => return Err(ConfigError { problems }),
                }
            }
            None => (Config::default(), Vec::new()),
        };
        config.platforms = Platforms::new(platforms);
        config.ignored = unbuilt_sections(&config, &origin, &locator);
        config.source = match &source {
            ConfigSource::Text { .. } => None,
            _ => text.as_ref().map(|_| PathBuf::from(&origin)),
        };
        apply_env(&mut config, env);
        config.read_secrets(env);
        validate::validate(&config, &origin, &locator, &dropped, &mut problems);
        problems.sort_by_key(|p| p.line);
        Ok((config, problems))
    }

    /// Every secret the file points at, read from the environment: the fixed ones, each
    /// platform's, each provider's and relay's key, the integrations' variables.
    fn read_secrets(&mut self, env: &dyn Fn(&str) -> Option<String>) {
        self.secrets = Secrets::from_env(env);
        for var in self.platforms.iter().flat_map(|p| p.secrets().iter()) {
            let value = env(var).map(Secret::new).unwrap_or_default();
            self.secrets.platform_keys.insert(var.to_string(), value);
        }
        for var in self.connection_secret_vars() {
            let value = env(&var).map(Secret::new).unwrap_or_default();
            self.secrets.platform_keys.insert(var, value);
        }
        for (name, provider) in &self.llm.providers {
            let key = env(&provider.api_key_env)
                .map(Secret::new)
                .unwrap_or_default();
            self.secrets.provider_keys.insert(name.clone(), key);
        }
        for relay in &self.events.relay {
            let key = env(&relay.api_key_env).map(Secret::new).unwrap_or_default();
            self.secrets.relay_keys.insert(relay.name.clone(), key);
        }
        let integration_envs = self
            .web_search
            .iter()
            .filter_map(|w| w.api_key_env.clone())
            .chain(
                self.mcp
                    .iter()
                    .flat_map(|m| m.headers_env.values().cloned()),
            );
        for var in integration_envs.collect::<Vec<_>>() {
            if let Some(value) = env(&var) {
                self.secrets
                    .integration_keys
                    .insert(var, Secret::new(value));
            }
        }
    }

    /// The keys the file points at whose variables are not set: the providers', the
    /// relays', the integrations'.
    fn unset_keys(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut unlocated = |message: String| out.push(message);
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

    /// The section of platform `name` (`[channels.<name>]`) as its folder's type; `None`
    /// when the file has none. A section `fanops check` found wrong reads as its defaults
    /// where it is wrong (loading refuses such a file first).
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Option<T> {
        let section = self.channels.get(name)?;
        Some(T::deserialize(section.clone()).unwrap_or_default())
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
        for message in self.unset_keys() {
            unlocated(message);
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

/// A warning for each section of a platform this build lacks: it is read, never run.
fn unbuilt_sections(config: &Config, origin: &str, locator: &Locator) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for platform in config.platforms.iter() {
        let Some(flag) = platform.unbuilt() else {
            continue;
        };
        let Some(line) = locator.line_if_present(&path(&["channels", platform.name()])) else {
            continue;
        };
        warnings.push(Warning {
            origin: Some(origin.to_string()),
            line,
            message: format!(
                "[channels.{}] is ignored: this build has no {} support (build with the cargo feature `{flag}`)",
                platform.name(),
                platform.title()
            ),
        });
    }
    warnings
}
