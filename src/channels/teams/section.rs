//! `[channels.teams]`: its keys and defaults, how `fanops check` checks them, and who may
//! use the bot with which role.

use super::{Teams, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, ConnectionName, PlatformConfig, Report};
use crate::core::{PlatformAccess, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The client secret of the bot's Microsoft Entra app registration.
pub(super) const APP_PASSWORD: &str = "TEAMS_APP_PASSWORD";
/// Where the Bot Framework publishes the keys that sign its requests.
pub const OPENID_URL: &str = "https://login.botframework.com/v1/.well-known/openidconfiguration";
/// Where a multi-tenant bot gets its client-credentials token.
pub const TOKEN_URL: &str = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TeamsConfig {
    /// The Microsoft App ID of the Azure Bot (a GUID): the audience of inbound tokens and
    /// the client id of outbound ones.
    pub app_id: String,
    /// Microsoft Entra object ids; empty = everyone who can reach the bot.
    pub permitted_users: Vec<String>,
    pub roles: BTreeMap<String, String>,
    /// The role of a person not named in `roles` while everyone is allowed.
    pub everyone_role: String,
    pub openid_url: String,
    pub token_url: String,
}

impl Default for TeamsConfig {
    fn default() -> Self {
        TeamsConfig {
            app_id: String::new(),
            permitted_users: Vec::new(),
            roles: BTreeMap::new(),
            everyone_role: "viewer".into(),
            openid_url: OPENID_URL.into(),
            token_url: TOKEN_URL.into(),
        }
    }
}

/// Microsoft Teams as the registry lists it.
pub struct TeamsPlatform;

impl PlatformConfig for TeamsPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn title(&self) -> &'static str {
        "Microsoft Teams"
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[APP_PASSWORD]
    }

    fn setup(&self) -> Option<&'static crate::config::Setup> {
        Some(&super::setup::SETUP)
    }

    fn check(&self, r: &mut Report<'_>) {
        let connections = r.connections::<TeamsConfig>(PLATFORM, APP_PASSWORD);
        let mut apps: Vec<(String, ConnectionName)> = Vec::new();
        for connection in &connections {
            let (name, teams) = (&connection.name, &connection.section);
            check_section(r, name, teams);
            let app = teams.app_id.trim().to_ascii_lowercase();
            match apps.iter().find(|(a, _)| !app.is_empty() && *a == app) {
                Some((_, first)) => r.at(
                    &name.at(&["app_id"]),
                    format!(
                        "{} has the app_id of {}: each bot is its own Azure Bot",
                        name.table(),
                        first.table()
                    ),
                ),
                None => apps.push((app, name.clone())),
            }
        }
    }
}

impl Platform for TeamsPlatform {
    /// A listed person is an operator; with nobody listed, anyone gets `everyone_role`.
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let connections = config.connections::<TeamsConfig>(PLATFORM);
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
        Teams::from_config(config, parts)
    }

    fn doctor<'a>(&self, config: &'a Config) -> Vec<crate::channels::Check<'a>> {
        super::doctor::checks(config)
    }
}

fn access_of(teams: &TeamsConfig) -> PlatformAccess {
    let listed = !teams.permitted_users.is_empty();
    PlatformAccess {
        allowed: listed.then(|| {
            teams
                .permitted_users
                .iter()
                .map(|u| u.to_ascii_lowercase())
                .collect()
        }),
        roles: PlatformAccess::roles_of(
            &teams
                .roles
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        ),
        unnamed: match listed {
            true => Role::Operator,
            false => Role::parse(&teams.everyone_role).unwrap_or(Role::Viewer),
        },
    }
}

/// Whether a connection can run at all (`fanops check` says more, at its lines).
pub(super) fn usable(teams: &TeamsConfig, name: &ConnectionName) -> anyhow::Result<()> {
    use anyhow::Context;
    anyhow::ensure!(
        is_guid(teams.app_id.trim()),
        "{} needs app_id: the Microsoft App ID of the Azure Bot",
        name.table()
    );
    for (key, url) in [
        ("openid_url", &teams.openid_url),
        ("token_url", &teams.token_url),
    ] {
        url::Url::parse(url).with_context(|| name.at(&[key]).join("."))?;
    }
    Ok(())
}

/// The rules a connection's table must follow beyond its types.
fn check_section(r: &mut Report<'_>, name: &ConnectionName, teams: &TeamsConfig) {
    if teams.app_id.trim().is_empty() {
        r.at(
            &name.keys(),
            format!(
                "{} needs app_id: the Microsoft App ID of the Azure Bot (a GUID like 00000000-0000-0000-0000-000000000000)",
                name.table()
            ),
        );
    } else if !is_guid(&teams.app_id) {
        r.at(
            &name.at(&["app_id"]),
            format!(
                "app_id `{}` is not a Microsoft App ID (a GUID like 00000000-0000-0000-0000-000000000000)",
                teams.app_id
            ),
        );
    }
    r.url(&name.at(&["openid_url"]), &teams.openid_url);
    r.url(&name.at(&["token_url"]), &teams.token_url);
    r.roles(name, &teams.roles);
    r.role(&name.at(&["everyone_role"]), &teams.everyone_role);
    let not_an_id = |id: &str| {
        format!("`{id}` is not a Microsoft Entra object id (a GUID like 00000000-0000-0000-0000-000000000000)")
    };
    for user in teams.permitted_users.iter().filter(|u| !is_guid(u)) {
        r.at(&name.at(&["permitted_users"]), not_an_id(user));
    }
    for user in teams.roles.keys().filter(|u| !is_guid(u)) {
        r.at(&name.at(&["roles", user]), not_an_id(user));
    }
}

/// `8-4-4-4-12` hexadecimal digits.
pub(super) fn is_guid(id: &str) -> bool {
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::platform::policy_of;

    const ADMIN: &str = "6f1e2a3b-0000-4000-8000-00000000000a";

    #[test]
    fn listed_people_are_operators_and_ids_ignore_case() {
        let text = format!(
            "app_id = \"{ADMIN}\"\npermitted_users = [\"{}\"]\nroles = {{ \"{}\" = \"admin\" }}\n",
            ADMIN.to_uppercase(),
            ADMIN.to_uppercase()
        );
        let policy = policy_of(&TeamsPlatform, &text);
        assert_eq!(policy.role(PLATFORM, ADMIN), Some(Role::Admin));
        assert_eq!(policy.role(PLATFORM, "someone-else"), None);
        let open = policy_of(&TeamsPlatform, "everyone_role = \"operator\"\n");
        assert_eq!(open.role(PLATFORM, ADMIN), Some(Role::Operator));
    }

    #[test]
    fn guids_are_told_apart() {
        assert!(is_guid(ADMIN));
        assert!(!is_guid("29:1abc"));
        assert!(!is_guid("6f1e2a3b-0000-4000-8000-00000000000"));
    }
}
