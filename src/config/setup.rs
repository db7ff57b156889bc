//! What `fanops init` needs from a chat platform: the questions to ask (each with its
//! default and its check), the commented `[channels.<name>]` section the answers make,
//! and the secrets to export. Each platform's folder says it; nothing here names one.

/// One question of a platform's set-up.
pub struct SetupQuestion {
    /// The answer's name: `--answer <platform>.<key>=VALUE` on the command line.
    pub key: &'static str,
    /// What is asked, in a short sentence.
    pub ask: &'static str,
    /// The answer when none is given (empty: none needed, or required when `required`).
    pub default: &'static str,
    pub required: bool,
    /// Whether an answer is acceptable; the error says what it must look like.
    pub check: fn(&str) -> Result<(), String>,
}

/// The answer to one question, by its key ("" when none was given).
pub type Answers<'a> = &'a dyn Fn(&str) -> String;

/// A platform's set-up.
pub struct Setup {
    pub questions: &'static [SetupQuestion],
    /// The section for the answers (TOML, with comments); `answer(key)` is each answer.
    pub section: fn(answer: Answers<'_>) -> String,
    /// Each secret to export, for the answers, and where to find it.
    pub secrets: fn(answer: Answers<'_>) -> Vec<Secret>,
    /// What to do once fanops runs (say, where people find their id).
    pub next: &'static str,
}

/// A secret to export, and where to find it.
pub type Secret = (&'static str, &'static str);

/// Accepts an empty answer or one made of digits.
pub fn digits_or_empty(text: &str) -> Result<(), String> {
    match text.is_empty() || text.chars().all(|c| c.is_ascii_digit()) {
        true => Ok(()),
        false => Err(format!("`{text}` is not a number: use digits only")),
    }
}

/// A TOML basic string of `text` (quotes and backslashes escaped).
pub fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}
