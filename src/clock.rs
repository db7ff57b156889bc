//! What time it is, as a value: parts that judge time (expiry, readiness) take a [`Clock`]
//! so tests move time forward instead of sleeping.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The system clock, or the system clock moved forward by an adjustable offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` for the plain system clock.
    ahead_ms: Option<Arc<AtomicU64>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that starts at the system time and can be moved forward with [`advance`].
    ///
    /// [`advance`]: Clock::advance
    pub fn adjustable() -> Clock {
        Clock {
            ahead_ms: Some(Arc::new(AtomicU64::new(0))),
        }
    }

    /// Moves an adjustable clock (and every clone of it) forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(ahead) = &self.ahead_ms {
            let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
            ahead.fetch_add(ms, Ordering::SeqCst);
        }
    }

    fn ahead(&self) -> Duration {
        self.ahead_ms.as_ref().map_or(Duration::ZERO, |a| {
            Duration::from_millis(a.load(Ordering::SeqCst))
        })
    }

    /// Wall-clock time.
    pub fn now(&self) -> DateTime<Utc> {
        let ahead = chrono::Duration::from_std(self.ahead()).unwrap_or(chrono::Duration::zero());
        Utc::now() + ahead
    }

    /// Monotonic time, for measuring how long ago something happened.
    pub fn instant(&self) -> Instant {
        Instant::now() + self.ahead()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adjustable_clock_moves_every_clone_and_the_system_clock_does_not_move() {
        let clock = Clock::adjustable();
        let copy = clock.clone();
        let before = clock.now();
        copy.advance(Duration::from_secs(3600));
        assert!(clock.now() - before >= chrono::Duration::minutes(60));
        assert!(clock.instant() >= Instant::now() + Duration::from_secs(3599));

        let system = Clock::system();
        system.advance(Duration::from_secs(3600));
        assert!(system.now() - Utc::now() < chrono::Duration::seconds(5));
    }
}
