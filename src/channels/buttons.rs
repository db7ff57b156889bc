//! The Confirm / Cancel button payload every platform carries: `fo:c:<action id>` and
//! `fo:x:<action id>`. Anything else is not one of fanops's buttons.

use crate::store::Decision;

const CONFIRM: &str = "fo:c:";
const CANCEL: &str = "fo:x:";

/// The payload of the button that takes `decision` on action `action_id`.
pub fn payload(action_id: &str, decision: Decision) -> String {
    match decision {
        Decision::Confirm => format!("{CONFIRM}{action_id}"),
        Decision::Cancel => format!("{CANCEL}{action_id}"),
    }
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
}
