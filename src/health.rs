//! What `/readyz` reports: the store and every long-running part (each channel) records
//! whether it is connected, and when it last heard from its platform.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Component {
    ok: bool,
    detail: String,
    last_ok: Option<Instant>,
    /// Considered down when nothing was heard for this long.
    stale_after: Duration,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ComponentReport {
    pub ok: bool,
    pub detail: String,
    pub seconds_since_ok: Option<u64>,
}

/// Shared by every part; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Health {
    components: Arc<RwLock<BTreeMap<String, Component>>>,
}

impl Health {
    /// Registers a part as not yet connected.
    pub fn register(&self, name: &str, stale_after: Duration) {
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        map.insert(
            name.to_string(),
            Component {
                ok: false,
                detail: "starting".into(),
                last_ok: None,
                stale_after,
            },
        );
    }

    pub fn ok(&self, name: &str, detail: &str) {
        self.set(name, true, detail);
    }

    pub fn failing(&self, name: &str, detail: &str) {
        self.set(name, false, detail);
    }

    fn set(&self, name: &str, ok: bool, detail: &str) {
        let mut map = self.components.write().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get_mut(name) {
            c.ok = ok;
            c.detail = detail.to_string();
            if ok {
                c.last_ok = Some(Instant::now());
            }
        }
    }

    /// Each part's state; a part that has not been heard from in time is down.
    pub fn report(&self) -> BTreeMap<String, ComponentReport> {
        let map = self.components.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .map(|(name, c)| {
                let fresh = c.last_ok.is_some_and(|at| at.elapsed() <= c.stale_after);
                let report = ComponentReport {
                    ok: c.ok && fresh,
                    detail: if c.ok && !fresh {
                        "no contact for too long".into()
                    } else {
                        c.detail.clone()
                    },
                    seconds_since_ok: c.last_ok.map(|at| at.elapsed().as_secs()),
                };
                (name.clone(), report)
            })
            .collect()
    }

    pub fn all_ok(&self) -> bool {
        self.report().values().all(|r| r.ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_down_until_it_reports_and_when_it_goes_quiet() {
        let health = Health::default();
        assert!(health.all_ok(), "nothing registered");
        health.register("telegram", Duration::from_millis(30));
        assert!(!health.all_ok());
        health.ok("telegram", "polling");
        assert!(health.all_ok());
        std::thread::sleep(Duration::from_millis(50));
        let report = health.report();
        assert!(!report["telegram"].ok);
        assert_eq!(report["telegram"].detail, "no contact for too long");
    }
}
