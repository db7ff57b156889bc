//! What loading a config reports: problems that stop it, warnings that do not.

use std::fmt;

/// One thing wrong with the configuration, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, or `environment` for a variable.
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.origin, self.message)
        } else {
            write!(f, "{}:{}: {}", self.origin, self.line, self.message)
        }
    }
}

/// Something that limits what the bot can do without stopping it, printed as
/// `file:line: warning: …` (or `warning: …` when it has no place in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub origin: Option<String>,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.origin {
            Some(origin) if self.line > 0 => write!(f, "{origin}:{}: ", self.line)?,
            Some(origin) => write!(f, "{origin}: ")?,
            None => {}
        }
        write!(f, "warning: {}", self.message)
    }
}

/// Every problem found while loading; loading fails if there is at least one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}
