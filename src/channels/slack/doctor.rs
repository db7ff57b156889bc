//! `fanops doctor` for each Slack app: `auth.test` with the bot token (and the scopes
//! Slack says it has), then in Socket Mode `apps.connections.open` with the app token.

use super::section::{SlackConfig, BOT_TOKEN};
use super::PLATFORM;
use crate::channels::{per_connection, Check, Finding};
use crate::config::{Config, Connection};
use serde_json::Value;
use std::time::Duration;

/// The bot scopes fanops cannot work without (`deploy/slack/manifest-*.yml` asks for them).
pub const NEEDED_SCOPES: &[&str] = &[
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "im:history",
    "chat:write",
    "files:write",
    "im:write",
];
/// Scopes it does without, and what is missing without each.
pub const OPTIONAL_SCOPES: &[(&str, &str)] = &[
    (
        "users:read",
        "an access request names a member id, not a name",
    ),
    (
        "files:read",
        "files people share (voice notes, screenshots, CSVs) cannot be read",
    ),
];

/// One check per app configured.
pub(super) fn checks(config: &Config) -> Vec<Check<'_>> {
    per_connection(config, PLATFORM, "Slack", check)
}

async fn check(config: &Config, connection: Connection<SlackConfig>, part: String) -> Vec<Finding> {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(http) => http,
        Err(e) => return vec![Finding::fail(part, format!("no HTTP client: {e}"))],
    };
    let api = connection.section.api_url.trim_end_matches('/').to_string();
    let bot_var = connection.token_var(BOT_TOKEN).to_string();
    let mut findings = vec![bot_finding(config, &http, &api, &bot_var, &part).await];
    let slack = &connection.section;
    if slack.socket_mode() {
        let app_var = slack.app_token_var();
        findings.push(socket_finding(config, &http, &api, app_var, &part).await);
    } else if !config.secrets.platform(slack.signing_secret_var()).is_set() {
        findings.push(Finding::fail(
            format!("{part} Events API"),
            format!(
                "{} is not set: export the Signing Secret from Basic Information",
                slack.signing_secret_var()
            ),
        ));
    }
    findings
}

/// A Web API call with `token`: Slack's answer and the scopes its header names.
async fn call(
    http: &reqwest::Client,
    api: &str,
    method: &str,
    token: &str,
) -> Result<(Value, Option<Vec<String>>), String> {
    let response = http
        .post(format!("{api}/{method}"))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| format!("Slack could not be reached: {}", e.without_url()))?;
    let scopes = response
        .headers()
        .get("x-oauth-scopes")
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .map_err(|_| format!("{method} answered {status}, not Slack's JSON"))?;
    Ok((body, scopes))
}

async fn bot_finding(
    config: &Config,
    http: &reqwest::Client,
    api: &str,
    var: &str,
    part: &str,
) -> Finding {
    let secret = config.secrets.platform(var);
    let Some(token) = secret.expose() else {
        return Finding::fail(
            part,
            format!("{var} is not set: export the Bot User OAuth Token (xoxb-…) from Install App"),
        );
    };
    let (body, scopes) = match call(http, api, "auth.test", token).await {
        Ok(answer) => answer,
        Err(e) => return Finding::fail(part, e),
    };
    if body["ok"] != Value::Bool(true) {
        let error = body["error"].as_str().unwrap_or("refused");
        return Finding::fail(
            part,
            format!("bot token refused ({error}) — set {var} to the Bot User OAuth Token (xoxb-…) from Install App"),
        );
    }
    let who = format!(
        "bot {} in {}",
        body["user_id"].as_str().unwrap_or("?"),
        body["team"].as_str().unwrap_or("?")
    );
    let Some(scopes) = scopes else {
        return Finding::warn(
            part,
            format!("{who}; Slack named no scopes, so they could not be checked"),
        );
    };
    let missing = |list: &[&str]| -> Vec<String> {
        list.iter()
            .filter(|s| !scopes.iter().any(|h| h == *s))
            .map(|s| s.to_string())
            .collect()
    };
    let needed = missing(NEEDED_SCOPES);
    let optional: Vec<String> = OPTIONAL_SCOPES
        .iter()
        .filter(|(scope, _)| !scopes.iter().any(|h| h == scope))
        .map(|(scope, without)| format!("without the scope {scope} {without}"))
        .collect();
    if !needed.is_empty() {
        return Finding::fail(
            part,
            format!("{who}; missing scopes {} — add them under OAuth & Permissions → Bot Token Scopes (or recreate the app from deploy/slack/), then reinstall it", needed.join(", ")),
        );
    }
    if !optional.is_empty() {
        return Finding::warn(part, format!("{who}; {}", optional.join("; ")));
    }
    Finding::ok(part, format!("{who}, every scope fanops needs"))
}

async fn socket_finding(
    config: &Config,
    http: &reqwest::Client,
    api: &str,
    var: &str,
    part: &str,
) -> Finding {
    let part = format!("{part} Socket Mode");
    let secret = config.secrets.platform(var);
    let Some(token) = secret.expose() else {
        return Finding::fail(part, format!("{var} is not set: export an App-Level Token (xapp-…) with the connections:write scope"));
    };
    match call(http, api, "apps.connections.open", token).await {
        Ok((body, _)) if body["ok"] == Value::Bool(true) => {
            Finding::ok(part, "app token accepted, a socket can be opened")
        }
        Ok((body, _)) => Finding::fail(
            part,
            format!(
                "app token refused ({}) — set {var} to an App-Level Token (xapp-…) with the connections:write scope, and switch on Socket Mode",
                body["error"].as_str().unwrap_or("refused")
            ),
        ),
        Err(e) => Finding::fail(part, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The manifests fanops ships ask for exactly the scopes checked here.
    #[test]
    fn scopes_match_the_manifests() {
        for manifest in [
            include_str!("../../../deploy/slack/manifest-socket-mode.yml"),
            include_str!("../../../deploy/slack/manifest-events-api.yml"),
        ] {
            let manifest: Value = serde_saphyr::from_str(manifest).expect("the manifest is YAML");
            let mut asked: Vec<&str> = manifest["oauth_config"]["scopes"]["bot"]
                .as_array()
                .expect("the manifest lists bot scopes")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let mut checked: Vec<&str> = NEEDED_SCOPES
                .iter()
                .copied()
                .chain(OPTIONAL_SCOPES.iter().map(|(scope, _)| *scope))
                .collect();
            asked.sort();
            checked.sort();
            assert_eq!(asked, checked);
        }
    }
}
