//! The few Discord REST calls fanops makes, each answered in the shared queue's terms
//! ([`Attempt`]), so that a 429 is waited out by the per-channel queue.
//!
//! serenity's own HTTP client sends to discord.com whenever its rate limiter is on (the
//! configured base URL is honoured only with the limiter off), and with the limiter off it
//! drops a 429's `Retry-After`. So these calls go through reqwest, reading the wait once
//! for every client (`crate::retry_after`) and Discord's own `retry_after` and `global`.

use crate::channels::outbox::Attempt;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Discord's REST API version.
const API: &str = "/api/v10";

/// A request body.
pub enum Body {
    None,
    Json(Value),
    /// A message with one file: `payload_json` plus `files[0]`.
    File {
        payload: Value,
        name: String,
        mime: &'static str,
        bytes: Vec<u8>,
    },
}

pub struct Rest {
    client: reqwest::Client,
    base: String,
    /// `Bot <token>`; never logged.
    authorization: String,
    /// A global 429 holds every request, in every channel, until then.
    global_until: Mutex<Option<Instant>>,
}

impl Rest {
    /// `api_url` is the site root (`https://discord.com`); requests go to `{api_url}/api/v10/…`.
    pub fn new(api_url: &str, token: &str) -> anyhow::Result<Rest> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!(
                "DiscordBot (fanops, ",
                env!("CARGO_PKG_VERSION"),
                ")"
            ))
            .build()?;
        Ok(Rest {
            client,
            base: format!("{}{API}", api_url.trim_end_matches('/')),
            authorization: format!("Bot {token}"),
            global_until: Mutex::new(None),
        })
    }

    /// One attempt at `method path` with `body`; the JSON answer (`Null` for 204).
    pub async fn call(&self, method: Method, path: &str, body: &Body) -> Attempt<Value> {
        let held = *self.global_until.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = held {
            tokio::time::sleep_until(until).await;
        }
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.authorization);
        request = match body {
            Body::None => request,
            Body::Json(json) => request.json(json),
            Body::File {
                payload,
                name,
                mime,
                bytes,
            } => {
                let file = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(name.clone())
                    .mime_str(mime)
                    .unwrap_or_else(|_| reqwest::multipart::Part::bytes(bytes.clone()));
                let form = reqwest::multipart::Form::new()
                    .text("payload_json", payload.to_string())
                    .part("files[0]", file);
                request.multipart(form)
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Attempt::Unreachable(e.to_string()),
            Err(e) => return Attempt::Lost(e.without_url().to_string()),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() {
            return Attempt::Sent(json);
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Attempt::Wait(self.rate_limited(&headers, &json));
        }
        let why = format!(
            "{} {} (code {})",
            status.as_u16(),
            json["message"].as_str().unwrap_or("(no message)"),
            json["code"].as_i64().unwrap_or(0)
        );
        if status.is_client_error() {
            tracing::warn!(status = status.as_u16(), error = %why, "Discord refused a request");
            Attempt::Refused(why)
        } else {
            // A server error on a post may still have posted it.
            Attempt::Lost(why)
        }
    }

    /// How long a 429 asks to wait; a global one holds every request meanwhile.
    fn rate_limited(&self, headers: &reqwest::header::HeaderMap, json: &Value) -> Duration {
        let wait = crate::retry_after::from_headers(headers)
            .or_else(|| {
                json["retry_after"]
                    .as_f64()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
            })
            .unwrap_or(Duration::from_secs(1));
        let global = headers.contains_key("x-ratelimit-global") || json["global"] == true;
        if global {
            let until = Instant::now() + wait;
            let mut held = self.global_until.lock().unwrap_or_else(|e| e.into_inner());
            *held = Some(held.map_or(until, |h| h.max(until)));
        }
        tracing::info!(?wait, global, "Discord asked to slow down");
        wait
    }
}
