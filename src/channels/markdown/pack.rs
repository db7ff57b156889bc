//! Blocks written in a dialect, as pieces that each fit a message (a line, a part of a
//! code block or of a quote), packed into as few messages as the limit allows.

use super::inline::cut;
use super::read::{Block, Kind};
use super::Dialect;

/// Renders `blocks` in messages of at most `dialect.limit()` characters.
pub(super) fn pack(blocks: &[Block], dialect: &impl Dialect) -> Vec<String> {
    // `None` is a blank line, dropped where a message begins or ends.
    let mut pieces: Vec<Option<String>> = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        if blocks[i].blank_before {
            pieces.push(None);
        }
        if blocks[i].quoted {
            let end = i + blocks[i..].iter().take_while(|b| b.quoted).count();
            pieces.extend(quote(&blocks[i..end], dialect).into_iter().map(Some));
            i = end;
            continue;
        }
        let limit = dialect.limit();
        match &blocks[i].kind {
            Kind::Text { lines, heading } => {
                for line in lines {
                    pieces.extend(cut(line, *heading, dialect, limit).into_iter().map(Some));
                }
            }
            Kind::Pre(lines) => pieces.extend(pre(lines, dialect).into_iter().map(Some)),
            Kind::Table { rows, right } => {
                let lines = dialect.table(rows, right);
                pieces.extend(pre(&lines, dialect).into_iter().map(Some));
            }
            Kind::Rule => pieces.push(Some(dialect.rule().to_string()).filter(|r| !r.is_empty())),
        }
        i += 1;
    }
    messages(pieces, dialect)
}

/// Quoted blocks as quotes that each fit a message.
fn quote(blocks: &[Block], dialect: &impl Dialect) -> Vec<String> {
    let q = dialect.quote();
    let wrapping = q.open.chars().count() + q.close.chars().count();
    let prefix = q.line.chars().count();
    let max = dialect.limit() - wrapping - prefix;
    let mut lines = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        if n > 0 && block.blank_before {
            lines.push(String::new());
        }
        match &block.kind {
            Kind::Text {
                lines: text,
                heading,
            } => {
                for line in text {
                    let pieces = cut(line, *heading, dialect, max);
                    lines.extend(pieces.into_iter().map(|p| format!("{}{p}", q.line)));
                }
            }
            Kind::Rule => lines.push(format!("{}{}", q.line, dialect.rule())),
            Kind::Pre(_) | Kind::Table { .. } => {}
        }
    }
    chunks(&lines, dialect.limit() - wrapping)
        .into_iter()
        .map(|body| format!("{}{body}{}", q.open, q.close))
        .collect()
}

/// Preformatted lines in blocks that each fit a message; a line longer than a message
/// is wrapped, never cut short.
fn pre(lines: &[String], dialect: &impl Dialect) -> Vec<String> {
    let limit = dialect.limit();
    let wrapping = dialect.pre("").chars().count();
    let escaped: Vec<String> = lines
        .iter()
        .flat_map(|l| escaped_pieces(dialect, l, limit - wrapping - 1))
        .collect();
    chunks(&escaped, limit - wrapping)
        .into_iter()
        .map(|body| dialect.pre(&body))
        .collect()
}

/// Lines joined by line breaks, in bodies of at most `max` characters (each line is
/// shorter than that).
fn chunks(lines: &[String], max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut chunk: Vec<&str> = Vec::new();
    let mut size = 0;
    for line in lines {
        let width = line.chars().count();
        if !chunk.is_empty() && size + 1 + width > max {
            out.push(chunk.join("\n"));
            chunk.clear();
        }
        size = match chunk.is_empty() {
            true => width,
            false => size + 1 + width,
        };
        chunk.push(line);
    }
    out.push(chunk.join("\n"));
    out
}

/// A preformatted line, escaped, in pieces of at most `max` characters, never cut
/// through an escape.
fn escaped_pieces(dialect: &impl Dialect, line: &str, max: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut size = 0;
    for c in dialect.defuse(line).chars() {
        let escaped = dialect.escape(c.encode_utf8(&mut [0; 4]));
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

/// Pieces joined by line breaks into messages of at most the limit; a blank line is
/// kept only between two pieces of one message.
fn messages(pieces: Vec<Option<String>>, dialect: &impl Dialect) -> Vec<String> {
    let limit = dialect.limit();
    let mut messages = Vec::new();
    let mut current = String::new();
    let (mut size, mut blank) = (0, false);
    for piece in pieces {
        let Some(piece) = piece else {
            blank = true;
            continue;
        };
        let width = piece.chars().count();
        let joint = if blank { 2 } else { 1 };
        if !current.is_empty() && size + joint + width > limit {
            messages.push(std::mem::take(&mut current));
        }
        if current.is_empty() {
            size = width;
        } else {
            current.push_str(if blank { "\n\n" } else { "\n" });
            size += joint + width;
        }
        current.push_str(&piece);
        blank = false;
    }
    messages.push(current);
    // Platforms refuse a message that shows nothing (a blank line of a code block, say,
    // left alone at a cut).
    messages.retain(|m| dialect.shows_text(m));
    if messages.is_empty() {
        messages.push(String::new());
    }
    messages
}
