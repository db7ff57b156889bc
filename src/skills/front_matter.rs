//! The front matter of a `SKILL.md`: the YAML between the first `---` line and the next,
//! read with serde-saphyr, so what loads here is what any YAML tool reads (block scalars,
//! quoting, comments) and what YAML refuses is refused with its line.
//!
//! The keys are those of the Agent Skills format (`name`, `description`, `license`,
//! `compatibility`, `metadata`, `allowed-tools`) and fanops's own (`category`, `tags`,
//! `requires`, `tools`, `endpoints`). Every value is read as text (`no` stays `no`); each
//! key's line in the file is kept, so a problem found later points at it.

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_saphyr::{Error, MessageFormatter, Spanned, UserMessageFormatter};
use std::collections::{BTreeMap, HashMap};

/// What a key's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Text,
    List,
    Map,
}

/// Every key a skill's front matter may have.
pub const KEYS: &[(&str, Shape)] = &[
    ("name", Shape::Text),
    ("description", Shape::Text),
    ("category", Shape::Text),
    ("tags", Shape::List),
    ("requires", Shape::List),
    ("tools", Shape::List),
    ("endpoints", Shape::List),
    ("license", Shape::Text),
    ("compatibility", Shape::Text),
    ("metadata", Shape::Map),
    ("allowed-tools", Shape::Text),
];

/// The values of the front matter; a key left out (or left empty) is `None`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Fields {
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub tags: Option<Vec<String>>,
    pub requires: Option<Vec<String>>,
    pub tools: Option<Vec<String>>,
    pub endpoints: Option<Vec<String>>,
    pub license: Option<String>,
    pub compatibility: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
    pub allowed_tools: Option<String>,
}

/// The parsed front matter and where the Markdown body starts.
#[derive(Debug, Default)]
pub struct FrontMatter {
    pub fields: Fields,
    /// Each key given, with its 1-based line in the file.
    pub lines: BTreeMap<String, usize>,
    /// 1-based line of the first body line.
    pub body_line: usize,
    pub body: String,
}

impl FrontMatter {
    /// The line of `key`, or the opening `---` when it is not given.
    pub fn line(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(1)
    }
}

/// Splits `text` into front matter and body, or says what is wrong and on which line.
pub fn parse(text: &str) -> Result<FrontMatter, (usize, String)> {
    let file: Vec<&str> = text.lines().collect();
    if file.first().map(|l| l.trim_end()) != Some("---") {
        return Err((
            1,
            "a skill file starts with `---`, then its front matter (name, description, category, tags), then `---`".into(),
        ));
    }
    let Some(end) = file.iter().skip(1).position(|l| l.trim_end() == "---") else {
        return Err((1, "the front matter is not closed by a `---` line".into()));
    };
    let end = end + 1; // index of the closing line
    let yaml = file[1..end].join("\n");
    let keys: HashMap<Spanned<String>, IgnoredAny> =
        serde_saphyr::from_str(&yaml).map_err(|e| not_yaml(&e, &file))?;
    let lines: BTreeMap<String, usize> = keys
        .into_keys()
        .map(|key| (key.value, file_line(key.referenced.line())))
        .collect();
    let fields = if lines.is_empty() {
        Fields::default()
    } else {
        serde_saphyr::from_str(&yaml).map_err(|e| wrong_shape(&e, &lines))?
    };
    Ok(FrontMatter {
        fields,
        lines,
        body_line: end + 2,
        body: file[end + 1..].join("\n").trim().to_string(),
    })
}

/// The YAML starts on the file's second line, after the opening `---`.
fn file_line(yaml_line: u64) -> usize {
    usize::try_from(yaml_line).map_or(usize::MAX, |line| line.saturating_add(1))
}

/// The parser's own words, without control characters (it may quote the file).
fn reason(error: &Error) -> String {
    UserMessageFormatter
        .format_message(error)
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// Text that YAML refuses: where, the parser's reason, and how to fix the usual cause.
fn not_yaml(error: &Error, file: &[&str]) -> (usize, String) {
    let error = error.without_snippet();
    let line = error.location().map_or(2, |l| file_line(l.line()));
    if let Error::DuplicateMappingKey { key: Some(key), .. } = error {
        return (line, format!("`{key}` is given twice"));
    }
    let fix = file
        .get(line - 1)
        .and_then(|text| quoted(text))
        .map_or(
            "quote a value that contains `: ` or starts with `[`, `{`, `&`, `*`, `!`, `|`, `>`, `%`, `@` or a backtick, e.g. `description: \"Big spenders: who moved\"`".to_string(),
            |line| format!("if this value is text, put it in double quotes: `{line}`"),
        );
    (
        line,
        format!(
            "the front matter is not valid YAML ({}); {fix}",
            reason(error)
        ),
    )
}

/// `key: a: b` as `key: "a: b"`, when the line is a key with an unquoted value.
fn quoted(line: &str) -> Option<String> {
    let (key, value) = line.split_once(": ")?;
    let name = key.trim_start();
    let value = value.trim();
    let plain_key = !name.is_empty() && !name.starts_with(['-', '"', '\'', '#', '?']);
    if !plain_key || value.is_empty() || value.starts_with(['"', '\'']) {
        return None;
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    Some(format!("{key}: \"{escaped}\""))
}

/// Valid YAML with a value of the wrong kind: named by the key whose value holds the
/// error's line.
fn wrong_shape(error: &Error, lines: &BTreeMap<String, usize>) -> (usize, String) {
    let error = error.without_snippet();
    let line = error.location().map_or(1, |l| file_line(l.line()));
    let owner = lines
        .iter()
        .filter(|(_, at)| **at <= line)
        .max_by_key(|(_, at)| **at)
        .map(|(key, at)| (key.as_str(), *at));
    let Some((key, at)) = owner else {
        return (line, reason(error));
    };
    let message = match KEYS.iter().find(|(k, _)| *k == key).map(|(_, shape)| shape) {
        Some(Shape::Text) => format!("`{key}` must be text, not a list or a map"),
        Some(Shape::List) => format!("`{key}` must be a list of text, e.g. `{key}: [a, b]`"),
        Some(Shape::Map) => {
            format!("`{key}` must map names to text, e.g. `{key}: {{author: our-agency}}`")
        }
        None => format!("`{key}`: {}", reason(error)),
    };
    (at, message)
}

#[cfg(test)]
mod tests;
