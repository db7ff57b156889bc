//! The front matter of a `SKILL.md`: the block between two `---` lines at the top, in the
//! small YAML subset skills use (`key: value`, and lists as `[a, b]` or `- item` lines).
//!
//! Written by hand rather than with a YAML crate because every problem must name its
//! line, every problem in a file is reported (not only the first), and the subset is
//! small enough that a full YAML parser would only add ways to be surprising (`no`
//! becoming `false`, tabs, anchors).

use std::collections::BTreeMap;

/// One value of the front matter, with the line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub line: usize,
}

/// The parsed front matter and where the Markdown body starts.
#[derive(Debug, Default)]
pub struct FrontMatter {
    pub entries: BTreeMap<String, Entry>,
    /// 1-based line of the first body line.
    pub body_line: usize,
    pub body: String,
}

/// Splits `text` into front matter and body; each problem is `(line, message)`.
pub fn parse(text: &str) -> (FrontMatter, Vec<(usize, String)>) {
    let mut problems = Vec::new();
    let mut out = FrontMatter::default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        problems.push((
            1,
            "a skill file starts with `---`, then its front matter (name, description, category, tags), then `---`".into(),
        ));
        return (out, problems);
    }
    let Some(end) = lines.iter().skip(1).position(|l| l.trim_end() == "---") else {
        problems.push((1, "the front matter is not closed by a `---` line".into()));
        return (out, problems);
    };
    let end = end + 1; // index of the closing line
    let mut open_list: Option<String> = None;
    for (index, raw) in lines.iter().enumerate().take(end).skip(1) {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(item) = trimmed.strip_prefix("- ") {
            match open_list.as_ref().and_then(|key| out.entries.get_mut(key)) {
                Some(Entry {
                    value: Value::List(items),
                    ..
                }) => items.push(unquote(item)),
                _ => problems.push((
                    line,
                    "a list item (`- …`) must follow a key with no value, e.g. `tags:`".into(),
                )),
            }
            continue;
        }
        open_list = None;
        let Some((key, value)) = trimmed.split_once(':') else {
            problems.push((line, format!("expected `key: value`, found `{trimmed}`")));
            continue;
        };
        let key = key.trim().to_string();
        if raw.starts_with([' ', '\t']) {
            problems.push((
                line,
                format!(
                    "`{key}` is indented; front matter keys start at the beginning of the line"
                ),
            ));
            continue;
        }
        if out.entries.contains_key(&key) {
            problems.push((line, format!("`{key}` is given twice")));
            continue;
        }
        let value = value.trim();
        let value = if value.is_empty() {
            open_list = Some(key.clone());
            Value::List(Vec::new())
        } else if let Some(inner) = value.strip_prefix('[') {
            match inner.strip_suffix(']') {
                Some(inner) => Value::List(
                    inner
                        .split(',')
                        .map(unquote)
                        .filter(|s| !s.is_empty())
                        .collect(),
                ),
                None => {
                    problems.push((
                        line,
                        format!(
                            "`{key}`: a list opened with `[` must close with `]` on the same line"
                        ),
                    ));
                    continue;
                }
            }
        } else {
            Value::Text(unquote(value))
        };
        out.entries.insert(key, Entry { value, line });
    }
    out.body_line = end + 2;
    out.body = lines[end + 1..].join("\n").trim().to_string();
    (out, problems)
}

fn unquote(text: &str) -> String {
    let text = text.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner.to_string();
        }
    }
    text.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_flow_lists_and_block_lists() {
        let text = "---\nname: whale-watch\ndescription: \"Big spenders: who moved\"\ntags: [fans, 'vip']\nrequires:\n  - web_search\n---\n\n# Body\nsteps\n";
        let (fm, problems) = parse(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            fm.entries["description"].value,
            Value::Text("Big spenders: who moved".into())
        );
        assert_eq!(
            fm.entries["tags"].value,
            Value::List(vec!["fans".into(), "vip".into()])
        );
        assert_eq!(
            fm.entries["requires"].value,
            Value::List(vec!["web_search".into()])
        );
        assert_eq!(fm.entries["tags"].line, 4);
        assert_eq!(fm.body, "# Body\nsteps");
        assert_eq!(fm.body_line, 8);
    }

    #[test]
    fn every_problem_is_reported_at_its_line() {
        let text =
            "---\nname: a\nname: b\nbroken line\ntags: [a, b\n  indented: x\n- orphan\n---\nbody";
        let (_, problems) = parse(text);
        let lines: Vec<usize> = problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{problems:?}");
    }

    #[test]
    fn missing_fences_are_problems() {
        assert_eq!(parse("name: x\n").1[0].0, 1);
        assert!(parse("---\nname: x\n").1[0].1.contains("not closed"));
    }
}
