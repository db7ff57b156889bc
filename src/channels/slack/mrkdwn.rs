//! The core's Markdown as Slack mrkdwn: `*bold*`, `_italic_`, `` `code` ``, `<url|text>`
//! links, tables and code as ``` blocks, in sections under Slack's 3,000-character limit.
//! Text from data can never ping anyone: `&`, `<` and `>` are escaped (so `<!here>` and
//! `<@U…>` stay text), and a bare `@channel`, `@here` or `@everyone` gets an invisible
//! joiner after its `@`. Blocks and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect};

/// Slack's limit for a section block's text is 3,000 characters; stay a little below it.
pub const SECTION_LIMIT: usize = 2_900;

/// Escapes what Slack's mrkdwn reserves, and defuses the words that notify a channel.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    defuse_broadcasts(&out)
}

/// `@channel` → `@\u{2060}channel`: shown the same, notifies nobody.
fn defuse_broadcasts(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let lowered = rest.to_ascii_lowercase();
        if ["channel", "here", "everyone"]
            .iter()
            .any(|w| lowered.starts_with(w))
        {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// Slack mrkdwn, as a [`Dialect`].
struct Mrkdwn;

impl Dialect for Mrkdwn {
    fn limit(&self) -> usize {
        SECTION_LIMIT
    }

    fn escape(&self, text: &str) -> String {
        escape(text)
    }

    fn inline(&self, line: &str) -> String {
        inline(line)
    }

    fn pre(&self, body: &str) -> String {
        format!("```\n{body}\n```")
    }

    fn split_line(&self, line: &str, limit: usize) -> Vec<String> {
        split_at_spaces(line, limit)
    }

    fn shows_text(&self, message: &str) -> bool {
        message
            .replace("```", "")
            .chars()
            .any(|c| !c.is_whitespace() && c != '\u{2060}')
    }
}

/// Renders Markdown into mrkdwn sections, each at most [`SECTION_LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &Mrkdwn)
}

/// Inline Markdown on one line: `**bold**`, `*italic*`/`_italic_`, `` `code` ``,
/// `[text](https://…)`, and `#` headings (bold).
fn inline(line: &str) -> String {
    let (line, heading) = match line.trim_start().strip_prefix('#') {
        Some(rest) => (rest.trim_start_matches('#').trim(), true),
        None => (line, false),
    };
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let Some((at, marker)) = next_marker(rest) else {
            out.push_str(&escape(rest));
            break;
        };
        out.push_str(&escape(&rest[..at]));
        let after = &rest[at + marker.len()..];
        if marker == "[" {
            if let Some((link, used)) = link(after) {
                out.push_str(&link);
                rest = &after[used..];
                continue;
            }
            out.push('[');
            rest = after;
            continue;
        }
        match after.find(marker) {
            Some(end) if end > 0 && !after[..end].starts_with(' ') => {
                let body = escape(&after[..end]);
                let wrapped = match marker {
                    "`" => format!("`{body}`"),
                    "**" | "__" => format!("*{body}*"),
                    _ => format!("_{body}_"),
                };
                out.push_str(&wrapped);
                rest = &after[end + marker.len()..];
            }
            _ => {
                out.push_str(&escape(marker));
                rest = after;
            }
        }
    }
    if heading && !out.is_empty() {
        format!("*{out}*")
    } else {
        out
    }
}

/// The first Markdown marker in `text`: its byte offset and the marker.
fn next_marker(text: &str) -> Option<(usize, &'static str)> {
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let marker = match b {
            b'`' => "`",
            b'[' => "[",
            b'*' if bytes.get(i + 1) == Some(&b'*') => "**",
            b'_' if bytes.get(i + 1) == Some(&b'_') => "__",
            b'*' => "*",
            // `snake_case` words are not italics: an underscore must start a word.
            b'_' if i == 0 || !bytes[i - 1].is_ascii_alphanumeric() => "_",
            _ => continue,
        };
        return Some((i, marker));
    }
    None
}

/// `text](url)` after a `[`: the Slack link and how many bytes it used. Only http(s)
/// URLs become links; the URL's `|`, `<` and `>` are percent-encoded so it cannot close
/// the link early.
fn link(after: &str) -> Option<(String, usize)> {
    let close = after.find("](")?;
    let text = &after[..close];
    let url_start = close + 2;
    let url_len = after[url_start..].find(')')?;
    let url = after[url_start..url_start + url_len].trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
        return None;
    }
    let url = url
        .replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('&', "&amp;");
    let label = escape(text).replace('|', "¦");
    Some((format!("<{url}|{label}>"), url_start + url_len + 1))
}

/// A rendered line longer than `limit`, cut at spaces (or anywhere in a long word,
/// never inside an `&…;` entity).
fn split_at_spaces(line: &str, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut count = 0;
    let mut in_entity = false;
    for c in line.chars() {
        current.push(c);
        count += 1;
        match c {
            '&' => in_entity = true,
            ';' => in_entity = false,
            _ => {}
        }
        if in_entity {
            continue;
        }
        if (c == ' ' && count >= limit - 40) || count >= limit - 10 {
            out.push(std::mem::take(&mut current));
            count = 0;
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_mrkdwn() {
        let out = render(
            "# Week\nTop fan: **Jake** earned _a lot_ and *more*, see [the report](https://x.io/a|b) `a<b` snake_case_name",
        );
        assert_eq!(
            out,
            vec![
                "*Week*\nTop fan: *Jake* earned _a lot_ and _more_, see <https://x.io/a%7Cb|the report> `a&lt;b` snake_case_name"
            ]
        );
    }

    #[test]
    fn data_cannot_ping_or_inject_links() {
        let out = render("Fan <!here> said @channel & @Everyone <@U123> [x](javascript:alert)");
        let text = &out[0];
        assert!(text.contains("&lt;!here&gt;"), "{text}");
        assert!(text.contains("&lt;@U123&gt;"), "{text}");
        assert!(text.contains("@\u{2060}channel"), "{text}");
        assert!(text.contains("@\u{2060}Everyone"), "{text}");
        assert!(text.contains("&amp;"), "{text}");
        assert!(!text.contains('<'), "no markup of the data's own: {text}");
    }

    #[test]
    fn tables_become_code_blocks() {
        let out = render("| creator | net |\n|---|---:|\n| Luna <3 | 1912.40 |\n| Mia | 0.00 |");
        assert_eq!(
            out,
            vec!["```\ncreator      net\nLuna &lt;3  1912.40\nMia         0.00\n```"]
        );
    }

    #[test]
    fn long_answers_split_into_sections_under_the_limit() {
        let para = "**bold words here** and plain text & more. ".repeat(300);
        let table: String = (0..400).map(|i| format!("| fan{i} | {i}.00 |\n")).collect();
        let out = render(&format!("{para}\n| fan | spent |\n|---|---|\n{table}"));
        assert!(out.len() > 3);
        for section in &out {
            assert!(section.chars().count() <= SECTION_LIMIT);
            assert_eq!(section.matches("```").count() % 2, 0, "{section}");
        }
    }
}
