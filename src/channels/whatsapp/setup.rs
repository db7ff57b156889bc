//! What `fanops init` asks to set up a WhatsApp business number.

use super::section::{is_graph_id, is_wa_id};
use crate::config::setup::{Setup, SetupQuestion};

fn number_id(text: &str) -> Result<(), String> {
    match is_graph_id(text) {
        true => Ok(()),
        false => Err(format!(
            "`{text}` is not a phone number id: the digits Meta shows under WhatsApp → API Setup (not the phone number)"
        )),
    }
}

fn number_or_empty(text: &str) -> Result<(), String> {
    match text.is_empty() || is_wa_id(text) {
        true => Ok(()),
        false => Err(format!(
            "`{text}` is not a WhatsApp number: international form, digits only, no leading 0 (447700900123)"
        )),
    }
}

pub(super) static SETUP: Setup = Setup {
    questions: &[
        SetupQuestion {
            key: "phone_number_id",
            ask: "The business number's phone number id (WhatsApp → API Setup in Meta's app dashboard)",
            default: "",
            required: true,
            check: number_id,
        },
        SetupQuestion {
            key: "admin",
            ask: "Your WhatsApp number in international form, digits only (447700900123), as the first admin",
            default: "",
            required: false,
            check: number_or_empty,
        },
    ],
    section: |answer| {
        let admin = answer("admin");
        let people = match admin.as_str() {
            "" => "permitted_numbers = []                # nobody yet: write to the number, it answers with your id\n".to_string(),
            id => format!("permitted_numbers = [\"{id}\"]\nroles = {{ \"{id}\" = \"admin\" }}\n"),
        };
        format!(
            "[channels.whatsapp]\nphone_number_id = \"{}\"\n{people}# digest_template = \"morning_digest\"  # an approved template for posts outside the 24 h window\n",
            answer("phone_number_id")
        )
    },
    secrets: |_| {
        vec![
            ("WHATSAPP_TOKEN", "a system user's permanent access token (Meta Business settings)"),
            ("WHATSAPP_APP_SECRET", "the app's App Secret (App settings → Basic)"),
            ("WHATSAPP_VERIFY_TOKEN", "any string you choose, given again as the webhook's verify token"),
        ]
    },
    next: "Point the app's webhook at https://<your host>/whatsapp/webhook with your verify token, subscribe to messages, then write to the number.",
};
