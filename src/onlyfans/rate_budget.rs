//! The per-minute request budget OnlyFansAPI reports on every response, kept so that
//! concurrent requests never spend more than is left.
//!
//! The API says its limits reset every minute, but not when its minute began. So the
//! budget is learnt per window: the first request of a window goes alone, and its
//! response (`x-rate-limit-*-minute` headers, or `_meta._rate_limits`) says what is
//! left, less every request of ours the API may count after it (those in flight when
//! it was sent). The API counted it before answering, so its window began no later
//! than that answer arrived: a minute after the answer, the window has certainly reset.
//!
//! Within a window every request reserves a place before it is sent, and later reports
//! can only lower what is left (another user of the key spends the same budget), never
//! raise it: a report that looks higher may come from the API's next window, which the
//! requests of this one may already be spending. When less than a tenth of the limit is
//! left, requests are spread over the rest of the window; when only the headroom is
//! left, they wait for the next window. A 429 says how long to wait (`Retry-After`),
//! and then every request waits and the budget is learnt anew.

use reqwest::header::HeaderMap;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The header names of the response-structure page of the OnlyFansAPI docs.
const LIMIT_HEADER: &str = "x-rate-limit-limit-minute";
const REMAINING_HEADER: &str = "x-rate-limit-remaining-minute";

/// A share of the reported limit left unspent, for other users of the same key.
const HEADROOM_SHARE: f64 = 0.01;
/// Below this share of the limit, requests are spread over the rest of the window.
const SLOW_DOWN_SHARE: f64 = 0.1;

/// What one response said about the per-minute budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateReport {
    /// Requests allowed per minute.
    pub limit: Option<u64>,
    /// Requests left in the current minute.
    pub remaining: Option<u64>,
}

impl RateReport {
    /// `x-rate-limit-limit-minute` and `x-rate-limit-remaining-minute`.
    pub fn from_headers(headers: &HeaderMap) -> RateReport {
        let number = |name: &str| {
            let text = headers.get(name)?.to_str().ok()?.trim();
            text.parse::<i64>().ok().map(|n| n.max(0) as u64)
        };
        RateReport {
            limit: number(LIMIT_HEADER),
            remaining: number(REMAINING_HEADER),
        }
    }

    /// `_meta._rate_limits.limit_minute` and `remaining_minute` of a response body.
    pub fn from_envelope(body: &Value) -> RateReport {
        let number = |name: &str| {
            let value = body.pointer(&format!("/_meta/_rate_limits/{name}"))?;
            let n = value
                .as_i64()
                .or_else(|| value.as_f64().map(|f| f as i64))
                .or_else(|| value.as_str()?.trim().parse().ok())?;
            Some(n.max(0) as u64)
        };
        RateReport {
            limit: number("limit_minute"),
            remaining: number("remaining_minute"),
        }
    }

    /// This report, with what it lacks taken from `other`.
    pub fn or(self, other: RateReport) -> RateReport {
        RateReport {
            limit: self.limit.or(other.limit),
            remaining: self.remaining.or(other.remaining),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.limit.is_none() && self.remaining.is_none()
    }
}

/// How often requests had to wait, by what made them wait.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Waits {
    /// For the configured `requests_per_minute`.
    pub configured_rate: u64,
    /// For the budget the API reported (slowing down, a reset, a `Retry-After`).
    pub reported_budget: u64,
}

/// The budget the API reports, shared by every request of one client.
pub struct RateBudget {
    window: Duration,
    state: Mutex<State>,
    changed: Notify,
    waits: AtomicU64,
}

#[derive(Debug, Default)]
struct State {
    /// Counts windows (and 429s); a report counts only in the window it was sent in.
    epoch: u64,
    /// Requests we may still send in this window; None until a report says.
    allowance: Option<i64>,
    /// The last reported limit per minute.
    limit: Option<u64>,
    /// The latest the API's current window can have begun: when the first report of
    /// this window arrived.
    window_start: Option<Instant>,
    /// A request is out alone to learn the budget.
    probing: bool,
    /// The API answered without reporting any limit: nothing to follow.
    unreported: bool,
    /// After a 429: nothing is sent before this.
    paused_until: Option<Instant>,
    last_send: Option<Instant>,
    sent: u64,
    settled: u64,
}

/// What a request must wait for before it may be sent.
enum Wait {
    Until(Instant),
    Change,
}

impl RateBudget {
    /// `window`: how long the API's budget lasts before it resets (a minute).
    pub fn new(window: Duration) -> RateBudget {
        RateBudget {
            window,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            waits: AtomicU64::new(0),
        }
    }

    /// How many reservations had to wait.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until a request may be sent, and counts it as sent.
    pub async fn reserve(&self) -> Reservation<'_> {
        let mut waited = false;
        loop {
            // Created before the state is read, so a change in between is not missed.
            let changed = self.changed.notified();
            let wait = {
                let mut state = self.lock();
                match state.next(Instant::now(), self.window) {
                    Ok(probe) => {
                        if waited {
                            self.waits.fetch_add(1, Ordering::Relaxed);
                        }
                        return state.send(self, probe);
                    }
                    Err(wait) => wait,
                }
            };
            waited = true;
            match wait {
                Wait::Change => changed.await,
                Wait::Until(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at) => {}
                        _ = changed => {}
                    }
                }
            }
        }
    }
}

impl State {
    /// May a request go now (and is it the one that learns the budget), or what must it
    /// wait for?
    fn next(&mut self, now: Instant, window: Duration) -> Result<bool, Wait> {
        if let Some(until) = self.paused_until {
            if now < until {
                return Err(Wait::Until(until));
            }
            self.paused_until = None;
        }
        if self.unreported {
            return Ok(false);
        }
        if self.window_start.is_some_and(|start| now >= start + window) {
            self.new_window();
        }
        let (Some(allowance), Some(start)) = (self.allowance, self.window_start) else {
            return if self.probing {
                Err(Wait::Change)
            } else {
                Ok(true)
            };
        };
        let limit = self.limit.unwrap_or(0) as f64;
        let spendable = allowance - (limit * HEADROOM_SHARE).floor() as i64;
        let window_end = start + window;
        if spendable <= 0 {
            return Err(Wait::Until(window_end));
        }
        if (spendable as f64) < limit * SLOW_DOWN_SHARE {
            // Spread what is left evenly over the rest of the window.
            let spacing = (window_end - now) / spendable as u32;
            if let Some(at) = self.last_send.map(|last| last + spacing) {
                if now < at {
                    return Err(Wait::Until(at));
                }
            }
        }
        Ok(false)
    }

    /// Forgets the budget: the next request learns it anew.
    fn new_window(&mut self) {
        self.epoch += 1;
        self.allowance = None;
        self.window_start = None;
    }

    fn send<'a>(&mut self, budget: &'a RateBudget, probe: bool) -> Reservation<'a> {
        self.last_send = Some(Instant::now());
        if let Some(allowance) = self.allowance.as_mut() {
            *allowance -= 1;
        }
        self.probing |= probe;
        let reservation = Reservation {
            budget,
            epoch: self.epoch,
            sent_before: self.sent,
            unsettled_before: self.sent - self.settled,
            probe,
            settled: false,
        };
        self.sent += 1;
        reservation
    }

    fn learn(&mut self, report: RateReport, others: u64) {
        let Some(remaining) = report.remaining else {
            return;
        };
        self.unreported = false;
        self.limit = report.limit.or(self.limit);
        let floor = remaining as i64 - others as i64;
        self.allowance = Some(self.allowance.map_or(floor, |a| a.min(floor)));
        self.window_start.get_or_insert_with(Instant::now);
    }
}

/// A request's place in the budget; settle it with what its response reported.
/// Dropped unsettled (no response), it stays spent.
pub struct Reservation<'a> {
    budget: &'a RateBudget,
    epoch: u64,
    sent_before: u64,
    unsettled_before: u64,
    probe: bool,
    settled: bool,
}

impl Reservation<'_> {
    /// The response came, with this report (empty when it had none).
    pub fn settle(mut self, report: RateReport, success: bool) {
        let epoch = self.epoch;
        self.finish(|state, others| {
            if state.epoch != epoch {
                return;
            }
            if report.remaining.is_some() {
                state.learn(report, others);
            } else if success && report.is_empty() && state.allowance.is_none() {
                state.unreported = true;
            }
        });
    }

    /// The API answered 429: nobody sends before `retry_after` has passed, and then the
    /// budget is learnt anew.
    pub fn throttled(mut self, retry_after: Duration) {
        self.finish(|state, _| {
            let until = Instant::now() + retry_after;
            state.paused_until = Some(state.paused_until.map_or(until, |u| u.max(until)));
            state.unreported = false;
            state.new_window();
        });
    }

    fn finish(&mut self, update: impl FnOnce(&mut State, u64)) {
        if std::mem::replace(&mut self.settled, true) {
            return;
        }
        {
            let mut state = self.budget.lock();
            // Ours that the API may count after this one: in flight when it was sent,
            // or sent since.
            let sent_since = state.sent - self.sent_before - 1;
            update(&mut state, self.unsettled_before + sent_since);
            state.settled += 1;
            if self.probe {
                state.probing = false;
            }
        }
        self.budget.changed.notify_waiters();
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.finish(|_, _| {});
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(limit: u64, remaining: u64) -> RateReport {
        RateReport {
            limit: Some(limit),
            remaining: Some(remaining),
        }
    }

    #[test]
    fn reports_come_from_headers_or_the_envelope() {
        let mut headers = HeaderMap::new();
        headers.insert("X-Rate-Limit-Limit-Minute", "1000".parse().unwrap());
        headers.insert("x-rate-limit-remaining-minute", " 998 ".parse().unwrap());
        assert_eq!(RateReport::from_headers(&headers), report(1000, 998));

        let body = serde_json::json!({"data": [], "_meta": {"_rate_limits":
            {"limit_minute": 60, "remaining_minute": "59", "limit_day": null}}});
        assert_eq!(RateReport::from_envelope(&body), report(60, 59));

        let negative: HeaderMap = [(REMAINING_HEADER.parse().unwrap(), "-3".parse().unwrap())]
            .into_iter()
            .collect();
        let partial = RateReport::from_headers(&negative);
        assert_eq!(partial.remaining, Some(0));
        assert_eq!(partial.or(report(5, 4)), report(5, 0));
        assert!(RateReport::from_envelope(&serde_json::json!([1, 2])).is_empty());
        assert!(RateReport::from_headers(&HeaderMap::new()).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn one_request_learns_the_budget_before_others_go() {
        let budget = RateBudget::new(Duration::from_secs(60));
        let probe = budget.reserve().await;
        let waiting = tokio::time::timeout(Duration::from_secs(1), budget.reserve()).await;
        assert!(
            waiting.is_err(),
            "a second request waits for the first report"
        );
        probe.settle(report(10, 9), true);
        let a = budget.reserve().await;
        let b = budget.reserve().await;
        drop((a, b));
        assert_eq!(budget.waits(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn an_api_that_reports_nothing_is_not_followed() {
        let budget = RateBudget::new(Duration::from_secs(60));
        budget.reserve().await.settle(RateReport::default(), true);
        let held: Vec<_> = futures::future::join_all((0..50).map(|_| budget.reserve())).await;
        assert_eq!(held.len(), 50);
        assert_eq!(budget.waits(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_requests_never_spend_more_than_was_reported() {
        let budget = RateBudget::new(Duration::from_secs(60));
        let started = Instant::now();
        budget.reserve().await.settle(report(5, 4), true);
        // Four may go at once, even before any of them is answered.
        let four: Vec<_> = futures::future::join_all((0..4).map(|_| budget.reserve())).await;
        assert_eq!(budget.waits(), 0);
        // The fifth waits for the window to reset, a minute after the first request.
        let fifth = budget.reserve();
        tokio::pin!(fifth);
        assert!(tokio::time::timeout(Duration::from_secs(59), &mut fifth)
            .await
            .is_err());
        // Out-of-order answers that claim more than is possible change nothing.
        for (i, r) in four.into_iter().enumerate() {
            r.settle(report(5, 3 - i as u64 % 2), true);
        }
        let fifth = fifth.await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(60) && waited < Duration::from_secs(61),
            "{waited:?}"
        );
        assert_eq!(budget.waits(), 1);
        drop(fifth);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_slow_down_as_the_budget_nears_zero() {
        let budget = RateBudget::new(Duration::from_secs(60));
        let started = Instant::now();
        // 50 left of 1000, 10 of them headroom: 40 to spread over the minute.
        budget.reserve().await.settle(report(1000, 50), true);
        let a = budget.reserve().await;
        let after_a = started.elapsed();
        let b = budget.reserve().await;
        let after_b = started.elapsed();
        let about = |d: Duration, ms: u64| {
            d >= Duration::from_millis(ms) && d <= Duration::from_millis(ms + 5)
        };
        assert!(about(after_a, 1500), "{after_a:?}");
        assert!(about(after_b, 3000), "{after_b:?}");
        assert_eq!(budget.waits(), 2);
        drop((a, b));
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_pauses_everyone_for_its_retry_after() {
        let budget = RateBudget::new(Duration::from_secs(60));
        budget.reserve().await.settle(report(100, 99), true);
        let started = Instant::now();
        budget.reserve().await.throttled(Duration::from_secs(7));
        let next = budget.reserve().await;
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
            "{waited:?}"
        );
        // The budget is learnt anew: the next request goes alone.
        assert!(
            tokio::time::timeout(Duration::from_secs(1), budget.reserve())
                .await
                .is_err()
        );
        next.settle(report(100, 99), true);
        drop(budget.reserve().await);
    }
}
