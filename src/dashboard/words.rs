//! Records in the words a person reads: what an audit-log entry did (never an action's
//! hex id), and a conversation as `chat:1002` (its thread after a colon only when it
//! has one).

use crate::budget::{credits, Scope};
use crate::store::AuditEntry;
use serde_json::Value;

/// `chat:1002:` → `chat:1002`; `chat:C1:1700.5` stays as it is.
pub fn conversation(key: &str) -> String {
    key.strip_suffix(':').unwrap_or(key).to_string()
}

/// What an audit-log entry did, in plain words: "confirmed: Send … to fan 99120455",
/// "set the monthly budget of user 1 to 2,000 credits a month".
pub fn audit_action(entry: &AuditEntry) -> String {
    if entry.action == "budget.set" {
        return budget_set(entry);
    }
    if entry.action.starts_with("team.") {
        if let Some(summary) = entry.detail.get("summary").and_then(Value::as_str) {
            return summary.to_string();
        }
    }
    let Some(stage) = entry.action.strip_prefix("action.") else {
        return fallback(entry);
    };
    let what = match stage {
        "proposed" => "asked for confirmation",
        "confirmed" => "confirmed",
        "cancelled" => "cancelled",
        "executed" => "done",
        "failed" => "failed after it was confirmed",
        "expired" => "expired with no decision, nothing was run",
        "allowed_by_workflow" => "done without asking (the workflow allows it)",
        "allowed_by_workflow_failed" => "failed (the workflow allows it without asking)",
        _ => return fallback(entry),
    };
    match change(&entry.detail) {
        Some(change) => format!("{what}: {change}"),
        None => what.to_string(),
    }
}

/// The change an action entry is about: its summary, else its tool in words.
fn change(detail: &Value) -> Option<String> {
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
    detail
        .get("summary")
        .and_then(text)
        .or_else(|| detail.pointer("/extra/summary").and_then(text))
        .or_else(|| {
            detail
                .get("tool")
                .and_then(text)
                .map(|tool| tool.replace('_', " "))
        })
}

fn budget_set(entry: &AuditEntry) -> String {
    let scope = entry
        .subject
        .as_deref()
        .and_then(Scope::parse_key)
        .map_or("a budget".to_string(), |s| s.describe());
    match entry.detail.get("monthly_credits").and_then(Value::as_f64) {
        Some(amount) => format!("set {scope} to {} credits a month", credits(amount)),
        None => format!("removed {scope}"),
    }
}

/// An entry of a kind this page does not know: its name in words, and what it is about.
fn fallback(entry: &AuditEntry) -> String {
    let name = entry.action.replace(['.', '_'], " ");
    match &entry.subject {
        Some(subject) => format!("{name}: {subject}"),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, subject: &str, detail: Value) -> AuditEntry {
        AuditEntry {
            at: chrono::Utc::now(),
            actor: "3".into(),
            action: action.into(),
            subject: Some(subject.into()),
            detail,
        }
    }

    #[test]
    fn conversations_lose_an_empty_thread() {
        assert_eq!(conversation("chat:1002:"), "chat:1002");
        assert_eq!(conversation("chat:C1:1700.5"), "chat:C1:1700.5");
    }

    #[test]
    fn actions_are_named_not_numbered() {
        let id = "3f9c2a7be1d04c55a8f0e6b1d2c3a4b5";
        let confirmed = entry(
            "action.confirmed",
            id,
            json!({"summary": "Send a message to fan 42", "tool": "call_endpoint"}),
        );
        assert_eq!(
            audit_action(&confirmed),
            "confirmed: Send a message to fan 42"
        );
        let older = entry(
            "action.executed",
            id,
            json!({"tool": "call_endpoint", "arguments": {}}),
        );
        assert_eq!(audit_action(&older), "done: call endpoint");
        let proposed = entry(
            "action.proposed",
            id,
            json!({"extra": {"summary": "Pause the task"}}),
        );
        assert_eq!(
            audit_action(&proposed),
            "asked for confirmation: Pause the task"
        );
        for e in [confirmed, older, proposed] {
            assert!(!audit_action(&e).contains(id));
        }
        let budget = entry("budget.set", "user:1", json!({"monthly_credits": 2000.0}));
        assert_eq!(
            audit_action(&budget),
            "set the monthly budget of user 1 to 2,000 credits a month"
        );
        let off = entry("budget.set", "team", json!({"monthly_credits": null}));
        assert_eq!(audit_action(&off), "removed the team's monthly budget");
    }
}
