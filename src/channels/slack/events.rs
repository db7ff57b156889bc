//! The Events API over HTTP: `POST /slack/events` and `POST /slack/interactions` (an
//! account's under `/slack/<name>/`) on the shared listener. Every request is signed (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`
//! with the signing secret, timestamp within 5 minutes) or answered 401. The answer goes
//! back at once; the turn runs after it. Works on every replica: the claim in the store
//! decides which one handles an event.

use super::{Request, Slack};
use crate::channels::signing;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slack_morphism::prelude::*;
use std::sync::Arc;

/// Slack refuses requests whose timestamp is further than this from now.
const WINDOW_SECS: i64 = 5 * 60;

/// `/slack/events` and `/slack/interactions`; an account's under `/slack/<name>/`.
pub(super) fn routes(slack: Arc<Slack>) -> Router {
    Router::new()
        .route(&slack.connection.route("events"), post(events))
        .route(&slack.connection.route("interactions"), post(interactions))
        .with_state(slack)
}

impl Slack {
    /// Whether the request carries Slack's signature over this body, made recently.
    fn signed(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let Some(secret) = &self.signing_secret else {
            return false;
        };
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(stamp), Some(signature)) = (
            header("X-Slack-Request-Timestamp"),
            header("X-Slack-Signature"),
        ) else {
            return false;
        };
        let Ok(at) = stamp.trim().parse::<i64>() else {
            return false;
        };
        if (self.clock.now().timestamp() - at).abs() > WINDOW_SECS {
            return false;
        }
        let Some(hex) = signature.trim().strip_prefix("v0=") else {
            return false;
        };
        let mut signed = format!("v0:{at}:").into_bytes();
        signed.extend_from_slice(body);
        signing::verify_hmac_sha256_hex(secret.as_bytes(), &signed, hex)
    }

    /// Claims a request and starts its turn: the caller answers Slack right after.
    async fn take(self: &Arc<Self>, request: Option<(String, Request)>) {
        if let Some((id, request)) = request {
            if self.claim(&id, &request).await {
                self.start_turn(id, request, None);
            }
        }
    }

    /// Refuses what cannot be handled now: a process that is stopping (Slack retries,
    /// reaching this one after its restart or another replica), or one that does not yet
    /// know the bot's own id.
    fn unready(&self) -> Option<Response> {
        (self.runtime.is_stopping() || self.me.get().is_none())
            .then(|| StatusCode::SERVICE_UNAVAILABLE.into_response())
    }
}

async fn events(State(slack): State<Arc<Slack>>, headers: HeaderMap, body: Bytes) -> Response {
    if !slack.signed(&headers, &body) {
        tracing::warn!("refused a Slack events request without a valid, recent signature");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let parsed = serde_json::from_slice::<serde_json::Value>(&body).and_then(|raw| {
        let event = serde_json::from_value::<SlackPushEvent>(raw.clone())?;
        Ok((super::inbound::from_bot(&raw), event))
    });
    let (from_bot, event): (bool, SlackPushEvent) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            tracing::warn!(error = %e, "a signed Slack events request is not an event");
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    match event {
        SlackPushEvent::UrlVerification(check) => {
            Json(serde_json::json!({ "challenge": check.challenge })).into_response()
        }
        SlackPushEvent::EventCallback(callback) => {
            if let Some(unready) = slack.unready() {
                return unready;
            }
            slack.health.ok(&slack.name, "events API: receiving");
            let request = match from_bot {
                true => None,
                false => slack.request_of(&callback.event).await,
            };
            slack.take(request).await;
            StatusCode::OK.into_response()
        }
        SlackPushEvent::AppRateLimited(limited) => {
            tracing::warn!(
                ?limited,
                "Slack is holding back events: the app is rate limited"
            );
            StatusCode::OK.into_response()
        }
    }
}

async fn interactions(
    State(slack): State<Arc<Slack>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !slack.signed(&headers, &body) {
        tracing::warn!("refused a Slack interaction without a valid, recent signature");
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let payload = url::form_urlencoded::parse(&body)
        .find(|(key, _)| key == "payload")
        .map(|(_, value)| value.into_owned());
    let Some(event) = payload.and_then(|p| serde_json::from_str::<SlackInteractionEvent>(&p).ok())
    else {
        tracing::warn!("a signed Slack interaction has no payload fanops can read");
        return StatusCode::BAD_REQUEST.into_response();
    };
    if let Some(unready) = slack.unready() {
        return unready;
    }
    slack.take(Slack::press_of(&event)).await;
    StatusCode::OK.into_response()
}
