//! `[channels.slack]`: its keys and defaults, how `fanops check` checks them, and who
//! may use the app with which role.

use super::{Slack, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, Connection, ConnectionName, PlatformConfig, Report};
use crate::core::{PlatformAccess, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

pub(super) const BOT_TOKEN: &str = "SLACK_BOT_TOKEN";
/// Socket Mode's app-level token.
pub(super) const APP_TOKEN: &str = "SLACK_APP_TOKEN";
/// The Events API's signing secret.
pub(super) const SIGNING_SECRET: &str = "SLACK_SIGNING_SECRET";

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
    /// The variable of this connection's app-level token (Socket Mode); `SLACK_APP_TOKEN`
    /// when unset. Never inherited by an account.
    pub app_token_env: Option<String>,
    /// The variable of this connection's signing secret (Events API);
    /// `SLACK_SIGNING_SECRET` when unset. Never inherited by an account.
    pub signing_secret_env: Option<String>,
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
            app_token_env: None,
            signing_secret_env: None,
        }
    }
}

/// Slack as the registry lists it.
pub struct SlackPlatform;

impl SlackConfig {
    /// The variable its app-level token is read from.
    pub fn app_token_var(&self) -> &str {
        self.app_token_env.as_deref().unwrap_or(APP_TOKEN)
    }

    /// The variable its signing secret is read from.
    pub fn signing_secret_var(&self) -> &str {
        self.signing_secret_env.as_deref().unwrap_or(SIGNING_SECRET)
    }

    /// Whether it holds a Socket Mode connection (else it takes Events API requests).
    pub fn socket_mode(&self) -> bool {
        self.mode != "events"
    }
}

impl PlatformConfig for SlackPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn title(&self) -> &'static str {
        "Slack"
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[BOT_TOKEN, APP_TOKEN, SIGNING_SECRET]
    }

    fn setup(&self) -> Option<&'static crate::config::Setup> {
        Some(&super::setup::SETUP)
    }

    fn check(&self, r: &mut Report<'_>) {
        let connections = r.connections::<SlackConfig>(PLATFORM, BOT_TOKEN);
        for connection in &connections {
            check_section(r, &connection.name, &connection.section);
        }
        shared_secrets(r, &connections);
    }
}

impl Platform for SlackPlatform {
    /// A listed member is an operator; anyone of a whole allowed workspace gets
    /// `everyone_role`.
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let connections = config.connections::<SlackConfig>(PLATFORM);
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
        Slack::from_config(config, parts)
    }

    fn doctor<'a>(&self, config: &'a Config) -> Vec<crate::channels::Check<'a>> {
        super::doctor::checks(config)
    }
}

/// Who may use one connection: a listed member is an operator; anyone of a whole allowed
/// workspace gets `everyone_role`.
fn access_of(slack: &SlackConfig) -> PlatformAccess {
    let listed = !slack.permitted_users.is_empty();
    PlatformAccess {
        allowed: listed.then(|| slack.permitted_users.iter().cloned().collect()),
        roles: PlatformAccess::roles_of(&slack.roles),
        unnamed: match listed {
            true => Role::Operator,
            false => Role::parse(&slack.everyone_role).unwrap_or(Role::Viewer),
        },
    }
}

/// The rules a connection's table must follow beyond its types.
fn check_section(r: &mut Report<'_>, name: &ConnectionName, slack: &SlackConfig) {
    r.url(&name.at(&["api_url"]), &slack.api_url);
    if !matches!(slack.mode.as_str(), "socket" | "events") {
        r.at(
            &name.at(&["mode"]),
            format!("mode `{}` must be \"socket\" or \"events\"", slack.mode),
        );
    }
    r.roles(name, &slack.roles);
    r.duration(&name.at(&["socket_watchdog"]), &slack.socket_watchdog);
    r.role(&name.at(&["everyone_role"]), &slack.everyone_role);
    for user in slack
        .permitted_users
        .iter()
        .filter(|u| !is_slack_member_id(u))
    {
        r.at(
            &name.at(&["permitted_users"]),
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
    for user in slack.roles.keys().filter(|u| !is_slack_member_id(u)) {
        r.at(
            &name.at(&["roles", user]),
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
}

/// Two connections of one transport reading one app token (or signing secret) would be
/// one Slack app answered twice: each connection needs its own.
fn shared_secrets(r: &mut Report<'_>, connections: &[Connection<SlackConfig>]) {
    let mut seen: Vec<(&str, &ConnectionName)> = Vec::new();
    for connection in connections {
        let slack = &connection.section;
        let (key, var) = match slack.socket_mode() {
            true => ("app_token_env", slack.app_token_var()),
            false => ("signing_secret_env", slack.signing_secret_var()),
        };
        match seen.iter().find(|(v, _)| *v == var) {
            Some((_, first)) => r.at(
                &connection.name.at(&[key]),
                format!(
                    "{} reads `{var}` like {}: give each Slack app its own {key}",
                    connection.name.table(),
                    first.table()
                ),
            ),
            None => seen.push((var, &connection.name)),
        }
    }
}

/// Slack member ids: `U…` or `W…` (Enterprise Grid), upper-case letters and digits.
pub(super) fn is_slack_member_id(id: &str) -> bool {
    id.len() >= 3
        && id.starts_with(['U', 'W'])
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::platform::policy_of;
    use crate::core::AccessPolicy;

    fn policy(text: &str) -> AccessPolicy {
        policy_of(&SlackPlatform, text)
    }

    #[test]
    fn allows_the_workspace_with_everyone_role_or_only_the_listed() {
        let open = policy("roles = { U1 = \"admin\" }\n");
        assert_eq!(open.role(PLATFORM, "U1"), Some(Role::Admin));
        assert_eq!(open.role(PLATFORM, "U2"), Some(Role::Viewer));
        let listed = policy("permitted_users = [\"U1\", \"U3\"]\neveryone_role = \"operator\"\n");
        assert_eq!(listed.role(PLATFORM, "U3"), Some(Role::Operator));
        assert_eq!(listed.role(PLATFORM, "U2"), None);
    }
}
