//! What `fanops init` asks to set up a Telegram bot.

use crate::config::setup::{digits_or_empty, Setup, SetupQuestion};

pub(super) static SETUP: Setup = Setup {
    questions: &[SetupQuestion {
        key: "admin",
        ask: "Your numeric Telegram user id, as the first admin (empty: find it by messaging the bot)",
        default: "",
        required: false,
        check: digits_or_empty,
    }],
    section: |answer| {
        let admin = answer("admin");
        let people = match admin.as_str() {
            "" => "permitted_users = []                  # nobody yet: message the bot, it answers with your id\n".to_string(),
            id => format!("permitted_users = [{id}]\nroles = {{ \"{id}\" = \"admin\" }}   # viewer | operator | admin; newcomers ask, admins let them in\n"),
        };
        format!("[channels.telegram]\nmode = \"polling\"                      # or \"webhook\" with webhook_url\n{people}")
    },
    secrets: |_| vec![("TELEGRAM_BOT_TOKEN", "from @BotFather: /newbot")],
    next: "Message your bot in Telegram. Strangers' requests reach the admins with Allow buttons; with no admin yet, run `fanops team allow <your id> admin`.",
};
