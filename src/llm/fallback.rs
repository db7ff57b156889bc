//! Which model answers for a model with fallbacks: each switch (to a fallback, to the next
//! one, back to the model itself) is logged once, not once per call.

use super::LlmError;
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub(super) struct Switches(Mutex<HashMap<String, String>>);

impl Switches {
    /// `answered` answered a request made to `first`; `failure` is why `first` did not.
    pub(super) fn answered(&self, first: &str, answered: &str, failure: Option<&LlmError>) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let before = now.get(first).map(String::as_str).unwrap_or(first);
        if before == answered {
            return;
        }
        match failure {
            Some(why) => tracing::warn!(
                model = %first,
                answered_by = %answered,
                reason = %why,
                "model `{first}` is failing; its fallback `{answered}` answers until it recovers"
            ),
            None => tracing::info!(model = %first, "model `{first}` answers again"),
        }
        now.insert(first.to_string(), answered.to_string());
    }

    /// Who answered `first`'s last request (itself unless a fallback did).
    #[cfg(test)]
    pub(super) fn current(&self, first: &str) -> String {
        let now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        now.get(first).cloned().unwrap_or_else(|| first.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_who_answers_and_switches_back() {
        let switches = Switches::default();
        assert_eq!(switches.current("main"), "main");
        let down = LlmError::Unavailable {
            provider: "p".into(),
            message: "503".into(),
        };
        switches.answered("main", "spare", Some(&down));
        assert_eq!(switches.current("main"), "spare");
        switches.answered("main", "main", None);
        assert_eq!(switches.current("main"), "main");
    }
}
