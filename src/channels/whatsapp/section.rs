//! `[channels.whatsapp]`: its keys and defaults, how `fanops check` checks them, and who
//! may use the number with which role.

use super::{WhatsApp, PLATFORM};
use crate::channels::{Channel, ChannelParts, Platform};
use crate::config::{Config, Connection, ConnectionName, PlatformConfig, Report};
use crate::core::{PlatformAccess, Role};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The Graph API access token (a system user's, with `whatsapp_business_messaging`).
pub(super) const TOKEN: &str = "WHATSAPP_TOKEN";
/// The Meta app's secret: it signs every webhook POST.
pub(super) const APP_SECRET: &str = "WHATSAPP_APP_SECRET";
/// What Meta sends back in `hub.verify_token` when the webhook is subscribed.
pub(super) const VERIFY_TOKEN: &str = "WHATSAPP_VERIFY_TOKEN";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WhatsAppConfig {
    /// The Graph API with its version.
    pub api_url: String,
    /// The business number's id in the Graph API (digits), not the phone number.
    pub phone_number_id: String,
    /// The people who may write to the bot: their WhatsApp ids (`wa_id`, the number in
    /// international form, digits only).
    pub permitted_numbers: Vec<String>,
    pub roles: BTreeMap<String, String>,
    /// An approved message template with one body parameter: scheduled posts to a
    /// number that has not written in 24 hours go out as it, with the text as its
    /// parameter.
    pub digest_template: Option<String>,
    /// The language code the template was approved in.
    pub digest_template_language: String,
    /// The variable of this connection's app secret; `WHATSAPP_APP_SECRET` when unset.
    pub app_secret_env: Option<String>,
    /// The variable of this connection's verify token; `WHATSAPP_VERIFY_TOKEN` when unset.
    pub verify_token_env: Option<String>,
}

impl Default for WhatsAppConfig {
    fn default() -> Self {
        WhatsAppConfig {
            api_url: "https://graph.facebook.com/v21.0".into(),
            phone_number_id: String::new(),
            permitted_numbers: Vec::new(),
            roles: BTreeMap::new(),
            digest_template: None,
            digest_template_language: "en_US".into(),
            app_secret_env: None,
            verify_token_env: None,
        }
    }
}

impl WhatsAppConfig {
    pub fn app_secret_var(&self) -> &str {
        self.app_secret_env.as_deref().unwrap_or(APP_SECRET)
    }

    pub fn verify_token_var(&self) -> &str {
        self.verify_token_env.as_deref().unwrap_or(VERIFY_TOKEN)
    }
}

/// WhatsApp as the registry lists it.
pub struct WhatsAppPlatform;

impl PlatformConfig for WhatsAppPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    fn title(&self) -> &'static str {
        "WhatsApp"
    }

    fn secrets(&self) -> &'static [&'static str] {
        &[TOKEN, APP_SECRET, VERIFY_TOKEN]
    }

    fn setup(&self) -> Option<&'static crate::config::Setup> {
        Some(&super::setup::SETUP)
    }

    fn check(&self, r: &mut Report<'_>) {
        let connections = r.connections::<WhatsAppConfig>(PLATFORM, TOKEN);
        for connection in &connections {
            check_section(r, &connection.name, &connection.section);
        }
        shared_numbers(r, &connections);
    }
}

impl Platform for WhatsAppPlatform {
    /// Locked by default: an empty `permitted_numbers` allows nobody.
    fn access(&self, config: &Config) -> Vec<(String, PlatformAccess)> {
        let connections = config.connections::<WhatsAppConfig>(PLATFORM);
        connections
            .into_iter()
            .map(|c| {
                let access = PlatformAccess {
                    allowed: Some(c.section.permitted_numbers.iter().cloned().collect()),
                    roles: PlatformAccess::roles_of(&c.section.roles),
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
        WhatsApp::from_config(config, parts)
    }

    fn doctor<'a>(&self, config: &'a Config) -> Vec<crate::channels::Check<'a>> {
        super::doctor::checks(config)
    }
}

/// The rules a connection's table must follow beyond its types.
fn check_section(r: &mut Report<'_>, name: &ConnectionName, wa: &WhatsAppConfig) {
    r.url(&name.at(&["api_url"]), &wa.api_url);
    if wa.phone_number_id.is_empty() {
        r.at(
            &name.keys(),
            format!(
                "{} needs phone_number_id: the number's id from the WhatsApp Manager's API setup (digits)",
                name.table()
            ),
        );
    } else if !is_graph_id(&wa.phone_number_id) {
        r.at(
            &name.at(&["phone_number_id"]),
            format!(
                "phone_number_id `{}` is not a Graph API id (digits only, like 106540352242922): it is the number's id, not the phone number",
                wa.phone_number_id
            ),
        );
    }
    for number in wa.permitted_numbers.iter().filter(|n| !is_wa_id(n)) {
        r.at(
            &name.at(&["permitted_numbers"]),
            format!("`{number}` is not a WhatsApp id: the number in international form, digits only (like \"447700900123\")"),
        );
    }
    for number in wa.roles.keys() {
        if !is_wa_id(number) {
            r.at(
                &name.at(&["roles", number]),
                format!("`{number}` is not a WhatsApp id: the number in international form, digits only"),
            );
        } else if !wa.permitted_numbers.contains(number) {
            r.at(
                &name.at(&["roles", number]),
                format!("number {number} has a role but is not in permitted_numbers"),
            );
        }
    }
    r.roles(name, &wa.roles);
    if let Some(template) = &wa.digest_template {
        if !is_template_name(template) {
            r.at(
                &name.at(&["digest_template"]),
                format!("digest_template `{template}` is not a template name (lower-case letters, digits and _)"),
            );
        }
    }
}

/// Two connections of one number would answer every message twice.
fn shared_numbers(r: &mut Report<'_>, connections: &[Connection<WhatsAppConfig>]) {
    let mut seen: Vec<(&str, &ConnectionName)> = Vec::new();
    for connection in connections {
        let id = connection.section.phone_number_id.as_str();
        if id.is_empty() {
            continue;
        }
        match seen.iter().find(|(v, _)| *v == id) {
            Some((_, first)) => r.at(
                &connection.name.at(&["phone_number_id"]),
                format!(
                    "{} has the phone_number_id of {}: each connection is its own number",
                    connection.name.table(),
                    first.table()
                ),
            ),
            None => seen.push((id, &connection.name)),
        }
    }
}

/// A Graph API object id: digits.
pub(super) fn is_graph_id(id: &str) -> bool {
    (5..=32).contains(&id.len()) && id.chars().all(|c| c.is_ascii_digit())
}

/// A WhatsApp id (`wa_id`): the number in international form without `+`, 7 to 15
/// digits (E.164), never starting with 0.
pub(super) fn is_wa_id(id: &str) -> bool {
    (7..=15).contains(&id.len()) && id.chars().all(|c| c.is_ascii_digit()) && !id.starts_with('0')
}

/// Meta's template names: lower-case letters, digits and underscores.
fn is_template_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::platform::policy_of;

    #[test]
    fn locked_by_default_and_roles_apply() {
        let policy = policy_of(
            &WhatsAppPlatform,
            "phone_number_id = \"1065\"\npermitted_numbers = [\"447700900001\", \"447700900002\"]\nroles = { \"447700900002\" = \"admin\" }\n",
        );
        assert_eq!(policy.role(PLATFORM, "447700900001"), Some(Role::Operator));
        assert_eq!(policy.role(PLATFORM, "447700900002"), Some(Role::Admin));
        assert_eq!(policy.role(PLATFORM, "447700900003"), None);
    }

    #[test]
    fn ids_are_told_apart_from_phone_numbers() {
        assert!(is_wa_id("447700900123"));
        assert!(!is_wa_id("+447700900123"));
        assert!(!is_wa_id("07700900123"));
        assert!(!is_wa_id("12345"));
        assert!(is_graph_id("106540352242922"));
        assert!(!is_graph_id("+1 555 0100"));
        assert!(is_template_name("morning_digest"));
        assert!(!is_template_name("Morning Digest"));
    }
}
