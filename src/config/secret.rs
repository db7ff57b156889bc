//! Secrets read from the environment, wrapped so `Debug` and `Display` never print them.

use std::fmt;

/// A secret value. Its `Debug` shows only whether it is set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Option<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        Secret((!value.is_empty()).then_some(value))
    }

    pub fn is_set(&self) -> bool {
        self.0.is_some()
    }

    /// The plain value, for the one place that must send it.
    pub fn expose(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_set() {
            "Secret(***)"
        } else {
            "Secret(unset)"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("sk-very-secret");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(&s)).contains("very"));
        assert_eq!(format!("{:?}", Secret::new("")), "Secret(unset)");
    }
}
