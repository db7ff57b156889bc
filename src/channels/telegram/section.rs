//! `[channels.telegram]`: its keys and defaults, how `fanops check` checks them, and
//! who may use the bot with which role.

use super::{Telegram, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, ConnectionName, PlatformConfig, Report};
use crate::core::{PlatformAccess, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The bot's token; the webhook's secret token (optional: derived from the bot token).
pub(super) const BOT_TOKEN: &str = "TELEGRAM_BOT_TOKEN";
pub(super) const WEBHOOK_SECRET: &str = "TELEGRAM_WEBHOOK_SECRET";

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

/// Telegram as the registry lists it.
pub struct TelegramPlatform;

impl PlatformConfig for TelegramPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn title(&self) -> &'static str {
        "Telegram"
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[BOT_TOKEN, WEBHOOK_SECRET]
    }

    fn setup(&self) -> Option<&'static crate::config::Setup> {
        Some(&super::setup::SETUP)
    }

    fn check(&self, r: &mut Report<'_>) {
        for connection in r.connections::<TelegramConfig>(PLATFORM, BOT_TOKEN) {
            check_section(r, &connection.name, &connection.section);
        }
    }
}

impl Platform for TelegramPlatform {
    /// Locked by default: an empty `permitted_users` allows nobody.
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let connections = config.connections::<TelegramConfig>(PLATFORM);
        connections
            .into_iter()
            .map(|c| {
                let tg = c.section;
                let access = PlatformAccess {
                    allowed: Some(tg.permitted_users.iter().map(|id| id.to_string()).collect()),
                    roles: PlatformAccess::roles_of(&tg.roles),
                    unnamed: Role::Operator,
                };
                (c.name.to_string(), access)
            })
            .collect()
    }

    fn build(
        &self,
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        Telegram::from_config(config, parts)
    }

    fn doctor<'a>(&self, config: &'a Config) -> Vec<crate::channels::Check<'a>> {
        super::doctor::checks(config)
    }
}

/// The rules its section must follow beyond its types.
fn check_section(r: &mut Report<'_>, name: &ConnectionName, tg: &TelegramConfig) {
    r.url(&name.at(&["api_url"]), &tg.api_url);
    if !matches!(tg.mode.as_str(), "polling" | "webhook") {
        r.at(
            &name.at(&["mode"]),
            format!("mode `{}` must be \"polling\" or \"webhook\"", tg.mode),
        );
    }
    if tg.mode == "webhook" {
        match &tg.webhook_url {
            Some(url) => r.url(&name.at(&["webhook_url"]), url),
            None => r.at(
                &name.at(&["mode"]),
                format!(
                    "webhook mode needs webhook_url: the public https URL of POST {}",
                    name.route("webhook")
                ),
            ),
        }
    }
    if !(1..=50).contains(&tg.poll_timeout) {
        r.at(
            &name.at(&["poll_timeout"]),
            "poll_timeout must be 1 to 50 seconds",
        );
    }
    for user in tg.roles.keys() {
        match user.parse::<i64>() {
            Ok(id) if !tg.permitted_users.contains(&id) => r.at(
                &name.at(&["roles", user]),
                format!("user {user} has a role but is not in permitted_users"),
            ),
            Ok(_) => {}
            Err(_) => r.at(
                &name.at(&["roles", user]),
                format!("`{user}` is not a numeric Telegram user id"),
            ),
        }
    }
    r.roles(name, &tg.roles);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_section(text: &str) -> Config {
        let mut config = Config::default();
        config
            .channels
            .insert(PLATFORM, toml::from_str(text).unwrap());
        config
    }

    #[test]
    fn locked_by_default_and_roles_apply() {
        let policy = crate::channels::platform::policy_of(
            &TelegramPlatform,
            "permitted_users = [1, 2]\nroles = { \"2\" = \"viewer\" }\n",
        );
        assert_eq!(policy.role(PLATFORM, "1"), Some(Role::Operator));
        assert_eq!(policy.role(PLATFORM, "2"), Some(Role::Viewer));
        assert_eq!(policy.role(PLATFORM, "3"), None);
        let empty = TelegramPlatform.access(&with_section(""));
        assert_eq!(
            empty[0].1.allowed.as_ref().map(|a| a.len()),
            Some(0),
            "nobody by default"
        );
        assert!(TelegramPlatform.access(&Config::default()).is_empty());
    }
}
