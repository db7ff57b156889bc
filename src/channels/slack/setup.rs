//! What `fanops init` asks to set up a Slack app.

use crate::config::setup::{Setup, SetupQuestion};

fn mode(text: &str) -> Result<(), String> {
    match text {
        "socket" | "events" => Ok(()),
        other => Err(format!("`{other}` is not a mode: answer socket or events")),
    }
}

fn member_or_empty(text: &str) -> Result<(), String> {
    match text.is_empty() || super::section::is_slack_member_id(text) {
        true => Ok(()),
        false => Err(format!(
            "`{text}` is not a Slack member id (like U012ABCDEF)"
        )),
    }
}

pub(super) static SETUP: Setup = Setup {
    questions: &[
        SetupQuestion {
            key: "mode",
            ask: "Socket Mode (nothing public) or the Events API (behind a public URL): socket or events",
            default: "socket",
            required: true,
            check: mode,
        },
        SetupQuestion {
            key: "admin",
            ask: "Your Slack member id (profile → ⋮ → Copy member ID), as the first admin",
            default: "",
            required: false,
            check: member_or_empty,
        },
    ],
    section: |answer| {
        let admin = answer("admin");
        let roles = match admin.as_str() {
            "" => String::new(),
            id => format!("roles = {{ \"{id}\" = \"admin\" }}\n"),
        };
        format!(
            "[channels.slack]\nmode = \"{}\"\npermitted_users = []                  # empty: the whole workspace, as everyone_role\neveryone_role = \"viewer\"\n{roles}",
            answer("mode")
        )
    },
    secrets: |answer| {
        let mut secrets = vec![("SLACK_BOT_TOKEN", "Install App → Bot User OAuth Token (xoxb-…)")];
        match answer("mode").as_str() {
            "events" => secrets.push(("SLACK_SIGNING_SECRET", "Basic Information → Signing Secret")),
            _ => secrets.push(("SLACK_APP_TOKEN", "Basic Information → App-Level Tokens, scope connections:write (xapp-…)")),
        }
        secrets
    },
    next: "Create the app from deploy/slack/manifest-socket-mode.yml (or manifest-events-api.yml), then DM it.",
};
