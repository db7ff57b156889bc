//! The core's Markdown as Telegram HTML: escaped text, `<b>`/`<i>`/`<code>`, tables as
//! `<pre>` blocks, split into messages below Telegram's 4096-character limit without
//! ever cutting through a tag.

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

/// One rendered block: a paragraph line or a preformatted table.
enum Block {
    Line(String),
    Pre(Vec<String>),
}

/// Renders Markdown into HTML messages, each at most [`LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    pack(blocks(markdown), LIMIT)
}

fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some((rows, next)) = crate::channels::render::table_at(&lines, i) {
            out.push(Block::Pre(align(&rows)));
            i = next;
            continue;
        }
        if lines[i].trim_start().starts_with("```") {
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i].to_string());
                i += 1;
            }
            i += 1;
            out.push(Block::Pre(body));
            continue;
        }
        out.push(Block::Line(inline(lines[i])));
        i += 1;
    }
    out
}

/// Pads columns to equal width; a column whose cells are all numbers is right-aligned.
fn align(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let cell = |row: &[String], c: usize| row.get(c).map(String::as_str).unwrap_or("").to_string();
    let numeric = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_digit() || ".,-+$%".contains(ch))
    };
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let right: Vec<bool> = (0..columns)
        .map(|c| rows.len() > 1 && rows[1..].iter().all(|r| numeric(&cell(r, c))))
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|c| {
                    let text = cell(row, c);
                    if right[c] {
                        format!("{text:>w$}", w = widths[c])
                    } else {
                        format!("{text:<w$}", w = widths[c])
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
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

/// Packs blocks into messages; a block too long for one message is split by lines, and a
/// single over-long line by characters (entity-safe, since each piece is re-escaped text).
fn pack(blocks: Vec<Block>, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    for block in blocks {
        match block {
            Block::Line(html) => pieces.extend(split_plain(&html, limit)),
            Block::Pre(lines) => {
                let mut chunk: Vec<String> = Vec::new();
                let mut size = 11; // <pre></pre>
                for line in lines.iter().flat_map(|l| escaped_pieces(l, limit - 12)) {
                    if size + line.chars().count() + 1 > limit && !chunk.is_empty() {
                        pieces.push(format!("<pre>{}</pre>", chunk.join("\n")));
                        chunk.clear();
                        size = 11;
                    }
                    size += line.chars().count() + 1;
                    chunk.push(line);
                }
                pieces.push(format!("<pre>{}</pre>", chunk.join("\n")));
            }
        }
    }
    let mut messages = Vec::new();
    let mut current = String::new();
    for piece in pieces {
        let extra = piece.chars().count() + usize::from(!current.is_empty());
        if !current.is_empty() && current.chars().count() + extra > limit {
            messages.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&piece);
    }
    messages.push(current);
    // Telegram refuses a message that shows nothing (a blank line of a code block, say,
    // left alone at a cut); only whitespace is dropped with it.
    messages.retain(|m| shows_text(m));
    if messages.is_empty() {
        messages.push(String::new());
    }
    messages
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

/// A preformatted line, escaped, in pieces of at most `max` characters: a line longer
/// than a message is wrapped, never cut short, and never through an entity.
fn escaped_pieces(line: &str, max: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut size = 0;
    for c in line.chars() {
        let escaped = escape(c.encode_utf8(&mut [0; 4]));
        let width = escaped.chars().count();
        if size + width > max {
            pieces.push(String::new());
            size = 0;
        }
        pieces.last_mut().expect("never empty").push_str(&escaped);
        size += width;
    }
    pieces
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
