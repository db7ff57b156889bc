//! Checks of the chat platforms' sections: URLs, modes, member ids and roles.

use super::Report;
use crate::config::{DiscordConfig, SlackConfig, TelegramConfig};

pub(super) fn validate_channels(r: &mut Report<'_>) {
    let channels = r.config.channels.clone();
    if let Some(tg) = &channels.telegram {
        telegram_section(r, tg);
    }
    if let Some(slack) = &channels.slack {
        slack_section(r, slack);
    }
    if let Some(discord) = &channels.discord {
        discord_section(r, discord);
    }
}

/// `everyone_role` of a platform that can admit a whole workspace or server.
fn everyone_role(r: &mut Report<'_>, platform: &str, role: &str) {
    if !matches!(role, "viewer" | "operator" | "admin") {
        r.at(
            &["channels", platform, "everyone_role"],
            format!("everyone_role `{role}` must be viewer, operator or admin"),
        );
    }
}

fn telegram_section(r: &mut Report<'_>, tg: &TelegramConfig) {
    r.url(&["channels", "telegram", "api_url"], &tg.api_url);
    if !matches!(tg.mode.as_str(), "polling" | "webhook") {
        r.at(
            &["channels", "telegram", "mode"],
            format!("mode `{}` must be \"polling\" or \"webhook\"", tg.mode),
        );
    }
    if tg.mode == "webhook" {
        match &tg.webhook_url {
            Some(url) => r.url(&["channels", "telegram", "webhook_url"], url),
            None => r.at(
                &["channels", "telegram", "mode"],
                "webhook mode needs webhook_url: the public https URL of POST /telegram/webhook",
            ),
        }
    }
    if !(1..=50).contains(&tg.poll_timeout) {
        r.at(
            &["channels", "telegram", "poll_timeout"],
            "poll_timeout must be 1 to 50 seconds",
        );
    }
    for user in tg.roles.keys() {
        match user.parse::<i64>() {
            Ok(id) if !tg.permitted_users.contains(&id) => r.at(
                &["channels", "telegram", "roles", user],
                format!("user {user} has a role but is not in permitted_users"),
            ),
            Ok(_) => {}
            Err(_) => r.at(
                &["channels", "telegram", "roles", user],
                format!("`{user}` is not a numeric Telegram user id"),
            ),
        }
    }
    r.roles("telegram", &tg.roles);
}

fn slack_section(r: &mut Report<'_>, slack: &SlackConfig) {
    r.url(&["channels", "slack", "api_url"], &slack.api_url);
    if !matches!(slack.mode.as_str(), "socket" | "events") {
        r.at(
            &["channels", "slack", "mode"],
            format!("mode `{}` must be \"socket\" or \"events\"", slack.mode),
        );
    }
    r.roles("slack", &slack.roles);
    r.duration(
        &["channels", "slack", "socket_watchdog"],
        &slack.socket_watchdog,
    );
    everyone_role(r, "slack", &slack.everyone_role);
    for user in slack
        .permitted_users
        .iter()
        .filter(|u| !is_slack_member_id(u))
    {
        r.at(
            &["channels", "slack", "permitted_users"],
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
    for user in slack.roles.keys().filter(|u| !is_slack_member_id(u)) {
        r.at(
            &["channels", "slack", "roles", user],
            format!("`{user}` is not a Slack member id (like U012ABCDEF)"),
        );
    }
}

fn discord_section(r: &mut Report<'_>, discord: &DiscordConfig) {
    r.url(&["channels", "discord", "api_url"], &discord.api_url);
    r.roles("discord", &discord.roles);
    everyone_role(r, "discord", &discord.everyone_role);
    for member in discord.permitted_members.iter().chain(discord.roles.keys()) {
        if member.parse::<u64>().is_err() {
            let at = if discord.roles.contains_key(member) {
                vec!["channels", "discord", "roles", member.as_str()]
            } else {
                vec!["channels", "discord", "permitted_members"]
            };
            r.at(
                &at,
                format!("`{member}` is not a Discord member id (a number, e.g. 80351110224678912)"),
            );
        }
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
