//! `fanops doctor` for each Teams bot: a client-credentials token from the login endpoint
//! with the app id and password (the token every answer is sent with).

use super::auth::{TokenFailure, Tokens};
use super::section::{usable, TeamsConfig, APP_PASSWORD};
use super::PLATFORM;
use crate::channels::{per_connection, Check, Finding};
use crate::clock::Clock;
use crate::config::{Config, Connection};
use std::time::Duration;

/// One check per bot configured.
pub(super) fn checks(config: &Config) -> Vec<Check<'_>> {
    per_connection(config, PLATFORM, "Teams", check)
}

async fn check(config: &Config, connection: Connection<TeamsConfig>, part: String) -> Vec<Finding> {
    let var = connection.token_var(APP_PASSWORD).to_string();
    let password = config.secrets.platform(&var);
    if !password.is_set() {
        return vec![Finding::fail(
            part,
            format!(
                "{var} is not set: export the client secret of the Azure Bot's app registration"
            ),
        )];
    }
    let teams = &connection.section;
    if let Err(e) = usable(teams, &connection.name) {
        return vec![Finding::fail(part, format!("{e:#}"))];
    }
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(http) => http,
        Err(e) => return vec![Finding::fail(part, format!("no HTTP client: {e}"))],
    };
    let app_id = teams.app_id.trim();
    let tokens = Tokens::new(http, &teams.token_url, app_id, password, Clock::system());
    vec![match tokens.token().await {
        Ok(_) => Finding::ok(part, format!("app {app_id}: a token was granted")),
        Err(TokenFailure::Refused(why)) => Finding::fail(
            part,
            format!("app id or password refused ({why}) — set app_id to the Microsoft App ID and {var} to a client secret of that app registration"),
        ),
        Err(TokenFailure::Wait(after)) => Finding::warn(
            part,
            format!("the login endpoint asked to wait {} s; try again", after.as_secs()),
        ),
        Err(TokenFailure::Later(why)) => Finding::fail(part, format!("no token: {why}")),
    }]
}
