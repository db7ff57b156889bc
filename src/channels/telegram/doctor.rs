//! `fanops doctor` for each Telegram bot: `getMe` with its token, then `getWebhookInfo`
//! against the mode configured.

use super::section::{TelegramConfig, BOT_TOKEN};
use super::PLATFORM;
use crate::channels::{per_connection, Check, Finding};
use crate::config::{Config, Connection};
use teloxide::prelude::*;
use teloxide::types::WebhookInfo;

/// One check per bot configured.
pub(super) fn checks(config: &Config) -> Vec<Check<'_>> {
    per_connection(config, PLATFORM, "Telegram", check)
}

async fn check(
    config: &Config,
    connection: Connection<TelegramConfig>,
    part: String,
) -> Vec<Finding> {
    let var = connection.token_var(BOT_TOKEN).to_string();
    let secret = config.secrets.platform(&var);
    let Some(token) = secret.expose() else {
        return vec![Finding::fail(
            part,
            format!("{var} is not set: export it with the token @BotFather gave"),
        )];
    };
    let tg = connection.section;
    let Ok(api_url) = url::Url::parse(&tg.api_url) else {
        return vec![Finding::fail(
            part,
            "api_url is not a URL: run `fanops check`",
        )];
    };
    let bot = Bot::new(token).set_api_url(api_url);
    let me = match bot.get_me().await {
        Ok(me) => me,
        Err(teloxide::RequestError::Api(teloxide::ApiError::InvalidToken)) => {
            return vec![Finding::fail(
                part,
                format!("token refused (401) — set {var} to the token @BotFather gave"),
            )]
        }
        Err(e) => return vec![Finding::fail(part, format!("getMe failed: {e}"))],
    };
    let who = format!("bot @{} (id {})", me.username(), me.id);
    match bot.get_webhook_info().await {
        Ok(info) => vec![webhook_finding(part, &who, &tg, &info)],
        Err(e) => vec![Finding::warn(
            part,
            format!("{who}; getWebhookInfo failed: {e}"),
        )],
    }
}

/// What the webhook Telegram holds means for the mode configured.
fn webhook_finding(part: String, who: &str, tg: &TelegramConfig, info: &WebhookInfo) -> Finding {
    let set = info.url.as_ref().map(|u| u.as_str().to_string());
    let wanted = tg.webhook_url.as_deref().unwrap_or_default();
    match (tg.mode.as_str(), set) {
        ("webhook", Some(url)) if url == wanted => match &info.last_error_message {
            Some(error) => Finding::warn(
                part,
                format!("{who}, webhook set; Telegram's last delivery to it failed: {error}"),
            ),
            None => Finding::ok(
                part,
                format!("{who}, webhook set, {} update(s) waiting", info.pending_update_count),
            ),
        },
        ("webhook", Some(url)) => Finding::warn(
            part,
            format!("{who}; the webhook is {url}, not the webhook_url {wanted}: fanops sets it at start, so another deployment on this token loses its updates"),
        ),
        ("webhook", None) => Finding::ok(
            part,
            format!("{who}; no webhook yet: fanops sets {wanted} at start"),
        ),
        (_, Some(url)) => Finding::warn(
            part,
            format!("{who}; a webhook is set ({url}) while polling is configured: polling removes it at start, so whatever serves that webhook stops getting updates (use mode = \"webhook\" there or a second bot)"),
        ),
        (_, None) => Finding::ok(part, format!("{who}, polling, no webhook set")),
    }
}
