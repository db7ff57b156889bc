//! Every source's payloads, turned into one [`Event`] (DESIGN §7). Payloads come from
//! outside and are never trusted: any JSON at all yields an event or a plain error, and
//! never a panic (property-tested).

use super::Event;
use crate::tasks::trigger::EventKind;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// The OnlyFansAPI webhook envelope `{"event", "account_id", "payload"}`.
pub fn onlyfansapi(body: &Value, raw: &str, now: DateTime<Utc>) -> Result<Event, String> {
    let Some(name) = body.get("event").and_then(Value::as_str) else {
        return Err("the body has no `event` name".into());
    };
    let payload = body.get("payload").cloned().unwrap_or(Value::Null);
    let account = body.get("account_id").and_then(text_of);
    let kind = onlyfansapi_kind(name, &payload);
    let mut fields = common_fields(&payload);
    if let Some(state) = name.strip_prefix("accounts.") {
        fields.insert("state".into(), Value::String(state.to_string()));
    }
    if !has_money(kind) {
        fields.remove("amount");
    }
    Ok(Event {
        source: "onlyfansapi".into(),
        name: name.to_string(),
        kind,
        account,
        occurred_at: occurred_at(&payload).unwrap_or(now),
        own_id: payload.get("id").and_then(text_of),
        fields,
        raw: raw.to_string(),
    })
}

/// Whether OnlyFansAPI documents this event name (unknown names are kept as `other`).
pub fn onlyfansapi_known(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "messages.received",
        "messages.sent",
        "messages.ppv.unlocked",
        "messages.deleted",
        "subscriptions.new",
        "subscriptions.renewed",
        "tips.received",
        "transactions.new",
        "posts.liked",
        "users.typing",
        "users.online",
        "users.offline",
        "fan_summary.completed",
    ];
    EXACT.contains(&name)
        || ["accounts.", "chat_queue.", "data_exports."]
            .iter()
            .any(|p| name.starts_with(p))
}

fn onlyfansapi_kind(name: &str, payload: &Value) -> EventKind {
    let is_tip = payload.get("isTip").and_then(Value::as_bool) == Some(true);
    match name {
        "messages.received" if is_tip => EventKind::Tip,
        "messages.received" => EventKind::MessageReceived,
        "messages.sent" => EventKind::MessageSent,
        "messages.ppv.unlocked" => EventKind::PpvPurchase,
        "messages.deleted" => EventKind::MessageDeleted,
        "subscriptions.new" => EventKind::NewSubscriber,
        "subscriptions.renewed" => EventKind::SubscriptionRenewed,
        "tips.received" => EventKind::Tip,
        "transactions.new" => EventKind::Transaction,
        "posts.liked" => EventKind::PostLiked,
        "users.typing" => EventKind::Typing,
        "users.online" => EventKind::Online,
        "users.offline" => EventKind::Offline,
        "fan_summary.completed" => EventKind::ExportReady,
        n if n.starts_with("accounts.") => EventKind::AccountStatus,
        n if n.starts_with("data_exports.") => EventKind::ExportReady,
        _ => EventKind::Other,
    }
}

/// OFAuth: a connection event `{"type": "connection.…", "data"}` or the realtime
/// envelope carrying an OnlyFans socket frame in `json`.
pub fn ofauth(body: &Value, raw: &str, now: DateTime<Utc>) -> Result<Event, String> {
    if let Some(kind) = body.get("type").and_then(Value::as_str) {
        let data = body.get("data").cloned().unwrap_or(Value::Null);
        let mut fields = Map::new();
        let state = kind.strip_prefix("connection.").unwrap_or(kind);
        fields.insert("state".into(), Value::String(state.to_string()));
        let account = ["id", "connectionId", "clientReferenceId"]
            .iter()
            .find_map(|k| data.get(*k).and_then(text_of))
            .or_else(|| data.pointer("/connection/id").and_then(text_of));
        let at = body.get("timestamp").and_then(instant_of).unwrap_or(now);
        return Ok(Event {
            source: "ofauth".into(),
            name: kind.to_string(),
            kind: if kind.starts_with("connection.") {
                EventKind::AccountStatus
            } else {
                EventKind::Other
            },
            account,
            occurred_at: at,
            own_id: None,
            fields,
            raw: raw.to_string(),
        });
    }
    let Some(frame) = body.get("json") else {
        return Err(
            "the body is neither a connection event (`type`) nor a realtime envelope (`json`)"
                .into(),
        );
    };
    let connection = body.get("connection").cloned().unwrap_or(Value::Null);
    let account = connection
        .get("clientReferenceId")
        .and_then(text_of)
        .or_else(|| connection.get("id").and_then(text_of));
    let mut event = socket_frame("ofauth", frame, raw, now)?;
    event.account = account;
    if event.occurred_at == now {
        if let Some(at) = body.get("receivedAt").and_then(instant_of) {
            event.occurred_at = at;
        }
    }
    Ok(event)
}

/// An OnlyFans socket frame as relayed unchanged: one object keyed by its payload type,
/// e.g. `{"api2_chat_message": {…}}`.
pub fn socket_frame(
    source: &str,
    frame: &Value,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<Event, String> {
    let Some(object) = frame.as_object() else {
        return Err("the frame is not a JSON object".into());
    };
    let (name, payload) = match object.iter().next() {
        Some((name, payload)) if object.len() == 1 => (name.clone(), payload.clone()),
        _ => ("frame".to_string(), frame.clone()),
    };
    let is_tip = payload.get("isTip").and_then(Value::as_bool) == Some(true);
    let kind = match name.as_str() {
        n if n.contains("chat_message") && n.contains("delete") => EventKind::MessageDeleted,
        n if n.contains("chat_message") && is_tip => EventKind::Tip,
        n if n.contains("chat_message") => EventKind::MessageReceived,
        n if n.contains("typing") => EventKind::Typing,
        n if n.contains("offline") => EventKind::Offline,
        n if n.contains("online") => EventKind::Online,
        n if n.contains("tip") => EventKind::Tip,
        n if n.contains("subscri") => EventKind::NewSubscriber,
        n if n.contains("purchase") || n.contains("ppv") => EventKind::PpvPurchase,
        _ => EventKind::Other,
    };
    let mut fields = common_fields(&payload);
    if !has_money(kind) {
        fields.remove("amount");
    }
    Ok(Event {
        source: source.to_string(),
        name,
        kind,
        account: None,
        occurred_at: occurred_at(&payload).unwrap_or(now),
        own_id: payload.get("id").and_then(text_of),
        fields,
        raw: raw.to_string(),
    })
}

/// A BetterFans EventBus event: `{"type", "accountId", …}`, its facts either beside
/// `type` or under `data`/`payload`.
pub fn betterfans(frame: &Value, raw: &str, now: DateTime<Utc>) -> Result<Event, String> {
    let Some(name) = frame
        .get("type")
        .or_else(|| frame.get("event"))
        .and_then(Value::as_str)
    else {
        return Err("the event has no `type`".into());
    };
    let payload = match frame.get("data").or_else(|| frame.get("payload")) {
        Some(inner) if inner.is_object() => inner.clone(),
        _ => frame.clone(),
    };
    let account = payload
        .get("accountId")
        .or_else(|| frame.get("accountId"))
        .and_then(text_of);
    let online = payload.get("online").and_then(Value::as_bool);
    let kind = match name {
        "chat_message" => EventKind::MessageReceived,
        "tip" => EventKind::Tip,
        "new_subscriber" => EventKind::NewSubscriber,
        "returning_subscriber" => EventKind::ReturningSubscriber,
        "ppv_purchase" => EventKind::PpvPurchase,
        "ppv_sent" => EventKind::PpvSent,
        "typing" => EventKind::Typing,
        "online" if online == Some(false) => EventKind::Offline,
        "online" => EventKind::Online,
        _ => EventKind::Other,
    };
    let mut fields = common_fields(&payload);
    if let Some(user) = payload.get("userId").and_then(text_of) {
        fields.entry("fan_id").or_insert(Value::String(user));
    }
    if let Some(message) = payload.get("message").and_then(Value::as_str) {
        fields.insert("text".into(), Value::String(strip_html(message)));
    }
    if let Some(id) = payload.get("messageId").and_then(text_of) {
        fields.insert("message_id".into(), Value::String(id));
    }
    if !has_money(kind) {
        fields.remove("amount");
    }
    Ok(Event {
        source: "betterfans".into(),
        name: name.to_string(),
        kind,
        account,
        occurred_at: occurred_at(&payload).unwrap_or(now),
        own_id: payload
            .get("id")
            .or_else(|| payload.get("messageId"))
            .and_then(text_of),
        fields,
        raw: raw.to_string(),
    })
}

fn has_money(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::Tip
            | EventKind::PpvPurchase
            | EventKind::PpvSent
            | EventKind::Transaction
            | EventKind::NewSubscriber
            | EventKind::ReturningSubscriber
            | EventKind::SubscriptionRenewed
    )
}

/// The facts most payloads share: the fan, the text, the message id, the amount.
fn common_fields(payload: &Value) -> Map<String, Value> {
    let mut fields = Map::new();
    let fan = ["fromUser", "user", "toUser"]
        .iter()
        .find_map(|k| payload.get(*k).filter(|u| u.is_object()));
    if let Some(fan) = fan {
        if let Some(id) = fan.get("id").and_then(text_of) {
            fields.insert("fan_id".into(), Value::String(id));
        }
        if let Some(username) = fan.get("username").and_then(Value::as_str) {
            fields.insert("fan_username".into(), Value::String(clean(username)));
        }
        if let Some(name) = fan.get("name").and_then(Value::as_str) {
            fields.insert("fan_name".into(), Value::String(clean(name)));
        }
    } else if let Some(id) = payload.get("user_id").and_then(text_of) {
        fields.insert("fan_id".into(), Value::String(id));
    }
    if let Some(text) = payload.get("text").and_then(Value::as_str) {
        fields.insert("text".into(), Value::String(strip_html(text)));
    }
    if let Some(id) = payload.get("id").and_then(text_of) {
        fields.insert("message_id".into(), Value::String(id));
    }
    if let Some(amount) = amount_of(payload) {
        fields.insert("amount".into(), Value::from(amount));
    }
    fields
}

/// The amount in USD: `amount`, else a non-zero `price`, else `replacePairs["{AMOUNT}"]`.
/// Never guessed from free text.
pub fn amount_of(payload: &Value) -> Option<f64> {
    let money = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => parse_usd(s),
        _ => None,
    };
    payload
        .get("amount")
        .and_then(money)
        .or_else(|| payload.get("price").and_then(money).filter(|p| *p > 0.0))
        .or_else(|| payload.pointer("/replacePairs/{AMOUNT}").and_then(money))
        .filter(|a| a.is_finite() && *a >= 0.0)
}

/// `"$5.00"`, `"5"`, `"$1,250.50"`, `"USD 5"` → the number; anything else → None.
pub fn parse_usd(text: &str) -> Option<f64> {
    let t = text.trim();
    let t = t.strip_prefix("USD").unwrap_or(t).trim();
    let t = t.strip_prefix('$').unwrap_or(t).trim();
    let t = t.strip_suffix("USD").unwrap_or(t).trim();
    if t.is_empty()
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
    {
        return None;
    }
    t.replace(',', "")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
}

/// Text without HTML tags and with the common entities decoded.
pub fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let decoded = out
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    clean(&decoded)
}

/// One line of plain words: whitespace runs collapsed, control characters dropped.
fn clean(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// A string or a number, as text.
fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn instant_of(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        // Unix seconds, or milliseconds when it is that large.
        Value::Number(n) => {
            let n = n.as_i64()?;
            if n > 100_000_000_000 {
                DateTime::from_timestamp_millis(n)
            } else {
                DateTime::from_timestamp(n, 0)
            }
        }
        _ => None,
    }
}

fn occurred_at(payload: &Value) -> Option<DateTime<Utc>> {
    ["createdAt", "created_at", "timestamp"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(instant_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_from_numbers_and_dollar_strings() {
        assert_eq!(parse_usd("$5.00"), Some(5.0));
        assert_eq!(parse_usd("$1,250.50"), Some(1250.5));
        assert_eq!(parse_usd("free"), None);
        assert_eq!(parse_usd("$-5"), None);
        let pairs = serde_json::json!({"price": 0, "replacePairs": {"{AMOUNT}": "$7.50"}});
        assert_eq!(amount_of(&pairs), Some(7.5));
        assert_eq!(amount_of(&serde_json::json!({"amount": "12"})), Some(12.0));
        assert_eq!(amount_of(&serde_json::json!({"text": "tipped $50"})), None);
    }

    #[test]
    fn html_is_stripped() {
        assert_eq!(
            strip_html("has purchased your <a href='x'>message</a> for $5.00!"),
            "has purchased your message for $5.00!"
        );
        assert_eq!(strip_html("<p>a &amp; b</p>\n<br>c"), "a & b c");
    }

    #[test]
    fn a_message_marked_as_tip_is_a_tip_with_its_price() {
        let body = serde_json::json!({"event": "messages.received", "account_id": "acct_1",
            "payload": {"id": 9, "isTip": true, "price": 25, "text": "<p>for you</p>",
                "fromUser": {"id": 5, "username": "big", "name": "Big Spender"}}});
        let e = onlyfansapi(&body, "{}", Utc::now()).unwrap();
        assert_eq!(e.kind, EventKind::Tip);
        assert_eq!(e.fields["amount"], 25.0);
        assert_eq!(e.fields["fan_username"], "big");
        assert_eq!(e.fields["text"], "for you");
        assert_eq!(e.own_id.as_deref(), Some("9"));
    }
}
