//! The per-minute request budget of [`super::FakeOnlyFans`], reported the way
//! OnlyFansAPI reports it: `x-rate-limit-limit-minute` and
//! `x-rate-limit-remaining-minute` headers, the same numbers in
//! `_meta._rate_limits` (`limit_minute`, `remaining_minute`) of JSON bodies that
//! have a `_meta`, and once the budget is spent a 429 with `Retry-After` (whole
//! seconds until the window resets).
//!
//! A window begins with the first request after the previous one ended and lasts
//! the configured length (a minute unless a test shortens it).

use std::time::{Duration, Instant};

use axum::http::HeaderValue;
use axum::response::Response;
use serde_json::{json, Value};

/// Requests a minute the fake allows unless a test sets another budget (the
/// Basic plan).
pub const DEFAULT_LIMIT: u64 = 1000;

/// How the budget judged one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed { limit: u64, remaining: u64 },
    Refused { limit: u64, retry_after_secs: u64 },
}

/// The counter of the current window.
#[derive(Debug)]
pub struct RateWindow {
    limit: u64,
    length: Duration,
    started: Option<Instant>,
    counted: u64,
    /// Requests refused with 429 because the budget was spent.
    pub refused: u64,
}

impl Default for RateWindow {
    fn default() -> Self {
        RateWindow::new(DEFAULT_LIMIT, Duration::from_secs(60))
    }
}

impl RateWindow {
    pub fn new(limit: u64, length: Duration) -> RateWindow {
        RateWindow {
            limit,
            length,
            started: None,
            counted: 0,
            refused: 0,
        }
    }

    /// Counts one request arriving at `now`.
    pub fn count(&mut self, now: Instant) -> Verdict {
        let started = match self.started {
            Some(at) if now < at + self.length => at,
            _ => {
                self.counted = 0;
                *self.started.insert(now)
            }
        };
        self.counted += 1;
        if self.counted <= self.limit {
            return Verdict::Allowed {
                limit: self.limit,
                remaining: self.limit - self.counted,
            };
        }
        self.refused += 1;
        let left = (started + self.length).saturating_duration_since(now);
        Verdict::Refused {
            limit: self.limit,
            retry_after_secs: left.as_secs() + u64::from(left.subsec_nanos() > 0),
        }
    }
}

impl Verdict {
    fn numbers(self) -> (u64, u64) {
        match self {
            Verdict::Allowed { limit, remaining } => (limit, remaining),
            Verdict::Refused { limit, .. } => (limit, 0),
        }
    }

    /// Writes `_meta._rate_limits` into a body that has a `_meta` object.
    pub fn stamp_body(self, body: &mut Value) {
        let (limit, remaining) = self.numbers();
        if let Some(meta) = body.get_mut("_meta").and_then(Value::as_object_mut) {
            meta.insert(
                "_rate_limits".into(),
                json!({ "limit_minute": limit, "remaining_minute": remaining }),
            );
        }
    }

    /// Adds the rate-limit headers (and `Retry-After` when refused).
    pub fn stamp_headers(self, response: &mut Response) {
        let (limit, remaining) = self.numbers();
        let headers = response.headers_mut();
        headers.insert("x-rate-limit-limit-minute", HeaderValue::from(limit));
        headers.insert(
            "x-rate-limit-remaining-minute",
            HeaderValue::from(remaining),
        );
        if let Verdict::Refused {
            retry_after_secs, ..
        } = self
        {
            headers.insert("retry-after", HeaderValue::from(retry_after_secs));
        }
    }
}
