//! The webhook on the shared listener: `GET /whatsapp/webhook` answers Meta's
//! subscription check (`hub.challenge` when `hub.verify_token` matches), and `POST
//! /whatsapp/webhook` (an account's under `/whatsapp/<name>/`) takes Meta's deliveries.
//! Every POST is signed (`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body
//! with the app secret>`) or answered 401 with nothing stored. The answer goes back at
//! once; each message is claimed by its id first, so a redelivery is answered once.

use super::media::{posted_of, Posted};
use super::WhatsApp;
use crate::channels::signing;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// What fanops takes from a message, kept with its claim to be handled again should
/// this process die first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Request {
    /// A text message.
    Message {
        id: String,
        from: String,
        name: Option<String>,
        text: String,
    },
    /// A press of a reply button or a list row.
    Press {
        id: String,
        from: String,
        name: Option<String>,
        payload: String,
    },
    /// A voice note, audio file, image, document or video, with its caption: only what
    /// Meta announced, downloaded once the core has checked who sent it.
    Media {
        id: String,
        from: String,
        name: Option<String>,
        caption: String,
        file: Posted,
    },
    /// A message of a kind fanops does not read (a sticker, a location, a contact).
    Unsupported {
        id: String,
        from: String,
        name: Option<String>,
        what: String,
    },
}

impl Request {
    pub(super) fn id(&self) -> &str {
        match self {
            Request::Message { id, .. }
            | Request::Press { id, .. }
            | Request::Media { id, .. }
            | Request::Unsupported { id, .. } => id,
        }
    }

    pub(super) fn from(&self) -> &str {
        match self {
            Request::Message { from, .. }
            | Request::Press { from, .. }
            | Request::Media { from, .. }
            | Request::Unsupported { from, .. } => from,
        }
    }
}

/// One message status Meta reports for a message fanops sent.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Status {
    pub id: String,
    pub status: String,
    pub recipient: String,
    /// Why it failed, in Meta's words.
    pub error: Option<String>,
}

/// What one delivery of the webhook carries for this number.
#[derive(Debug, Default)]
pub(super) struct Delivery {
    pub requests: Vec<Request>,
    pub statuses: Vec<Status>,
    /// When each sender last wrote (unix seconds, as Meta says).
    pub seen: Vec<(String, i64)>,
}

/// `GET` and `POST` of `/whatsapp/webhook`; an account's under `/whatsapp/<name>/`.
pub(super) fn routes(whatsapp: Arc<WhatsApp>) -> Router {
    Router::new()
        .route(
            &whatsapp.connection.route("webhook"),
            get(verify).post(deliveries),
        )
        .with_state(whatsapp)
}

impl WhatsApp {
    /// Whether the request carries Meta's signature over this body.
    fn signed(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let Some(header) = headers
            .get("X-Hub-Signature-256")
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(hex) = header.trim().strip_prefix("sha256=") else {
            return false;
        };
        signing::verify_hmac_sha256_hex(self.app_secret.as_bytes(), body, hex)
    }
}

/// Meta's subscription check: the challenge back when the verify token matches.
async fn verify(
    State(whatsapp): State<Arc<WhatsApp>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let given = query.get("hub.verify_token").map(String::as_str);
    let matches =
        given.is_some_and(|t| signing::same_secret(t.as_bytes(), whatsapp.verify_token.as_bytes()));
    match (query.get("hub.mode").map(String::as_str), matches) {
        (Some("subscribe"), true) => {
            let challenge = query.get("hub.challenge").cloned().unwrap_or_default();
            tracing::info!(connection = %whatsapp.name, "WhatsApp webhook subscription verified");
            (StatusCode::OK, challenge).into_response()
        }
        _ => {
            tracing::warn!(connection = %whatsapp.name, "refused a WhatsApp webhook check without the verify token");
            StatusCode::FORBIDDEN.into_response()
        }
    }
}

async fn deliveries(
    State(whatsapp): State<Arc<WhatsApp>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !whatsapp.signed(&headers, &body) {
        tracing::warn!(connection = %whatsapp.name, "refused a WhatsApp webhook without a valid signature");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        tracing::warn!("a signed WhatsApp webhook is not JSON");
        return StatusCode::BAD_REQUEST.into_response();
    };
    // A stopping process takes nothing new: Meta redelivers, to this one after its
    // restart or to another replica.
    if whatsapp.runtime.is_stopping() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    // Nothing could be answered with a refused token: Meta keeps the messages and
    // delivers them again once the token is replaced and fanops restarted.
    if whatsapp.graph.refused() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    whatsapp.health.ok(&whatsapp.name, "webhook: receiving");
    for number in numbers(&payload) {
        match whatsapp.serving(&number) {
            Some(connection) => connection.take(read(&payload, &number)).await,
            None => {
                tracing::debug!(connection = %whatsapp.name, phone_number_id = %number, "a webhook for a number this process does not serve")
            }
        }
    }
    StatusCode::OK.into_response()
}

/// The business numbers a webhook payload has messages or statuses for.
pub(super) fn numbers(payload: &Value) -> Vec<String> {
    let mut out: Vec<String> = changes(payload)
        .filter(|change| change["field"] == "messages")
        .filter_map(|change| change["value"]["metadata"]["phone_number_id"].as_str())
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

fn changes(payload: &Value) -> impl Iterator<Item = &Value> {
    payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|entry| entry["changes"].as_array().into_iter().flatten())
}

/// What a webhook payload carries for business number `phone_number_id` (changes for
/// other numbers of the same app are not this connection's).
pub(super) fn read(payload: &Value, phone_number_id: &str) -> Delivery {
    let mut out = Delivery::default();
    for change in changes(payload) {
        let value = &change["value"];
        if change["field"] != "messages"
            || value["metadata"]["phone_number_id"].as_str() != Some(phone_number_id)
        {
            continue;
        }
        let names: HashMap<&str, &str> = value["contacts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c["wa_id"].as_str()?, c["profile"]["name"].as_str()?)))
            .collect();
        for message in value["messages"].as_array().into_iter().flatten() {
            let Some(request) = request_of(message, &names) else {
                continue;
            };
            let at = message["timestamp"].as_str().and_then(|t| t.parse().ok());
            if let Some(at) = at {
                out.seen.push((request.from().to_string(), at));
            }
            out.requests.push(request);
        }
        for status in value["statuses"].as_array().into_iter().flatten() {
            out.statuses.extend(status_of(status));
        }
    }
    out
}

/// The request in one message, if it is a person's.
fn request_of(message: &Value, names: &HashMap<&str, &str>) -> Option<Request> {
    let id = message["id"].as_str()?.to_string();
    let from = message["from"].as_str()?.to_string();
    let name = names.get(from.as_str()).map(|n| n.to_string());
    let kind = message["type"].as_str().unwrap_or("unknown");
    let interactive = &message["interactive"];
    let payload = match kind {
        "interactive" => interactive["button_reply"]["id"]
            .as_str()
            .or(interactive["list_reply"]["id"].as_str()),
        // A quick-reply button of a template.
        "button" => message["button"]["payload"].as_str(),
        _ => None,
    };
    if let Some(payload) = payload {
        let payload = payload.to_string();
        return Some(Request::Press {
            id,
            from,
            name,
            payload,
        });
    }
    if let Some((file, caption)) = posted_of(message, kind) {
        return Some(Request::Media {
            id,
            from,
            name,
            caption,
            file,
        });
    }
    match message["text"]["body"].as_str() {
        Some(text) if kind == "text" => Some(Request::Message {
            id,
            from,
            name,
            text: text.to_string(),
        }),
        _ => Some(Request::Unsupported {
            id,
            from,
            name,
            what: kind.to_string(),
        }),
    }
}

fn status_of(status: &Value) -> Option<Status> {
    let error = status["errors"][0].as_object().map(|e| {
        let title = e
            .get("title")
            .and_then(Value::as_str)
            .or(e.get("message").and_then(Value::as_str))
            .unwrap_or("no reason given");
        match e.get("code").and_then(Value::as_i64) {
            Some(code) => format!("{title} (code {code})"),
            None => title.to_string(),
        }
    });
    Some(Status {
        id: status["id"].as_str()?.to_string(),
        status: status["status"].as_str()?.to_string(),
        recipient: status["recipient_id"].as_str().unwrap_or("").to_string(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(value: Value) -> Value {
        json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]})
    }

    #[test]
    fn messages_presses_and_statuses_are_read_for_this_number_only() {
        let payload = change(json!({
            "metadata": {"phone_number_id": "1065"},
            "contacts": [{"wa_id": "447700900001", "profile": {"name": "Kerry"}}],
            "messages": [
                {"from": "447700900001", "id": "wamid.1", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}},
                {"from": "447700900001", "id": "wamid.2", "timestamp": "1700000001", "type": "interactive",
                 "interactive": {"type": "button_reply", "button_reply": {"id": "fo:c:a1", "title": "Confirm"}}},
                {"from": "447700900001", "id": "wamid.3", "timestamp": "1700000002", "type": "image", "image": {"id": "m"}},
                {"from": "447700900001", "id": "wamid.4", "timestamp": "1700000003", "type": "location", "location": {"latitude": 51.5, "longitude": 0.1}}
            ],
            "statuses": [{"id": "wamid.9", "status": "failed", "recipient_id": "447700900001",
                          "errors": [{"code": 131047, "title": "Re-engagement message"}]}]
        }));
        let read = read(&payload, "1065");
        assert_eq!(read.requests.len(), 4);
        assert_eq!(
            read.requests[0],
            Request::Message {
                id: "wamid.1".into(),
                from: "447700900001".into(),
                name: Some("Kerry".into()),
                text: "hi".into()
            }
        );
        assert!(
            matches!(&read.requests[1], Request::Press { payload, .. } if payload == "fo:c:a1")
        );
        assert!(
            matches!(&read.requests[2], Request::Media { file, .. } if file.what == "image" && file.media_id == "m")
        );
        assert!(
            matches!(&read.requests[3], Request::Unsupported { what, .. } if what == "location")
        );
        assert_eq!(read.statuses[0].status, "failed");
        assert_eq!(
            read.statuses[0].error.as_deref(),
            Some("Re-engagement message (code 131047)")
        );
        assert_eq!(read.seen.len(), 4);
        assert_eq!(numbers(&payload), ["1065"]);
        let other = read_other(&payload);
        assert!(other.requests.is_empty() && other.statuses.is_empty());
    }

    fn read_other(payload: &Value) -> Delivery {
        read(payload, "9999")
    }
}
