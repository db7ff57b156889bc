//! Who may talk to the bot, and with which role (DESIGN §3).

pub use crate::chat::Role;
use crate::config::Config;
use std::collections::{BTreeMap, BTreeSet};

/// One platform's rule: who is allowed (None = everyone) and their roles.
#[derive(Debug, Clone)]
struct PlatformRule {
    allowed: Option<BTreeSet<String>>,
    roles: BTreeMap<String, Role>,
    /// The role of an allowed user not named in `roles`.
    unnamed: Role,
}

/// The access policy of every platform, from the config.
#[derive(Debug, Clone, Default)]
pub struct AccessPolicy {
    rules: BTreeMap<&'static str, PlatformRule>,
}

/// The terminal is the operator's own machine: always admin.
pub const CONSOLE: &str = "console";

impl AccessPolicy {
    pub fn from_config(config: &Config) -> AccessPolicy {
        let mut rules = BTreeMap::new();
        let roles = |map: &BTreeMap<String, String>| {
            map.iter()
                .filter_map(|(user, role)| Some((user.clone(), Role::parse(role)?)))
                .collect()
        };
        if let Some(tg) = &config.channels.telegram {
            // Telegram is locked by default: an empty list allows nobody.
            let allowed = tg.permitted_users.iter().map(|id| id.to_string()).collect();
            rules.insert(
                "telegram",
                PlatformRule {
                    allowed: Some(allowed),
                    roles: roles(&tg.roles),
                    unnamed: Role::Operator,
                },
            );
        }
        if let Some(slack) = &config.channels.slack {
            let listed = !slack.permitted_users.is_empty();
            let allowed = listed.then(|| slack.permitted_users.iter().cloned().collect());
            // A listed member is an operator; anyone of a whole allowed workspace, the
            // configured `everyone_role`.
            let unnamed = match listed {
                true => Role::Operator,
                false => Role::parse(&slack.everyone_role).unwrap_or(Role::Viewer),
            };
            rules.insert(
                "slack",
                PlatformRule {
                    allowed,
                    roles: roles(&slack.roles),
                    unnamed,
                },
            );
        }
        if let Some(discord) = &config.channels.discord {
            let allowed = (!discord.allow_everyone)
                .then(|| discord.permitted_members.iter().cloned().collect());
            rules.insert(
                "discord",
                PlatformRule {
                    allowed,
                    roles: roles(&discord.roles),
                    // The whole server may ask as `everyone_role`; only named members may do more.
                    unnamed: match discord.allow_everyone {
                        true => Role::parse(&discord.everyone_role).unwrap_or(Role::Viewer),
                        false => Role::Operator,
                    },
                },
            );
        }
        AccessPolicy { rules }
    }

    /// The user's role, or None when they are not permitted.
    pub fn role(&self, platform: &str, user: &str) -> Option<Role> {
        if platform == CONSOLE {
            return Some(Role::Admin);
        }
        let rule = self.rules.get(platform)?;
        if let Some(allowed) = &rule.allowed {
            if !allowed.contains(user) {
                return None;
            }
        }
        Some(rule.roles.get(user).copied().unwrap_or(rule.unnamed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TelegramConfig;

    #[test]
    fn telegram_is_locked_by_default_and_roles_apply() {
        let mut config = Config::default();
        config.channels.telegram = Some(TelegramConfig {
            permitted_users: vec![1, 2],
            roles: [("2".to_string(), "viewer".to_string())].into(),
            ..TelegramConfig::default()
        });
        let policy = AccessPolicy::from_config(&config);
        assert_eq!(policy.role("telegram", "1"), Some(Role::Operator));
        assert_eq!(policy.role("telegram", "2"), Some(Role::Viewer));
        assert_eq!(policy.role("telegram", "3"), None);
        assert_eq!(
            policy.role("slack", "anyone"),
            None,
            "an unconfigured platform serves nobody"
        );
        assert_eq!(policy.role(CONSOLE, "local"), Some(Role::Admin));
    }

    #[test]
    fn slack_allows_the_workspace_with_everyone_role_or_only_the_listed() {
        use crate::config::SlackConfig;
        let mut config = Config::default();
        config.channels.slack = Some(SlackConfig {
            roles: [("U1".to_string(), "admin".to_string())].into(),
            ..SlackConfig::default()
        });
        let open = AccessPolicy::from_config(&config);
        assert_eq!(open.role("slack", "U1"), Some(Role::Admin));
        assert_eq!(open.role("slack", "U2"), Some(Role::Viewer));
        config.channels.slack = Some(SlackConfig {
            permitted_users: vec!["U1".into(), "U3".into()],
            everyone_role: "operator".into(),
            ..SlackConfig::default()
        });
        let listed = AccessPolicy::from_config(&config);
        assert_eq!(listed.role("slack", "U3"), Some(Role::Operator));
        assert_eq!(listed.role("slack", "U2"), None);
    }

    #[test]
    fn discord_serves_the_server_with_everyone_role_or_only_permitted_members() {
        let mut config = Config::default();
        config.channels.discord = Some(crate::config::DiscordConfig {
            roles: [("1".to_string(), "admin".to_string())].into(),
            ..crate::config::DiscordConfig::default()
        });
        let policy = AccessPolicy::from_config(&config);
        assert_eq!(policy.role("discord", "1"), Some(Role::Admin));
        assert_eq!(policy.role("discord", "2"), Some(Role::Viewer));

        config.channels.discord = Some(crate::config::DiscordConfig {
            allow_everyone: false,
            permitted_members: vec!["2".into()],
            everyone_role: "admin".into(),
            ..crate::config::DiscordConfig::default()
        });
        let policy = AccessPolicy::from_config(&config);
        assert_eq!(policy.role("discord", "2"), Some(Role::Operator));
        assert_eq!(policy.role("discord", "3"), None);
    }
}
