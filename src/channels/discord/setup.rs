//! What `fanops init` asks to set up a Discord bot.

use crate::config::setup::{digits_or_empty, Setup, SetupQuestion};

pub(super) static SETUP: Setup = Setup {
    questions: &[SetupQuestion {
        key: "admin",
        ask: "Your Discord user id (Developer Mode → right-click yourself → Copy User ID), as the first admin",
        default: "",
        required: false,
        check: digits_or_empty,
    }],
    section: |answer| {
        let admin = answer("admin");
        let roles = match admin.as_str() {
            "" => String::new(),
            id => format!("roles = {{ \"{id}\" = \"admin\" }}\n"),
        };
        format!("[channels.discord]\nallow_everyone = true                 # every member may ask, as everyone_role\neveryone_role = \"viewer\"\n{roles}")
    },
    secrets: |_| vec![("DISCORD_BOT_TOKEN", "developer portal → your application → Bot → Reset Token")],
    next: "Turn on the Message Content intent, invite the bot (README, Discord), and @mention it.",
};
