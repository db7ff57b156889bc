//! `fanops doctor` for each Discord bot: `GET /users/@me` with its token, then
//! `GET /applications/@me` for the Message Content intent and the invite URL.

use super::section::{DiscordConfig, BOT_TOKEN};
use super::PLATFORM;
use crate::channels::{per_connection, Check, Finding};
use crate::config::{Config, Connection};
use serde_json::Value;
use serenity::model::application::ApplicationFlags;
use serenity::model::Permissions;
use std::time::Duration;

/// What the bot does in a server: reads the channels and their history, answers, starts
/// a thread from the message it answers and posts in it, and attaches CSV and PNG files.
pub const PERMISSIONS: Permissions = Permissions::VIEW_CHANNEL
    .union(Permissions::SEND_MESSAGES)
    .union(Permissions::SEND_MESSAGES_IN_THREADS)
    .union(Permissions::CREATE_PUBLIC_THREADS)
    .union(Permissions::READ_MESSAGE_HISTORY)
    .union(Permissions::ATTACH_FILES);

/// The invite URL with exactly those permissions (fanops registers no slash commands, so
/// the `bot` scope alone).
pub fn invite_url(application_id: &str) -> String {
    format!(
        "https://discord.com/oauth2/authorize?client_id={application_id}&scope=bot&permissions={}",
        PERMISSIONS.bits()
    )
}

/// One check per bot configured.
pub(super) fn checks(config: &Config) -> Vec<Check<'_>> {
    per_connection(config, PLATFORM, "Discord", check)
}

async fn check(
    config: &Config,
    connection: Connection<DiscordConfig>,
    part: String,
) -> Vec<Finding> {
    let var = connection.token_var(BOT_TOKEN).to_string();
    let secret = config.secrets.platform(&var);
    let Some(token) = secret.expose() else {
        return vec![Finding::fail(
            part,
            format!("{var} is not set: export the bot token from the Developer Portal (Bot → Reset Token)"),
        )];
    };
    let base = format!(
        "{}/api/v10",
        connection.section.api_url.trim_end_matches('/')
    );
    let get = |path: &'static str| get(&base, token, path);
    let me = match get("users/@me").await {
        Ok(me) => me,
        Err(Refused(401)) => {
            return vec![Finding::fail(
                part,
                format!("token refused (401) — set {var} to the bot token from the Developer Portal (Bot → Reset Token)"),
            )]
        }
        Err(e) => return vec![Finding::fail(part, e.to_string())],
    };
    let who = format!("bot {}", me["username"].as_str().unwrap_or("?"));
    let app = match get("applications/@me").await {
        Ok(app) => app,
        Err(e) => return vec![Finding::fail(part, format!("{who}; applications/@me: {e}"))],
    };
    let flags = ApplicationFlags::from_bits_retain(app["flags"].as_u64().unwrap_or(0));
    let intent = ApplicationFlags::GATEWAY_MESSAGE_CONTENT
        | ApplicationFlags::GATEWAY_MESSAGE_CONTENT_LIMITED;
    let id = app["id"].as_str().unwrap_or("YOUR_APPLICATION_ID");
    let mut findings = vec![if flags.intersects(intent) {
        Finding::ok(part.clone(), format!("{who}, Message Content intent on"))
    } else {
        Finding::fail(
            part.clone(),
            format!("{who}; the Message Content intent is off — switch on Bot → Privileged Gateway Intents → Message Content Intent in the Developer Portal"),
        )
    }];
    findings.push(Finding::ok(format!("{part} invite"), invite_url(id)));
    findings
}

/// Why a REST call gave no answer fanops can use.
#[derive(Debug)]
enum Failure {
    Refused(u16),
    Unreachable(String),
}
use Failure::Refused;

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused(status) => write!(f, "Discord answered {status}"),
            Failure::Unreachable(e) => write!(f, "Discord could not be reached: {e}"),
        }
    }
}

async fn get(base: &str, token: &str, path: &str) -> Result<Value, Failure> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| Failure::Unreachable(e.to_string()))?;
    let response = http
        .get(format!("{base}/{path}"))
        .header("Authorization", format!("Bot {token}"))
        .send()
        .await
        .map_err(|e| Failure::Unreachable(e.without_url().to_string()))?;
    if !response.status().is_success() {
        return Err(Refused(response.status().as_u16()));
    }
    response
        .json()
        .await
        .map_err(|e| Failure::Unreachable(e.without_url().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invite_asks_for_exactly_what_fanops_uses() {
        // View Channels 1<<10, Send Messages 1<<11, Attach Files 1<<15, Read Message
        // History 1<<16, Create Public Threads 1<<35, Send Messages in Threads 1<<38.
        let bits = (1u64 << 10) | (1 << 11) | (1 << 15) | (1 << 16) | (1 << 35) | (1 << 38);
        assert_eq!(PERMISSIONS.bits(), bits);
        assert_eq!(PERMISSIONS.bits(), 309_237_746_688);
        assert_eq!(
            invite_url("42"),
            "https://discord.com/oauth2/authorize?client_id=42&scope=bot&permissions=309237746688"
        );
    }
}
