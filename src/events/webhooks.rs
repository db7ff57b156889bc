//! `POST /webhooks/onlyfansapi` and `POST /webhooks/ofauth`: verify the signature, store
//! the event (de-duplicated), answer 200, and leave the rules to run after the answer.

use super::{normalize, Event, Ingested, Intake};
use crate::config::{Config, Secret, WebhookSourceConfig};
use crate::metrics::{get as metrics, SourceLabel};
use crate::signing::{verify_hmac_sha256_hex, verify_hmac_sha256_hex_or_base64};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Value};
use std::sync::Arc;

/// OFAuth signatures older than this are refused (replays).
const OFAUTH_WINDOW_SECS: i64 = 300;

/// Bodies beyond this are refused: no real event is near it.
const MAX_BODY: usize = 1024 * 1024;

struct Webhooks {
    intake: Intake,
    onlyfansapi_secret: Secret,
    onlyfansapi_unsigned: bool,
    ofauth_secret: Secret,
}

/// The webhook routes of the enabled sources; None when none is enabled.
/// Whether a source is served: None when it is off, `Err(why)` when it is refused.
pub type Served = Option<Result<(), String>>;

/// Whether each source is served: `(onlyfansapi, ofauth)`, each `Err` with the reason
/// when it is enabled but lacks its secret (it is then refused, not served open).
pub fn served(config: &Config) -> (Served, Served) {
    let events = &config.events;
    let secrets = &config.secrets;
    let onlyfansapi = WebhookSourceConfig::on(&events.onlyfansapi).then(|| {
        let unsigned = events
            .onlyfansapi
            .as_ref()
            .is_some_and(|s| s.allow_unsigned);
        if secrets.onlyfansapi_webhook_secret.is_set() || unsigned {
            Ok(())
        } else {
            Err(
                "ONLYFANSAPI_WEBHOOK_SECRET is not set (or allow_unsigned = true); not served"
                    .to_string(),
            )
        }
    });
    let ofauth = WebhookSourceConfig::on(&events.ofauth).then(|| {
        if secrets.ofauth_webhook_secret.is_set() {
            Ok(())
        } else {
            Err("OFAUTH_WEBHOOK_SECRET is not set; not served".to_string())
        }
    });
    (onlyfansapi, ofauth)
}

pub fn routes(config: &Config, intake: Intake) -> Option<Router> {
    let events = &config.events;
    let (onlyfansapi, ofauth) = served(config);
    let onlyfansapi = onlyfansapi.is_some_and(|s| s.is_ok());
    let ofauth = ofauth.is_some_and(|s| s.is_ok());
    if !onlyfansapi && !ofauth {
        return None;
    }
    let unsigned = events
        .onlyfansapi
        .as_ref()
        .is_some_and(|s| s.allow_unsigned);
    if onlyfansapi && unsigned {
        tracing::warn!("[events.onlyfansapi] allow_unsigned = true: webhook calls without a signature are accepted");
    }
    let state = Arc::new(Webhooks {
        intake,
        onlyfansapi_secret: config.secrets.onlyfansapi_webhook_secret.clone(),
        onlyfansapi_unsigned: unsigned,
        ofauth_secret: config.secrets.ofauth_webhook_secret.clone(),
    });
    let mut router = Router::new();
    if onlyfansapi {
        router = router.route("/webhooks/onlyfansapi", post(onlyfansapi_hook));
    }
    if ofauth {
        router = router.route("/webhooks/ofauth", post(ofauth_hook));
    }
    Some(
        router
            .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
            .with_state(state),
    )
}

fn refuse(source: &str, why: &str) -> Response {
    metrics()
        .signatures_refused
        .get_or_create(&SourceLabel {
            source: source.into(),
        })
        .inc();
    tracing::warn!(source, why, "webhook call refused");
    (StatusCode::UNAUTHORIZED, Json(json!({"error": why}))).into_response()
}

fn bad(why: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": why}))).into_response()
}

async fn onlyfansapi_hook(
    State(hooks): State<Arc<Webhooks>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let signature = headers.get("signature").and_then(|v| v.to_str().ok());
    match (hooks.onlyfansapi_secret.expose(), signature) {
        (Some(secret), Some(sig)) => {
            if !verify_hmac_sha256_hex_or_base64(secret.as_bytes(), &body, sig) {
                return refuse(
                    "onlyfansapi",
                    "the Signature header does not match the body",
                );
            }
        }
        (_, None) if hooks.onlyfansapi_unsigned => {}
        (None, Some(_)) if hooks.onlyfansapi_unsigned => {}
        _ => return refuse("onlyfansapi", "the call has no Signature header"),
    }
    let (raw, value) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(why) => return bad(why),
    };
    let event = match normalize::onlyfansapi(&value, &raw, Utc::now()) {
        Ok(event) => event,
        Err(why) => return bad(why),
    };
    if !normalize::onlyfansapi_known(&event.name) {
        metrics()
            .events_unknown
            .get_or_create(&SourceLabel {
                source: "onlyfansapi".into(),
            })
            .inc();
        tracing::info!(name = %event.name, "an OnlyFansAPI event name fanops does not know; stored as `other`");
    }
    store(&hooks.intake, &event).await
}

async fn ofauth_hook(
    State(hooks): State<Arc<Webhooks>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = hooks.ofauth_secret.expose() else {
        return refuse("ofauth", "OFAUTH_WEBHOOK_SECRET is not set");
    };
    let Some(header) = headers
        .get("ofauth-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return refuse("ofauth", "the call has no OFAuth-Signature header");
    };
    if let Err(why) = verify_ofauth(secret.as_bytes(), header, &body, Utc::now().timestamp()) {
        return refuse("ofauth", why);
    }
    let (raw, value) = match parse(&body) {
        Ok(parsed) => parsed,
        Err(why) => return bad(why),
    };
    match normalize::ofauth(&value, &raw, Utc::now()) {
        Ok(event) => store(&hooks.intake, &event).await,
        Err(why) => bad(why),
    }
}

/// Checks `t=<unix seconds>,v1=<hex>` over `"{t}.{body}"`, within the 5-minute window.
pub fn verify_ofauth(key: &[u8], header: &str, body: &[u8], now: i64) -> Result<(), &'static str> {
    let mut t = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim()),
            Some(("v1", v)) => signatures.push(v.trim()),
            _ => {}
        }
    }
    let (Some(t), false) = (t, signatures.is_empty()) else {
        return Err("the OFAuth-Signature header is malformed (want t=…,v1=…)");
    };
    let Ok(stamp) = t.parse::<i64>() else {
        return Err("the OFAuth-Signature timestamp is not a number");
    };
    if (now - stamp).abs() > OFAUTH_WINDOW_SECS {
        return Err("the OFAuth-Signature timestamp is outside the 5-minute window");
    }
    let mut signed = Vec::with_capacity(t.len() + 1 + body.len());
    signed.extend_from_slice(t.as_bytes());
    signed.push(b'.');
    signed.extend_from_slice(body);
    if signatures
        .iter()
        .any(|sig| verify_hmac_sha256_hex(key, &signed, sig))
    {
        Ok(())
    } else {
        Err("the OFAuth-Signature does not match the body")
    }
}

fn parse(body: &[u8]) -> Result<(String, Value), String> {
    let Ok(raw) = std::str::from_utf8(body) else {
        return Err("the body is not UTF-8 text".into());
    };
    match serde_json::from_str::<Value>(raw) {
        Ok(value) => Ok((raw.to_string(), value)),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    }
}

async fn store(intake: &Intake, event: &Event) -> Response {
    match intake.ingest(event).await {
        Ok(Ingested::Stored(id)) => {
            (StatusCode::OK, Json(json!({"ok": true, "id": id}))).into_response()
        }
        Ok(Ingested::Duplicate) => {
            (StatusCode::OK, Json(json!({"ok": true, "duplicate": true}))).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store an event; the sender will retry");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"error": "the event could not be stored; retry later"})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{hex, hmac_sha256};

    #[test]
    fn ofauth_signatures_are_checked_with_their_timestamp() {
        let body = br#"{"type":"connection.expired"}"#;
        let mut signed = b"1000.".to_vec();
        signed.extend_from_slice(body);
        let sig = hex(&hmac_sha256(b"s", &signed));
        let header = format!("t=1000,v1={sig}");
        assert_eq!(verify_ofauth(b"s", &header, body, 1100), Ok(()));
        assert!(verify_ofauth(b"s", &header, body, 1000 + 301).is_err());
        assert!(verify_ofauth(b"t", &header, body, 1100).is_err());
        assert!(verify_ofauth(b"s", &header, b"{}", 1100).is_err());
        assert!(verify_ofauth(b"s", "garbage", body, 1100).is_err());
    }
}
