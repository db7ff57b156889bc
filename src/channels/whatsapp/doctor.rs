//! `fanops doctor` for each WhatsApp number: `GET /{phone_number_id}` with the access
//! token (the same call the channel makes at start), and the webhook's two secrets.

use super::graph::Graph;
use super::section::{is_graph_id, WhatsAppConfig, TOKEN};
use super::PLATFORM;
use crate::channels::{per_connection, Check, Finding};
use crate::config::{Config, Connection};
use crate::health::Health;

/// One check per number configured.
pub(super) fn checks(config: &Config) -> Vec<Check<'_>> {
    per_connection(config, PLATFORM, "WhatsApp", check)
}

async fn check(
    config: &Config,
    connection: Connection<WhatsAppConfig>,
    part: String,
) -> Vec<Finding> {
    let wa = &connection.section;
    let var = connection.token_var(TOKEN).to_string();
    let secret = config.secrets.platform(&var);
    let Some(token) = secret.expose() else {
        return vec![Finding::fail(
            part,
            format!("{var} is not set: export a system user's access token with whatsapp_business_messaging"),
        )];
    };
    if !is_graph_id(&wa.phone_number_id) {
        return vec![Finding::fail(
            part,
            format!(
                "{} needs phone_number_id (digits, from WhatsApp → API Setup)",
                connection.name.table()
            ),
        )];
    }
    let graph = match Graph::new(
        &wa.api_url,
        &wa.phone_number_id,
        token,
        &var,
        Health::default(),
        &connection.name.to_string(),
    ) {
        Ok(graph) => graph,
        Err(e) => return vec![Finding::fail(part, e.to_string())],
    };
    let mut findings = vec![match graph.check().await {
        Ok(()) => Finding::ok(
            part.clone(),
            format!("access token accepted for number {}", wa.phone_number_id),
        ),
        Err(e) if graph.refused() => Finding::fail(
            part.clone(),
            format!("access token refused ({e}) — set {var} to a system user's token with whatsapp_business_messaging"),
        ),
        Err(e) => Finding::fail(
            part.clone(),
            format!("number {} could not be read ({e}) — check phone_number_id and that the token's app owns it", wa.phone_number_id),
        ),
    }];
    for secret_var in [wa.app_secret_var(), wa.verify_token_var()] {
        if !config.secrets.platform(secret_var).is_set() {
            findings.push(Finding::fail(
                format!("{part} webhook"),
                format!("{secret_var} is not set: the webhook cannot be verified without it"),
            ));
        }
    }
    findings
}
