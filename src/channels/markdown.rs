//! The core's Markdown for a chat platform: split into blocks (lines, code, tables as
//! aligned monospace), rendered with the platform's [`Dialect`] and packed into messages
//! under its length limit, never cutting through its markup. Every channel uses it with
//! its own dialect.

/// How one platform writes the core's Markdown.
pub trait Dialect {
    /// The longest message, in characters (a little under the platform's own limit).
    fn limit(&self) -> usize;
    /// Plain text made safe for the platform (entities, mention syntax).
    fn escape(&self, text: &str) -> String;
    /// One Markdown line in the platform's inline markup, escaped.
    fn inline(&self, line: &str) -> String;
    /// Escaped preformatted lines (a table, a code block) wrapped as one block.
    fn pre(&self, body: &str) -> String;
    /// A rendered line longer than `limit`, in pieces that each stand alone.
    fn split_line(&self, line: &str, limit: usize) -> Vec<String>;
    /// Whether a message shows anything besides markup and whitespace (platforms refuse
    /// blank messages).
    fn shows_text(&self, message: &str) -> bool;
}

/// One block of a reply: a Markdown line, or preformatted lines (unescaped).
enum Block {
    Line(String),
    Pre(Vec<String>),
}

/// Renders `markdown` in `dialect`, in messages of at most its limit.
pub fn split(markdown: &str, dialect: &impl Dialect) -> Vec<String> {
    pack(blocks(markdown), dialect)
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
        out.push(Block::Line(lines[i].to_string()));
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

/// Packs blocks into messages; a block too long for one message is split by lines, and a
/// single over-long line by characters (entity-safe, since each piece is re-escaped text).
fn pack(blocks: Vec<Block>, dialect: &impl Dialect) -> Vec<String> {
    let limit = dialect.limit();
    let wrapping = dialect.pre("").chars().count();
    let mut pieces = Vec::new();
    for block in blocks {
        match block {
            Block::Line(line) => {
                let rendered = dialect.inline(&line);
                if rendered.chars().count() <= limit {
                    pieces.push(rendered);
                } else {
                    pieces.extend(dialect.split_line(&rendered, limit));
                }
            }
            Block::Pre(lines) => {
                let mut chunk: Vec<String> = Vec::new();
                let mut size = wrapping;
                for line in lines
                    .iter()
                    .flat_map(|l| escaped_pieces(dialect, l, limit - wrapping - 1))
                {
                    if size + line.chars().count() + 1 > limit && !chunk.is_empty() {
                        pieces.push(dialect.pre(&chunk.join("\n")));
                        chunk.clear();
                        size = wrapping;
                    }
                    size += line.chars().count() + 1;
                    chunk.push(line);
                }
                pieces.push(dialect.pre(&chunk.join("\n")));
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
    // Platforms refuse a message that shows nothing (a blank line of a code block, say,
    // left alone at a cut); only whitespace is dropped with it.
    messages.retain(|m| dialect.shows_text(m));
    if messages.is_empty() {
        messages.push(String::new());
    }
    messages
}

/// A preformatted line, escaped, in pieces of at most `max` characters: a line longer
/// than a message is wrapped, never cut short, and never through an entity.
fn escaped_pieces(dialect: &impl Dialect, line: &str, max: usize) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut size = 0;
    for c in line.chars() {
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
