//! Maps a key path of the config file to its line, so every problem reads `file:line: …`.

use toml_edit::{Document, Item};

/// A parsed copy of the file kept only to answer "which line is this key on".
pub struct Locator {
    text: String,
    doc: Option<Document<String>>,
}

impl Locator {
    pub fn new(text: &str) -> Self {
        Locator {
            text: text.to_string(),
            doc: Document::parse(text.to_string()).ok(),
        }
    }

    /// The file's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The 1-based line of the deepest existing part of `path` (1 when nothing matches).
    pub fn line_of(&self, path: &[PathPart]) -> usize {
        let Some(doc) = &self.doc else { return 1 };
        let mut item: &Item = doc.as_item();
        let mut best = None;
        for part in path {
            let next = match part {
                PathPart::Key(key) => {
                    if let Some((k, v)) = item.as_table_like().and_then(|t| t.get_key_value(key)) {
                        if let Some(span) = k.span().or_else(|| v.span()) {
                            best = Some(span);
                        }
                        Some(v)
                    } else {
                        None
                    }
                }
                PathPart::Index(i) => {
                    let found = item.get(*i);
                    if let Some(span) = found.and_then(Item::span) {
                        best = Some(span);
                    }
                    found
                }
            };
            match next {
                Some(next) => item = next,
                None => break,
            }
        }
        best.map(|span| self.line_at(span.start)).unwrap_or(1)
    }

    /// The line of the key at `path` when the whole path exists in the file.
    pub fn line_if_present(&self, path: &[PathPart]) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut item: &Item = doc.as_item();
        for part in path {
            item = match part {
                PathPart::Key(key) => item.as_table_like()?.get(key)?,
                PathPart::Index(i) => item.get(*i)?,
            };
        }
        Some(self.line_of(path))
    }

    /// The 1-based line holding byte offset `offset`. The end of a file that ends with a
    /// newline (where a parser reports what it found missing) is on the file's last line,
    /// not on the empty line an editor would never show.
    pub fn line_at(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        let line = self.text.as_bytes()[..end]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1;
        line.min(self.text.lines().count().max(1))
    }
}

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Key(String),
    Index(usize),
}

/// Builds a path from dotted keys, e.g. `path(&["llm", "models", alias])`.
pub fn path(keys: &[&str]) -> Vec<PathPart> {
    keys.iter().map(|k| PathPart::Key(k.to_string())).collect()
}

/// Converts serde_ignored's path of an unknown key into ours.
pub fn from_ignored(path: &serde_ignored::Path<'_>) -> Vec<PathPart> {
    use serde_ignored::Path;
    let mut parts = match path {
        Path::Root => return Vec::new(),
        Path::Seq { parent, .. }
        | Path::Map { parent, .. }
        | Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => from_ignored(parent),
    };
    match path {
        Path::Seq { index, .. } => parts.push(PathPart::Index(*index)),
        Path::Map { key, .. } => parts.push(PathPart::Key(key.to_string())),
        _ => {}
    }
    parts
}

/// `a.b."c d"[0]` for messages.
pub fn display(path: &[PathPart]) -> String {
    let mut out = String::new();
    for part in path {
        match part {
            PathPart::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                if k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    out.push_str(k);
                } else {
                    out.push_str(&format!("{k:?}"));
                }
            }
            PathPart::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lines_of_nested_keys() {
        let text = "timezone = \"UTC\"\n\n[llm]\ndefault_model = \"x\"\n\n[llm.models.\"gpt-4.1\"]\nprovider = \"openai\"\n\n[[mcp]]\nname = \"a\"\n[[mcp]]\nname = \"b\"\nurl = \"u\"\n";
        let loc = Locator::new(text);
        assert_eq!(loc.line_of(&path(&["timezone"])), 1);
        assert_eq!(loc.line_of(&path(&["llm", "default_model"])), 4);
        assert_eq!(
            loc.line_of(&path(&["llm", "models", "gpt-4.1", "provider"])),
            7
        );
        // A missing key points at its nearest existing parent.
        assert_eq!(loc.line_of(&path(&["llm", "models", "gpt-4.1", "id"])), 6);
        let mcp_url = vec![
            PathPart::Key("mcp".into()),
            PathPart::Index(1),
            PathPart::Key("url".into()),
        ];
        assert_eq!(loc.line_of(&mcp_url), 13);
        assert_eq!(display(&mcp_url), "mcp[1].url");
    }
}
