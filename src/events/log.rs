//! What `fanops events` and `/events` show: recent events and what each rule did.

use crate::store::{EventFilter, EventOutcome, Store, StoreError, StoredEvent};
use serde_json::{json, Value};

/// Recent events, newest first, with the rules' outcomes, and how many matched in all.
#[derive(Debug, Clone)]
pub struct Listing {
    pub total: u64,
    pub events: Vec<(StoredEvent, Vec<EventOutcome>)>,
}

pub async fn recent(store: &dyn Store, filter: &EventFilter) -> Result<Listing, StoreError> {
    let (events, total) = store.recent_events(filter).await?;
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    let outcomes = store.event_outcomes(&ids).await?;
    let events = events
        .into_iter()
        .map(|e| {
            let mine = outcomes
                .iter()
                .filter(|o| o.event_id == e.id)
                .cloned()
                .collect();
            (e, mine)
        })
        .collect();
    Ok(Listing { total, events })
}

/// A short summary of an event's facts for a table cell.
fn facts(event: &StoredEvent) -> String {
    cell(&summary(event))
}

/// An event's facts in a few words (fan, amount, state, the start of its text), as
/// received: whoever shows it escapes it for its medium.
pub fn summary(event: &StoredEvent) -> String {
    let f = &event.fields;
    let mut parts = Vec::new();
    if let Some(name) = f
        .get("fan_username")
        .and_then(Value::as_str)
        .map(|u| format!("@{u}"))
        .or_else(|| {
            f.get("fan_name")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    {
        parts.push(name);
    }
    if let Some(amount) = f.get("amount").and_then(Value::as_f64) {
        parts.push(super::rules::usd(amount));
    }
    if let Some(state) = f.get("state").and_then(Value::as_str) {
        parts.push(state.to_string());
    }
    if let Some(text) = f.get("text").and_then(Value::as_str) {
        let cut: String = text.chars().take(40).collect();
        parts.push(if text.chars().count() > 40 {
            format!("“{cut}…”")
        } else {
            format!("“{cut}”")
        });
    }
    parts.join(" ")
}

/// Table cells may not hold the column separator or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "/").replace(['\n', '\r'], " ")
}

/// A Markdown table ending with the line `N events`.
pub fn render(listing: &Listing) -> String {
    let mut out = String::new();
    if !listing.events.is_empty() {
        out.push_str(
            "| received | source | kind | account | facts | rules |\n|---|---|---|---|---|---|\n",
        );
        for (event, outcomes) in &listing.events {
            let rules = if outcomes.is_empty() {
                "—".to_string()
            } else {
                outcomes
                    .iter()
                    .map(|o| format!("{}: {}", o.rule, o.outcome))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                event.received_at.format("%Y-%m-%d %H:%M:%S UTC"),
                cell(&event.source),
                cell(&event.kind),
                cell(event.account.as_deref().unwrap_or("—")),
                facts(event),
                cell(&rules),
            ));
        }
        out.push('\n');
    }
    out.push_str(&match listing.total {
        1 => "1 event".to_string(),
        n => format!("{n} events"),
    });
    out
}

/// `{"total": N, "events": [{"id", "source", "kind", "account", "occurred_at", "fields",
/// "rules": [{"rule", "outcome"}]}]}`.
pub fn to_json(listing: &Listing) -> Value {
    let events: Vec<Value> = listing
        .events
        .iter()
        .map(|(e, outcomes)| {
            json!({
                "id": e.id,
                "source": e.source,
                "kind": e.kind,
                "account": e.account,
                "occurred_at": e.occurred_at.to_rfc3339(),
                "received_at": e.received_at.to_rfc3339(),
                "fields": e.fields,
                "rules": outcomes.iter().map(|o| json!({"rule": o.rule, "outcome": o.outcome})).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({"total": listing.total, "events": events})
}
