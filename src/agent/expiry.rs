//! When the expiry sweep of a conversation can be skipped: most turns have nothing
//! pending, and asking the store before each of them is a statement a turn.
//!
//! What every process (replica) knows: an action created at `c` expires at `c + ttl`
//! (the replicas share `[agent] confirm_ttl`). So once the pending actions were read at
//! `r`, an action created after that, here or by any replica, expires at or after
//! `r + ttl`. Until `r + ttl / 2` (half of the TTL left as margin for clocks and for an
//! action being written while they were read), only the conversations read as holding a
//! pending action can have one due. After that, or when such a conversation's earliest
//! expiry has come, the conversation is swept and the pending actions are read again.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// What this process last read of the pending actions.
pub(super) struct ExpiryWatch {
    /// Half the confirmation TTL: how long what was read stays a complete picture.
    margin: Duration,
    read: Mutex<Option<Read>>,
}

struct Read {
    /// When they were read (the agent's clock).
    at: DateTime<Utc>,
    /// Each conversation with an action pending, with its earliest expiry.
    due: HashMap<String, DateTime<Utc>>,
}

impl ExpiryWatch {
    pub(super) fn new(ttl: std::time::Duration) -> Self {
        ExpiryWatch {
            margin: Duration::from_std(ttl / 2).unwrap_or(Duration::zero()),
            read: Mutex::new(None),
        }
    }

    /// Whether an action of `conversation` may have expired by `now` without this
    /// process knowing: if not, the sweep has nothing to do.
    pub(super) fn may_be_due(&self, conversation: &str, now: DateTime<Utc>) -> bool {
        let read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        let Some(read) = read.as_ref() else {
            return true;
        };
        // A clock set back (tests move it) makes the margin meaningless: read again.
        if now < read.at || now >= read.at + self.margin {
            return true;
        }
        read.due.get(conversation).is_some_and(|due| *due <= now)
    }

    /// Keeps what was read at `at`: every conversation's earliest pending expiry.
    pub(super) fn note(&self, at: DateTime<Utc>, pending: Vec<(String, DateTime<Utc>)>) {
        let due = pending.into_iter().collect();
        *self.read.lock().unwrap_or_else(|e| e.into_inner()) = Some(Read { at, due });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minute * 60, 0).unwrap()
    }

    #[test]
    fn sweeps_until_it_has_read() {
        let watch = ExpiryWatch::new(std::time::Duration::from_secs(600));
        assert!(watch.may_be_due("c1", at(0)));
    }

    #[test]
    fn skips_while_nothing_read_can_be_due() {
        let watch = ExpiryWatch::new(std::time::Duration::from_secs(600));
        watch.note(at(0), vec![("c2".into(), at(3))]);
        assert!(!watch.may_be_due("c1", at(1)));
        assert!(!watch.may_be_due("c2", at(2)), "c2's action is not due yet");
        assert!(watch.may_be_due("c2", at(3)), "c2's action is due");
        assert!(!watch.may_be_due("c1", at(4)));
    }

    #[test]
    fn reads_again_after_half_the_ttl_or_when_the_clock_goes_back() {
        let watch = ExpiryWatch::new(std::time::Duration::from_secs(600));
        watch.note(at(10), Vec::new());
        assert!(!watch.may_be_due("c1", at(14)));
        // An action another replica created just after the read expires at 20 at the
        // earliest: by 15 the watch no longer vouches for anything.
        assert!(watch.may_be_due("c1", at(15)));
        assert!(watch.may_be_due("c1", at(9)));
    }
}
