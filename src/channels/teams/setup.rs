//! What `fanops init` asks to set up a Microsoft Teams bot.

use super::section::is_guid;
use crate::config::setup::{Setup, SetupQuestion};

fn app_id(text: &str) -> Result<(), String> {
    match is_guid(text) {
        true => Ok(()),
        false => Err(format!(
            "`{text}` is not an app id: the Azure Bot's Microsoft App ID, like 00000000-0000-0000-0000-000000000000"
        )),
    }
}

fn object_id_or_empty(text: &str) -> Result<(), String> {
    match text.is_empty() || is_guid(text) {
        true => Ok(()),
        false => Err(format!(
            "`{text}` is not an object id: your Microsoft Entra object id, like 6f1e2a3b-0000-4000-8000-00000000000a"
        )),
    }
}

pub(super) static SETUP: Setup = Setup {
    questions: &[
        SetupQuestion {
            key: "app_id",
            ask: "The Azure Bot's Microsoft App ID",
            default: "",
            required: true,
            check: app_id,
        },
        SetupQuestion {
            key: "admin",
            ask: "Your Microsoft Entra object id, as the first admin",
            default: "",
            required: false,
            check: object_id_or_empty,
        },
    ],
    section: |answer| {
        let admin = answer("admin");
        let roles = match admin.as_str() {
            "" => String::new(),
            id => format!("roles = {{ \"{id}\" = \"admin\" }}\n"),
        };
        format!(
            "[channels.teams]\napp_id = \"{}\"\npermitted_users = []                  # empty: everyone who can reach the bot, as everyone_role\neveryone_role = \"viewer\"\n{roles}",
            answer("app_id")
        )
    },
    secrets: |_| vec![("TEAMS_APP_PASSWORD", "the client secret of the bot's app registration")],
    next: "Set the bot's messaging endpoint to https://<your host>/teams/messages and upload deploy/teams/manifest.json to Teams.",
};
