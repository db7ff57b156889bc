//! The buttons every platform carries, and their payloads: Confirm / Cancel on a pending
//! write (`fo:c:<action id>`, `fo:x:<action id>`), and Allow as viewer / operator / admin
//! and Ignore on an access request (`fo:a:v:<request id>`, `…:o:`, `…:a:`, `…:i:`).
//! Anything else is not one of fanops's buttons.

use crate::chat::{AccessChoice, InboundBody, Outbound, Role};
use crate::store::Decision;

const CONFIRM: &str = "fo:c:";
const CANCEL: &str = "fo:x:";
const ACCESS: &str = "fo:a:";

/// How a button looks where the platform can say (a primary or a dangerous action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Primary,
    Danger,
    Plain,
}

/// One button: what it says, what it carries back, how it looks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: &'static str,
    pub payload: String,
    pub style: Style,
}

/// The buttons that go on `out`'s last message, in order (none for most replies).
pub fn of(out: &Outbound) -> Vec<Button> {
    if let Some(confirm) = &out.confirm {
        return vec![
            Button {
                label: "✅ Confirm",
                payload: payload(&confirm.action_id, Decision::Confirm),
                style: Style::Primary,
            },
            Button {
                label: "✖️ Cancel",
                payload: payload(&confirm.action_id, Decision::Cancel),
                style: Style::Danger,
            },
        ];
    }
    let Some(request) = &out.access else {
        return Vec::new();
    };
    let allow = |label, role| Button {
        label,
        payload: access_payload(request, AccessChoice::Allow(role)),
        style: Style::Plain,
    };
    vec![
        allow("Allow as viewer", Role::Viewer),
        Button {
            style: Style::Primary,
            ..allow("Allow as operator", Role::Operator)
        },
        allow("Allow as admin", Role::Admin),
        Button {
            label: "Ignore",
            payload: access_payload(request, AccessChoice::Ignore),
            style: Style::Danger,
        },
    ]
}

/// The payload of the button that takes `decision` on action `action_id`.
pub fn payload(action_id: &str, decision: Decision) -> String {
    match decision {
        Decision::Confirm => format!("{CONFIRM}{action_id}"),
        Decision::Cancel => format!("{CANCEL}{action_id}"),
    }
}

/// The payload of the button that makes `choice` on access request `request_id`.
pub fn access_payload(request_id: &str, choice: AccessChoice) -> String {
    let letter = match choice {
        AccessChoice::Allow(Role::Viewer) => 'v',
        AccessChoice::Allow(Role::Operator) => 'o',
        AccessChoice::Allow(Role::Admin) => 'a',
        AccessChoice::Ignore => 'i',
    };
    format!("{ACCESS}{letter}:{request_id}")
}

/// The action and decision a payload names; `None` for anything else (a forged or foreign
/// button). The action id is checked by the gate, not here.
pub fn parse(data: &str) -> Option<(&str, Decision)> {
    let (id, decision) = if let Some(id) = data.strip_prefix(CONFIRM) {
        (id, Decision::Confirm)
    } else {
        (data.strip_prefix(CANCEL)?, Decision::Cancel)
    };
    (!id.is_empty()).then_some((id, decision))
}

/// What a press on one of fanops's buttons asks the core; `None` for anything else. Ids
/// are checked by whoever owns them (the gate, the team), not here.
pub fn pressed(data: &str) -> Option<InboundBody> {
    if let Some((action_id, decision)) = parse(data) {
        return Some(InboundBody::Decision {
            action_id: action_id.to_string(),
            decision,
        });
    }
    let rest = data.strip_prefix(ACCESS)?;
    let (letter, id) = rest.split_once(':')?;
    let choice = match letter {
        "v" => AccessChoice::Allow(Role::Viewer),
        "o" => AccessChoice::Allow(Role::Operator),
        "a" => AccessChoice::Allow(Role::Admin),
        "i" => AccessChoice::Ignore,
        _ => return None,
    };
    (!id.is_empty()).then(|| InboundBody::Access {
        request_id: id.to_string(),
        choice,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_foreign_ones_are_refused() {
        for decision in [Decision::Confirm, Decision::Cancel] {
            let data = payload("abc123", decision);
            assert_eq!(parse(&data), Some(("abc123", decision)));
        }
        assert_eq!(payload("a", Decision::Confirm), "fo:c:a");
        assert_eq!(payload("a", Decision::Cancel), "fo:x:a");
        assert_eq!(parse("fo:c:"), None);
        assert_eq!(parse("fo:y:abc"), None);
        assert_eq!(parse("something else"), None);
    }

    #[test]
    fn access_buttons_carry_their_choice_back() {
        let out = Outbound {
            access: Some("r1".into()),
            ..Outbound::default()
        };
        let buttons = of(&out);
        let labels: Vec<&str> = buttons.iter().map(|b| b.label).collect();
        assert_eq!(
            labels,
            [
                "Allow as viewer",
                "Allow as operator",
                "Allow as admin",
                "Ignore"
            ]
        );
        let choices: Vec<AccessChoice> = buttons
            .iter()
            .map(|b| match pressed(&b.payload) {
                Some(InboundBody::Access { request_id, choice }) => {
                    assert_eq!(request_id, "r1");
                    choice
                }
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            choices,
            [
                AccessChoice::Allow(Role::Viewer),
                AccessChoice::Allow(Role::Operator),
                AccessChoice::Allow(Role::Admin),
                AccessChoice::Ignore
            ]
        );
        assert!(pressed("fo:a:z:r1").is_none());
        assert!(pressed("fo:a:v:").is_none());
        assert!(of(&Outbound::text("plain")).is_empty());
        assert!(
            buttons.iter().all(|b| b.payload.len() <= 64),
            "the smallest payload limit (64 bytes)"
        );
    }
}
