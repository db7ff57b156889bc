//! The HTTP client for OnlyFansAPI: bearer auth, the configured rate, the budget the API
//! reports (see [`super::rate_budget`]), retries with backoff that honour `Retry-After`,
//! and the response envelope.

use super::catalog::{Effect, Endpoint, Method, PreparedRequest, ValidationError};
use super::rate_budget::{RateBudget, RateReport, Reservation, Waits};
use crate::config::{Config, Secret};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("the OnlyFansAPI key is not set: put it in the environment variable `ONLYFANSAPI_API_KEY` and restart fanops")]
    NoApiKey,
    /// 401: the key is wrong, revoked or lacks access; waiting will not fix it.
    #[error("OnlyFansAPI refused the key in `ONLYFANSAPI_API_KEY` ({status}: {message}); put a valid key from the OnlyFansAPI.com dashboard in `ONLYFANSAPI_API_KEY` and restart fanops")]
    KeyRefused { status: u16, message: String },
    #[error("OnlyFansAPI answered {status}{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("OnlyFansAPI kept answering {status} after {attempts} attempts: {message}")]
    GaveUp {
        status: u16,
        attempts: u32,
        message: String,
    },
    #[error("OnlyFansAPI could not be reached after {attempts} attempts: {message}")]
    Unreachable { attempts: u32, message: String },
    #[error("OnlyFansAPI sent a response that is not JSON: {0}")]
    NotJson(String),
}

impl ApiError {
    /// The key is missing or refused: nothing OnlyFansAPI does will work until it is fixed.
    pub fn is_key_problem(&self) -> bool {
        matches!(self, ApiError::NoApiKey | ApiError::KeyRefused { .. })
    }
}

/// A successful response with the envelope taken apart.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    /// `data` when the body has it, else the whole body (bare arrays, analytics).
    pub data: Value,
    pub pagination: Option<Value>,
    /// `_meta._credits.used` (0 when absent).
    pub credits_used: f64,
    /// The request was answered from an earlier one with the same idempotency key.
    pub replayed: bool,
    /// The per-minute limit and what is left of it (headers, else `_meta._rate_limits`).
    pub rate_limits: RateReport,
}

pub struct OnlyFansClient {
    http: reqwest::Client,
    base_url: String,
    key: Secret,
    /// `[onlyfans] requests_per_minute`.
    limiter: DefaultDirectRateLimiter,
    limiter_waits: AtomicU64,
    /// What the API reports is left of its per-minute limit.
    budget: RateBudget,
    max_retries: u32,
}

impl std::fmt::Debug for OnlyFansClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlyFansClient")
            .field("base_url", &self.base_url)
            .field("key", &self.key)
            .finish()
    }
}

/// The longest a `Retry-After` is honoured before giving up instead.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

impl OnlyFansClient {
    pub fn new(config: &Config) -> Result<Self, reqwest::Error> {
        let rpm = NonZeroU32::new(config.onlyfans.requests_per_minute.max(1))
            .expect("max(1) is non-zero");
        let http = reqwest::Client::builder()
            .timeout(config.onlyfans_timeout())
            .user_agent(concat!("fanops/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(OnlyFansClient {
            http,
            base_url: config.onlyfans.base_url.trim_end_matches('/').to_string(),
            key: config.secrets.onlyfansapi_api_key.clone(),
            limiter: RateLimiter::direct(Quota::per_minute(rpm)),
            limiter_waits: AtomicU64::new(0),
            budget: RateBudget::new(config.onlyfans_rate_limit_window()),
            max_retries: config.onlyfans.max_retries,
        })
    }

    /// How often requests have waited, for the configured rate and for the API's budget.
    pub fn waits(&self) -> Waits {
        Waits {
            configured_rate: self.limiter_waits.load(Ordering::Relaxed),
            reported_budget: self.budget.waits(),
        }
    }

    /// Waits for the configured rate, then for a place in the API's budget.
    async fn ready(&self) -> Reservation<'_> {
        if self.limiter.check().is_err() {
            self.limiter_waits.fetch_add(1, Ordering::Relaxed);
            self.limiter.until_ready().await;
        }
        self.budget.reserve().await
    }

    /// Sends a validated request. Writes must carry an idempotency key, so that a retry
    /// after a lost response can never act twice; reads are retried freely.
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        request: &PreparedRequest,
        idempotency_key: Option<&str>,
    ) -> Result<ApiResponse, ApiError> {
        let key = self.key.expose().ok_or(ApiError::NoApiKey)?;
        let retry_allowed = endpoint.effect == Effect::Read || idempotency_key.is_some();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let reservation = self.ready().await;
            let (outcome, report) = self.attempt(key, request, idempotency_key).await;
            let metrics = crate::metrics::get();
            let (delay, failure) = match outcome {
                Ok(response) => {
                    reservation.settle(report, true);
                    crate::metrics::count(&metrics.api_requests, "ok");
                    metrics.api_credits.inc_by(response.credits_used);
                    return Ok(response);
                }
                Err(Attempt::Final(e)) => {
                    reservation.settle(report, false);
                    crate::metrics::count(&metrics.api_requests, "error");
                    return Err(e);
                }
                Err(Attempt::Retry { after, error }) => {
                    crate::metrics::count(&metrics.api_requests, "retry");
                    let delay = after.unwrap_or_else(|| backoff(attempt));
                    if error.is_rate_limited() {
                        reservation.throttled(delay.min(MAX_RETRY_AFTER));
                    } else {
                        reservation.settle(report, false);
                    }
                    (delay, error)
                }
            };
            let exhausted = attempt > self.max_retries || !retry_allowed;
            if exhausted || delay > MAX_RETRY_AFTER {
                return Err(failure.give_up(attempt));
            }
            tracing::warn!(endpoint = %endpoint.id, attempt, ?delay, "OnlyFansAPI call failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// One exchange: its outcome, and what the response said about the rate limit.
    async fn attempt(
        &self,
        key: &str,
        request: &PreparedRequest,
        idem: Option<&str>,
    ) -> (Result<ApiResponse, Attempt>, RateReport) {
        let response = match self.build(key, request, idem).send().await {
            Ok(response) => response,
            Err(e) => return (Err(Attempt::network(&e)), RateReport::default()),
        };
        let status = response.status().as_u16();
        let header_report = RateReport::from_headers(response.headers());
        let retry_after = crate::retry_after::from_headers(response.headers());
        let replayed = response
            .headers()
            .get("Idempotent-Replayed")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
        let text = match response.text().await {
            Ok(text) => text,
            Err(e) => return (Err(Attempt::network(&e)), header_report),
        };
        let mut outcome = interpret(status, retry_after, replayed, &text);
        let report = match &mut outcome {
            Ok(response) => {
                response.rate_limits = header_report.or(response.rate_limits);
                response.rate_limits
            }
            Err(_) if header_report.remaining.is_none() => {
                let body: Value = serde_json::from_str(&text).unwrap_or_default();
                header_report.or(RateReport::from_envelope(&body))
            }
            Err(_) => header_report,
        };
        (outcome, report)
    }

    fn build(
        &self,
        key: &str,
        request: &PreparedRequest,
        idem: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.base_url, request.path);
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let mut builder = self
            .http
            .request(method, &url)
            .bearer_auth(key)
            .header("Accept", "application/json");
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some(body) = &request.body {
            builder = builder.json(body);
        }
        if let Some(idem) = idem {
            builder = builder.header("Idempotency-Key", idem);
        }
        builder
    }
}

/// What a response's status and body mean for the request.
fn interpret(
    status: u16,
    retry_after: Option<Duration>,
    replayed: bool,
    text: &str,
) -> Result<ApiResponse, Attempt> {
    if status == 429 || status >= 500 {
        let message = error_message(text);
        return Err(Attempt::Retry {
            after: retry_after,
            error: Failure::Status { status, message },
        });
    }
    // 403 can be one endpoint or account the key may not use; 401 is the key itself.
    if status == 401 {
        let (_, message) = error_parts(text);
        return Err(Attempt::Final(ApiError::KeyRefused { status, message }));
    }
    if !(200..300).contains(&status) {
        let (code, message) = error_parts(text);
        return Err(Attempt::Final(ApiError::Status {
            status,
            code,
            message,
        }));
    }
    parse_envelope(text, replayed).map_err(Attempt::Final)
}

enum Attempt {
    Retry {
        after: Option<Duration>,
        error: Failure,
    },
    Final(ApiError),
}

impl Attempt {
    fn network(e: &reqwest::Error) -> Attempt {
        Attempt::Retry {
            after: None,
            error: Failure::Network(describe_reqwest(e)),
        }
    }
}

enum Failure {
    Status { status: u16, message: String },
    Network(String),
}

impl Failure {
    fn is_rate_limited(&self) -> bool {
        matches!(self, Failure::Status { status: 429, .. })
    }

    fn give_up(self, attempts: u32) -> ApiError {
        match self {
            Failure::Status { status, message } => ApiError::GaveUp {
                status,
                attempts,
                message,
            },
            Failure::Network(message) => ApiError::Unreachable { attempts, message },
        }
    }
}

/// Exponential backoff with jitter: ~0.5 s, 1 s, 2 s, 4 s … capped at 16 s.
fn backoff(attempt: u32) -> Duration {
    let base = 500u64.saturating_mul(1 << attempt.saturating_sub(1).min(5));
    let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 250;
    Duration::from_millis(base.min(16_000) + jitter)
}

fn parse_envelope(text: &str, replayed: bool) -> Result<ApiResponse, ApiError> {
    if text.trim().is_empty() {
        return Ok(ApiResponse {
            data: Value::Null,
            pagination: None,
            credits_used: 0.0,
            replayed,
            rate_limits: RateReport::default(),
        });
    }
    let mut body: Value = serde_json::from_str(text)
        .map_err(|_| ApiError::NotJson(text.chars().take(200).collect()))?;
    let credits_used = body
        .pointer("/_meta/_credits/used")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    let rate_limits = RateReport::from_envelope(&body);
    let (data, pagination) = match body.as_object_mut() {
        Some(map) if map.contains_key("data") => (
            map.remove("data").unwrap_or_default(),
            map.remove("_pagination"),
        ),
        Some(map) => {
            map.remove("_meta");
            let pagination = map.remove("_pagination");
            (body, pagination)
        }
        None => (body, None),
    };
    Ok(ApiResponse {
        data,
        pagination,
        credits_used,
        replayed,
        rate_limits,
    })
}

fn error_parts(text: &str) -> (Option<String>, String) {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let code = body.get("code").and_then(Value::as_str).map(str::to_string);
    (code, error_message(text))
}

fn error_message(text: &str) -> String {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    ["message", "error"]
        .iter()
        .find_map(|k| body.get(k).and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(200).collect())
}

fn describe_reqwest(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out".into()
    } else if e.is_connect() {
        "the connection failed".into()
    } else {
        // Keep messages short and uniform; the URL adds nothing for a person.
        let text = e.to_string();
        text.split(" for url").next().unwrap_or(&text).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_variants() {
        let r = parse_envelope(
            r#"{"data":{"a":1},"_pagination":{"next_page":null},"_meta":{"_credits":{"used":2}}}"#,
            false,
        )
        .unwrap();
        assert_eq!(r.data["a"], 1);
        assert_eq!(r.credits_used, 2.0);
        assert!(r.rate_limits.is_empty());
        let limited = parse_envelope(
            r#"{"data":[],"_meta":{"_rate_limits":{"limit_minute":1000,"remaining_minute":998}}}"#,
            false,
        )
        .unwrap();
        assert_eq!(
            (limited.rate_limits.limit, limited.rate_limits.remaining),
            (Some(1000), Some(998))
        );
        assert!(r.pagination.is_some());
        let bare = parse_envelope(r#"[{"id":"acct_1"}]"#, false).unwrap();
        assert_eq!(bare.data[0]["id"], "acct_1");
        let unwrapped = parse_envelope(
            r#"{"total_amount":5,"_meta":{"_credits":{"used":1}}}"#,
            true,
        )
        .unwrap();
        assert_eq!(unwrapped.data, serde_json::json!({"total_amount":5}));
        assert!(unwrapped.replayed);
        assert!(parse_envelope("<html>", false).is_err());
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("Retry-After", "2".parse().unwrap());
        assert_eq!(
            crate::retry_after::from_headers(&h),
            Some(Duration::from_secs(2))
        );
        assert!(backoff(1) >= Duration::from_millis(500));
        assert!(backoff(30) <= Duration::from_millis(16_250));
    }
}
