//! `[channels.slack]`: its keys and defaults, how `fanops check` checks them, and who
//! may use the app with which role.

use super::{Slack, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, PlatformConfig, Report};
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

/// Slack as the registry lists it.
pub struct SlackPlatform;

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

    fn check(&self, r: &mut Report<'_>) {
        if let Some(section) = r.section::<SlackConfig>(PLATFORM) {
            check_section(r, &section);
        }
    }
}

impl Platform for SlackPlatform {
    /// A listed member is an operator; anyone of a whole allowed workspace gets
    /// `everyone_role`.
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let Some(slack) = config.section::<SlackConfig>(PLATFORM) else {
            return Vec::new();
        };
        let listed = !slack.permitted_users.is_empty();
        let access = PlatformAccess {
            allowed: listed.then(|| slack.permitted_users.iter().cloned().collect()),
            roles: PlatformAccess::roles_of(&slack.roles),
            unnamed: match listed {
                true => Role::Operator,
                false => Role::parse(&slack.everyone_role).unwrap_or(Role::Viewer),
            },
        };
        vec![(PLATFORM.to_string(), access)]
    }

    fn build(
        &self,
        config: &Config,
        parts: &ChannelParts,
    ) -> anyhow::Result<Vec<Arc<dyn Channel>>> {
        Ok(Slack::from_config(config, parts)?.into_iter().collect())
    }
}

/// The rules its section must follow beyond its types.
fn check_section(r: &mut Report<'_>, slack: &SlackConfig) {
    r.url(&["channels", PLATFORM, "api_url"], &slack.api_url);
    if !matches!(slack.mode.as_str(), "socket" | "events") {
        r.at(
            &["channels", PLATFORM, "mode"],
            format!("mode `{}` must be \"socket\" or \"events\"", slack.mode),
        );
    }
    r.roles(&crate::config::ConnectionName::top(PLATFORM), &slack.roles);
    r.duration(
        &["channels", PLATFORM, "socket_watchdog"],
        &slack.socket_watchdog,
    );
    r.role(
        &["channels", PLATFORM, "everyone_role"],
        &slack.everyone_role,
    );
    for user in slack
        .permitted_users
        .iter()
        .filter(|u| !is_slack_member_id(u))
    {
        r.at(
            &["channels", PLATFORM, "permitted_users"],
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
    for user in slack.roles.keys().filter(|u| !is_slack_member_id(u)) {
        r.at(
            &["channels", PLATFORM, "roles", user],
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
}

/// Slack member ids: `U…` or `W…` (Enterprise Grid), upper-case letters and digits.
fn is_slack_member_id(id: &str) -> bool {
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
