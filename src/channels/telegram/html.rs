//! The core's Markdown as Telegram HTML: escaped text, `<b>`/`<i>`/`<code>`, tables as
//! `<pre>` blocks, split into messages below Telegram's 4096-character limit without
//! ever cutting through a tag. Blocks and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect};

/// Telegram's limit is 4096 characters of text; stay a little below it.
pub const LIMIT: usize = 4000;

/// Escapes the three characters Telegram's HTML mode reserves.
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
    out
}

/// Telegram's HTML parse mode, as a [`Dialect`].
struct TelegramHtml;

impl Dialect for TelegramHtml {
    fn limit(&self) -> usize {
        LIMIT
    }

    fn escape(&self, text: &str) -> String {
        escape(text)
    }

    fn inline(&self, line: &str) -> String {
        inline(line)
    }

    fn pre(&self, body: &str) -> String {
        format!("<pre>{body}</pre>")
    }

    fn split_line(&self, line: &str, limit: usize) -> Vec<String> {
        split_plain(line, limit)
    }

    fn shows_text(&self, message: &str) -> bool {
        shows_text(message)
    }
}

/// Renders Markdown into HTML messages, each at most [`LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &TelegramHtml)
}

/// Inline Markdown (`**bold**`, `*italic*`/`_italic_`, `` `code` ``) on an escaped line.
fn inline(line: &str) -> String {
    let (line, heading) = match line.trim_start().strip_prefix('#') {
        Some(rest) => (rest.trim_start_matches('#').trim(), true),
        None => (line, false),
    };
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let next = ["**", "`"]
            .iter()
            .filter_map(|m| rest.find(m).map(|at| (at, *m)))
            .min();
        let Some((at, marker)) = next else {
            out.push_str(&escape(rest));
            break;
        };
        let after = &rest[at + marker.len()..];
        match after.find(marker) {
            Some(end) if end > 0 => {
                out.push_str(&escape(&rest[..at]));
                let tag = if marker == "`" { "code" } else { "b" };
                out.push_str(&format!("<{tag}>{}</{tag}>", escape(&after[..end])));
                rest = &after[end + marker.len()..];
            }
            _ => {
                out.push_str(&escape(&rest[..at + marker.len()]));
                rest = after;
            }
        }
    }
    if heading {
        format!("<b>{out}</b>")
    } else {
        out
    }
}

/// Whether an HTML message shows any text besides whitespace (tags show none; text has
/// its `<` and `>` escaped).
fn shows_text(html: &str) -> bool {
    let mut in_tag = false;
    html.chars().any(|c| match c {
        '<' => {
            in_tag = true;
            false
        }
        '>' => {
            in_tag = false;
            false
        }
        c => !in_tag && !c.is_whitespace(),
    })
}

/// Splits an HTML line longer than `limit` at spaces outside tags and entities (or
/// anywhere outside them in a long word). The tags open at a cut, nested too, are closed
/// before it and opened again after it.
fn split_plain(html: &str, limit: usize) -> Vec<String> {
    if html.chars().count() <= limit {
        return vec![html.to_string()];
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut open: Vec<String> = Vec::new(); // outermost first
    let mut tag: Option<String> = None; // the tag being read
    let mut in_entity = false;
    let mut count = 0;
    for c in html.chars() {
        current.push(c);
        count += 1;
        match (c, &mut tag) {
            ('>', Some(name)) => {
                if name.starts_with('/') {
                    open.pop();
                } else {
                    open.push(name.clone());
                }
                tag = None;
            }
            (c, Some(name)) => name.push(c),
            ('<', None) => tag = Some(String::new()),
            ('&', None) => in_entity = true,
            (';', None) => in_entity = false,
            _ => {}
        }
        if tag.is_some() || in_entity {
            continue;
        }
        // Room for the closing tags; the margin covers one more tag or entity read
        // before a cut is possible.
        let closing: usize = open.iter().map(|t| t.len() + 3).sum();
        if count + closing >= limit - 40 && c == ' ' || count + closing >= limit - 20 {
            for t in open.iter().rev() {
                current.push_str(&format!("</{t}>"));
            }
            out.push(std::mem::take(&mut current));
            for t in &open {
                current.push_str(&format!("<{t}>"));
            }
            count = current.chars().count();
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
    fn escapes_names_and_keeps_emoji_and_rtl() {
        let out = render("Top fan: **<Jake & Co>** 💋 and مرحبا `a<b`");
        assert_eq!(
            out,
            vec!["Top fan: <b>&lt;Jake &amp; Co&gt;</b> 💋 and مرحبا <code>a&lt;b</code>"]
        );
    }

    #[test]
    fn tables_become_pre_blocks() {
        let out = render("| creator | net |\n|---|---:|\n| Luna <3 | 1912.40 |\n| Mia | 0.00 |");
        assert_eq!(
            out,
            vec!["<pre>creator      net\nLuna &lt;3  1912.40\nMia         0.00</pre>"]
        );
    }

    #[test]
    fn long_text_splits_below_the_limit_without_breaking_tags() {
        let para = "**bold words here** and plain text & more. ".repeat(200);
        let table: String = (0..300).map(|i| format!("| fan{i} | {i}.00 |\n")).collect();
        let md = format!("{para}\n| fan | spent |\n|---|---|\n{table}");
        let out = render(&md);
        assert!(out.len() > 2);
        for m in &out {
            assert!(m.chars().count() <= LIMIT, "{} chars", m.chars().count());
            assert_eq!(m.matches("<b>").count(), m.matches("</b>").count(), "{m}");
            assert_eq!(m.matches("<pre>").count(), m.matches("</pre>").count());
            assert!(
                !m.contains("&amp") || !m.ends_with("&amp"),
                "no entity is cut"
            );
        }
    }
}
