//! What `/readyz` reports: the store and every long-running part (each channel, the
//! scheduler) records whether it is connected, and when it last heard from its platform.
//!
//! Each part says how it goes stale: a long-polling channel that has not completed a poll
//! for a while is down, while a webhook channel is simply quiet when nobody writes, so it
//! never goes stale on silence alone.

use crate::clock::Clock;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Component {
    ok: bool,
    detail: String,
    last_ok: Option<Instant>,
    /// Down when nothing was heard for this long; `None`: silence is not a fault.
    stale_after: Option<Duration>,
    /// Reported, but a failure does not make the process unready (an integration).
    optional: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComponentReport {
    pub ok: bool,
    pub detail: String,
    pub seconds_since_ok: Option<u64>,
    /// Its failure leaves the process ready: only what depends on it stops working.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
}

/// Shared by every part; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    components: Arc<RwLock<BTreeMap<String, Component>>>,
    clock: Clock,
}

impl Health {
    pub fn with_clock(clock: Clock) -> Health {
        Health {
            components: Default::default(),
            clock,
        }
    }

    /// Registers a part as not yet connected. `stale_after`: how long it may go unheard
    /// before it counts as down (`None` when silence is normal, e.g. a webhook).
    pub fn register(&self, name: &str, stale_after: Option<Duration>) {
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        map.insert(
            name.to_string(),
            Component {
                ok: false,
                detail: "starting".into(),
                last_ok: None,
                stale_after,
                optional: false,
            },
        );
    }

    /// Registers a part whose failure is reported but leaves the process ready (an
    /// integration: only the requests that need it fail).
    pub fn register_optional(&self, name: &str) {
        self.register(name, None);
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get_mut(name) {
            c.optional = true;
        }
    }

    pub fn ok(&self, name: &str, detail: &str) {
        self.set(name, true, detail);
    }

    pub fn failing(&self, name: &str, detail: &str) {
        self.set(name, false, detail);
    }

    fn set(&self, name: &str, ok: bool, detail: &str) {
        let now = self.clock.instant();
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get_mut(name) {
            c.ok = ok;
            if c.detail != detail {
                c.detail = detail.to_string();
            }
            if ok {
                c.last_ok = Some(now);
            }
        }
    }

    /// Each part's state; a part that has not been heard from in time is down.
    pub fn report(&self) -> BTreeMap<String, ComponentReport> {
        let now = self.clock.instant();
        let map = self.components.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(name, c)| {
                let since = c.last_ok.map(|at| now.saturating_duration_since(at));
                let fresh = match (since, c.stale_after) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(since), Some(limit)) => since <= limit,
                };
                let report = ComponentReport {
                    ok: c.ok && fresh,
                    detail: if c.ok && !fresh {
                        "no contact for too long".into()
                    } else {
                        c.detail.clone()
                    },
                    seconds_since_ok: since.map(|s| s.as_secs()),
                    optional: c.optional,
                };
                (name.clone(), report)
            })
            .collect()
    }

    pub fn all_ok(&self) -> bool {
        self.report().values().all(|r| r.ok || r.optional)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_down_until_it_reports_and_when_it_goes_quiet() {
        let clock = Clock::adjustable();
        let health = Health::with_clock(clock.clone());
        assert!(health.all_ok(), "nothing registered");
        health.register("chat", Some(Duration::from_secs(85)));
        assert!(!health.all_ok());
        health.ok("chat", "polling");
        assert!(health.all_ok());
        clock.advance(Duration::from_secs(86));
        let report = health.report();
        assert!(!report["chat"].ok);
        assert_eq!(report["chat"].detail, "no contact for too long");
        assert_eq!(report["chat"].seconds_since_ok, Some(86));
    }

    #[test]
    fn an_optional_part_that_is_down_is_reported_but_leaves_the_process_ready() {
        let health = Health::with_clock(Clock::adjustable());
        health.register_optional("mcp:sheets");
        health.failing("mcp:sheets", "connection refused");
        let report = health.report();
        assert!(!report["mcp:sheets"].ok && report["mcp:sheets"].optional);
        assert_eq!(report["mcp:sheets"].detail, "connection refused");
        assert!(health.all_ok());
        health.register("chat", None);
        assert!(!health.all_ok(), "a required part still counts");
    }

    #[test]
    fn a_part_without_a_staleness_limit_stays_up_through_silence() {
        let clock = Clock::adjustable();
        let health = Health::with_clock(clock.clone());
        health.register("webhook", None);
        assert!(!health.all_ok(), "down until it has been set up");
        health.ok("webhook", "webhook registered");
        clock.advance(Duration::from_secs(2 * 3600));
        assert!(health.all_ok());
        health.failing("webhook", "registration lost");
        assert!(!health.all_ok());
    }
}
