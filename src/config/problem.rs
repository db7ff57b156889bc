//! What loading a config reports: problems that stop it, warnings that do not.

use std::borrow::Cow;
use std::fmt;

/// `text` on one line: line breaks, tabs and other control characters written as escapes
/// (`\n`), so that text from a file or a person never splits a message in two.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| match c.is_control() {
                true => c.escape_default().to_string(),
                false => c.to_string(),
            })
            .collect(),
    )
}

/// One thing wrong with the configuration, located in its file; shown on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, or `environment` for a variable.
    pub origin: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (origin, message) = (one_line(&self.origin), one_line(&self.message));
        if self.line == 0 {
            write!(f, "{origin}: {message}")
        } else {
            write!(f, "{origin}:{}: {message}", self.line)
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
        match self.origin.as_deref().map(one_line) {
            Some(origin) if self.line > 0 => write!(f, "{origin}:{}: ", self.line)?,
            Some(origin) => write!(f, "{origin}: ")?,
            None => {}
        }
        write!(f, "warning: {}", one_line(&self.message))
    }
}

/// Every problem found while loading; loading fails if there is at least one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", .problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}
