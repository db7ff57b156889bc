//! `[channels.discord]`: its keys and defaults, how `fanops check` checks them, and who
//! may use the bot with which role.

use super::{Discord, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, ConnectionName, PlatformConfig, Report};
use crate::core::{PlatformAccess, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const BOT_TOKEN: &str = "DISCORD_BOT_TOKEN";

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

/// Discord as the registry lists it.
pub struct DiscordPlatform;

impl PlatformConfig for DiscordPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn title(&self) -> &'static str {
        "Discord"
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[BOT_TOKEN]
    }

    fn setup(&self) -> Option<&'static crate::config::Setup> {
        Some(&super::setup::SETUP)
    }

    fn check(&self, r: &mut Report<'_>) {
        for connection in r.connections::<DiscordConfig>(PLATFORM, BOT_TOKEN) {
            check_section(r, &connection.name, &connection.section);
        }
    }
}

impl Platform for DiscordPlatform {
    /// Each bot's whole server may ask as `everyone_role`; only named members may do
    /// more. An account names its own people (none are inherited).
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let connections = config.connections::<DiscordConfig>(PLATFORM);
        connections
            .into_iter()
            .map(|c| (c.name.to_string(), access_of(&c.section)))
            .collect()
    }

    fn build(
        &self,
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        Discord::from_config(config, parts)
    }

    fn doctor<'a>(&self, config: &'a Config) -> Vec<crate::channels::Check<'a>> {
        super::doctor::checks(config)
    }
}

/// Who may use one bot, with which role.
fn access_of(discord: &DiscordConfig) -> PlatformAccess {
    PlatformAccess {
        allowed: (!discord.allow_everyone)
            .then(|| discord.permitted_members.iter().cloned().collect()),
        roles: PlatformAccess::roles_of(&discord.roles),
        unnamed: match discord.allow_everyone {
            true => Role::parse(&discord.everyone_role).unwrap_or(Role::Viewer),
            false => Role::Operator,
        },
    }
}

/// The rules a bot's section must follow beyond its types.
fn check_section(r: &mut Report<'_>, name: &ConnectionName, discord: &DiscordConfig) {
    r.url(&name.at(&["api_url"]), &discord.api_url);
    r.roles(name, &discord.roles);
    r.role(&name.at(&["everyone_role"]), &discord.everyone_role);
    for member in discord.permitted_members.iter().chain(discord.roles.keys()) {
        if member.parse::<u64>().is_err() {
            let at = if discord.roles.contains_key(member) {
                name.at(&["roles", member.as_str()])
            } else {
                name.at(&["permitted_members"])
            };
            r.at(
                &at,
                format!("`{member}` is not a Discord member id (a number, e.g. 80351110224678912)"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::platform::policy_of;
    use crate::core::AccessPolicy;

    fn policy(text: &str) -> AccessPolicy {
        policy_of(&DiscordPlatform, text)
    }

    #[test]
    fn serves_the_server_with_everyone_role_or_only_permitted_members() {
        let open = policy("roles = { \"1\" = \"admin\" }\n");
        assert_eq!(open.role(PLATFORM, "1"), Some(Role::Admin));
        assert_eq!(open.role(PLATFORM, "2"), Some(Role::Viewer));
        let closed = policy(
            "allow_everyone = false\npermitted_members = [\"2\"]\neveryone_role = \"admin\"\n",
        );
        assert_eq!(closed.role(PLATFORM, "2"), Some(Role::Operator));
        assert_eq!(closed.role(PLATFORM, "3"), None);
    }

    #[test]
    fn each_bot_serves_its_own_people() {
        let mut config = Config::default();
        let section = "allow_everyone = false\npermitted_members = [\"1\"]\n\n[accounts.b]\ntoken_env = \"B_TOKEN\"\nallow_everyone = false\npermitted_members = [\"2\"]\nroles = { \"2\" = \"admin\" }\n";
        config
            .channels
            .insert(PLATFORM, toml::from_str(section).unwrap());
        let access = DiscordPlatform.access(&config);
        let names: Vec<&str> = access.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["discord", "discord:b"]);
        let policy = AccessPolicy::new(access);
        assert_eq!(policy.role("discord", "1"), Some(Role::Operator));
        assert_eq!(policy.role("discord", "2"), None);
        assert_eq!(policy.role("discord:b", "2"), Some(Role::Admin));
        assert_eq!(policy.role("discord:b", "1"), None);
    }
}
