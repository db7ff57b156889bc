//! The core's Markdown read by pulldown-cmark into blocks: lines of spans (paragraphs,
//! headings, list items with their markers), preformatted lines, tables and breaks, each
//! knowing whether it is quoted and whether the author left a blank line before it.

use super::inline::{plain, Line, Style};
use super::spans::{Open, Spans};
use super::table::right_aligned;
use pulldown_cmark::{Alignment, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use std::borrow::Cow;
use std::ops::Range;

/// Nested lists are indented by their markers' width, up to this many spaces.
const MAX_INDENT: usize = 12;

pub(super) enum Kind {
    /// A paragraph's lines (one per line break), or a heading's.
    Text {
        lines: Vec<Line>,
        heading: Option<u8>,
    },
    Pre(Vec<String>),
    Table {
        rows: Vec<Vec<String>>,
        right: Vec<bool>,
    },
    Rule,
}

pub(super) struct Block {
    pub kind: Kind,
    /// Inside a block quote (lines and breaks only; a code block or table in a quote is
    /// shown as one outside it).
    pub quoted: bool,
    /// The Markdown has a blank line between this block and the one before.
    pub blank_before: bool,
}

/// A URL some platform links: the web, or a platform's own scheme.
fn is_web(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "tg://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
}

fn options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH
}

/// The blocks of `markdown`.
pub(super) fn blocks(markdown: &str) -> Vec<Block> {
    let (source, added) = end_tables(markdown);
    let mut reader = Reader::new(&source, added);
    for (event, range) in Parser::new_ext(&source, options()).into_offset_iter() {
        reader.event(event, range);
    }
    reader.close_text();
    reader.blocks
}

/// GFM goes on with a table on any line up to a blank one. Here a line without a `|`
/// ends it (an answer often says "Total: …" right under its table), and so does a
/// delimiter row (`|---|---|`): the row above it is the header of the next table. Each
/// round puts a blank line where the first such end of every table begins; a line so
/// freed never joins that table again, so the rounds end. Also returns where the added
/// line breaks are, which are no blank lines of the author's.
fn end_tables(markdown: &str) -> (Cow<'_, str>, Vec<usize>) {
    let mut source = Cow::Borrowed(markdown);
    let mut added: Vec<usize> = Vec::new();
    loop {
        let cuts = table_ends(&source);
        if cuts.is_empty() {
            return (source, added);
        }
        let mut text = source.into_owned();
        for at in cuts.into_iter().rev() {
            text.insert(at, '\n');
            for earlier in added.iter_mut().filter(|e| **e >= at) {
                *earlier += 1;
            }
            added.push(at);
        }
        source = Cow::Owned(text);
    }
}

/// Where the line that ends each table (see [`end_tables`]) begins, if one does.
fn table_ends(source: &str) -> Vec<usize> {
    let line_start = |at: usize| source[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut cuts = Vec::new();
    let mut cut = false;
    let mut row_before: Option<usize> = None;
    for (event, range) in Parser::new_ext(source, options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Table(_)) => (cut, row_before) = (false, None),
            Event::Start(Tag::TableRow) if !cut => {
                let row = &source[range.clone()];
                let end = match row_before {
                    _ if !row.contains('|') => Some(range.start),
                    Some(before) if is_delimiter_row(row) => Some(before),
                    _ => None,
                };
                if let Some(at) = end {
                    cuts.push(line_start(at));
                    cut = true;
                }
                row_before = Some(range.start);
            }
            _ => {}
        }
    }
    cuts
}

fn is_delimiter_row(row: &str) -> bool {
    row.contains('-')
        && row
            .trim()
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' ' | '\t'))
}

/// What is being read.
enum Reading {
    Nothing,
    Text {
        heading: Option<u8>,
        spans: Spans,
        blank: bool,
    },
    Code {
        text: String,
        blank: bool,
    },
    Table {
        rows: Vec<Vec<String>>,
        cell: Spans,
        right: Vec<bool>,
        blank: bool,
    },
}

struct List {
    /// The next item's number, in an ordered list.
    next: Option<u64>,
    /// The width of the current item's marker.
    width: usize,
}

struct Reader<'s> {
    source: &'s str,
    blocks: Vec<Block>,
    /// Where the last block read ends, to see whether a blank line follows it.
    last_end: usize,
    quotes: usize,
    lists: Vec<List>,
    /// The marker of an item whose first line is still to come.
    marker: Option<String>,
    reading: Reading,
    /// The end of an autolink shown as written: the events inside it are skipped.
    skip_until: usize,
    /// The line breaks added to end tables.
    added: Vec<usize>,
}

impl<'s> Reader<'s> {
    fn new(source: &'s str, added: Vec<usize>) -> Self {
        Reader {
            source,
            blocks: Vec::new(),
            last_end: 0,
            quotes: 0,
            lists: Vec::new(),
            marker: None,
            reading: Reading::Nothing,
            skip_until: 0,
            added,
        }
    }

    fn event(&mut self, event: Event<'_>, range: Range<usize>) {
        if range.start < self.skip_until {
            return;
        }
        match event {
            Event::Start(tag) => self.start(tag, range),
            Event::End(tag) => self.end(tag, range),
            Event::Text(text) => {
                let text = self.as_written(text, &range);
                self.text(&text, range);
            }
            Event::Code(code) => {
                if let Some(spans) = self.spans(range.start) {
                    spans.code(&code);
                }
                self.last_end = range.end;
            }
            Event::Html(html) | Event::InlineHtml(html) => self.html(&html, range),
            Event::SoftBreak | Event::HardBreak => {
                if let Some(spans) = self.spans(range.start) {
                    spans.line_break();
                }
            }
            Event::Rule => {
                self.close_text();
                let blank = self.blank_before(range.start);
                self.push(Kind::Rule, blank, true);
                self.last_end = range.end;
            }
            // Not enabled (footnotes, math, task lists): shown as written.
            _ => {
                let text = self.source[range.clone()].to_string();
                self.text(&text, range);
            }
        }
    }

    /// A character reference (`&amp;`) is shown as written: answers quote names and
    /// texts from the API as they are, and they are escaped again for the platform.
    fn as_written<'t>(&self, text: CowStr<'t>, range: &Range<usize>) -> CowStr<'t> {
        let written = &self.source[range.clone()];
        // (A heading's range may run on over the whitespace trimmed after it.)
        match written.find(';') {
            Some(end) if written.starts_with('&') && *written != *text => {
                CowStr::from(written[..=end].to_string())
            }
            _ => text,
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: Range<usize>) {
        match tag {
            Tag::Paragraph | Tag::HtmlBlock => self.begin_text(None, range.start),
            Tag::Heading { level, .. } => self.begin_text(Some(level as u8), range.start),
            Tag::BlockQuote(_) => {
                self.close_text();
                self.quotes += 1;
            }
            Tag::CodeBlock(_) => self.begin(range.start, |blank| Reading::Code {
                text: String::new(),
                blank,
            }),
            Tag::List(first) => {
                self.close_text();
                self.lists.push(List {
                    next: first,
                    width: 0,
                });
            }
            Tag::Item => self.item(range.start),
            Tag::Table(alignments) => {
                let right: Vec<bool> = alignments.iter().map(|a| *a == Alignment::Right).collect();
                self.begin(range.start, |blank| Reading::Table {
                    rows: Vec::new(),
                    cell: Spans::default(),
                    right,
                    blank,
                });
            }
            Tag::TableHead | Tag::TableRow => {
                if let Reading::Table { rows, .. } = &mut self.reading {
                    rows.push(Vec::new());
                }
            }
            Tag::Emphasis => self.open(Open::Styled(Style::Italic), range),
            Tag::Strong => self.open(Open::Styled(Style::Bold), range),
            Tag::Strikethrough => self.open(Open::Styled(Style::Strike), range),
            Tag::Link {
                link_type: LinkType::Autolink | LinkType::Email,
                dest_url,
                ..
            } if !is_web(&dest_url) => {
                // `<Luna:hi>` is an autolink to CommonMark; shown as written, as it is
                // more likely a fan's words than a link.
                let written = self.source[range.clone()].to_string();
                self.text(&written, range.clone());
                self.skip_until = range.end;
            }
            Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. } => {
                self.open(Open::Link(dest_url.to_string()), range)
            }
            _ => {}
        }
    }

    fn end(&mut self, tag: TagEnd, range: Range<usize>) {
        match tag {
            TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::HtmlBlock => {
                self.last_end = range.end;
                self.close_text();
            }
            TagEnd::BlockQuote(_) => {
                self.close_text();
                self.quotes = self.quotes.saturating_sub(1);
            }
            TagEnd::CodeBlock => self.end_code(range.end),
            TagEnd::List(_) => {
                self.close_text();
                self.lists.pop();
            }
            TagEnd::Item => {
                self.close_text();
                self.flush_marker(range.start);
            }
            TagEnd::Table => self.end_table(range.end),
            TagEnd::TableCell => self.end_cell(),
            TagEnd::Emphasis
            | TagEnd::Strong
            | TagEnd::Strikethrough
            | TagEnd::Link
            | TagEnd::Image => {
                if let Some(spans) = self.spans(range.start) {
                    spans.close();
                }
            }
            _ => {}
        }
    }

    /// Text read (after any block it begins sees where the last one ended).
    fn text(&mut self, text: &str, range: Range<usize>) {
        match &mut self.reading {
            Reading::Code { text: code, .. } => code.push_str(text),
            _ => {
                if let Some(spans) = self.spans(range.start) {
                    spans.text(text);
                }
            }
        }
        self.last_end = range.end;
    }

    /// Raw HTML is text; an HTML block's lines stay lines.
    fn html(&mut self, html: &str, range: Range<usize>) {
        let Some(spans) = self.spans(range.start) else {
            return;
        };
        let mut lines = html.split('\n').peekable();
        while let Some(line) = lines.next() {
            spans.text(line.strip_suffix('\r').unwrap_or(line));
            if lines.peek().is_some() {
                spans.line_break();
            }
        }
        self.last_end = range.end;
    }

    fn open(&mut self, open: Open, range: Range<usize>) {
        if let Some(spans) = self.spans(range.start) {
            spans.open(open);
        }
    }

    /// The spans being read: a table cell's, or a paragraph's (a tight list item's text
    /// comes without a paragraph, and begins one here).
    fn spans(&mut self, start: usize) -> Option<&mut Spans> {
        if matches!(self.reading, Reading::Nothing) {
            self.begin_text(None, start);
        }
        match &mut self.reading {
            Reading::Text { spans, .. } => Some(spans),
            Reading::Table { cell, .. } => Some(cell),
            _ => None,
        }
    }

    /// A list item: its marker waits for the item's first line (an item holding only a
    /// list, or nothing, shows the marker on a line of its own).
    fn item(&mut self, start: usize) {
        self.close_text();
        self.flush_marker(start);
        let Some(list) = self.lists.last_mut() else {
            return;
        };
        let marker = match &mut list.next {
            Some(n) => {
                // As the author wrote it: `1.` or `1)`.
                let delimiter = self.source[start..]
                    .trim_start()
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .chars()
                    .next()
                    .filter(|c| *c == ')')
                    .unwrap_or('.');
                let marker = format!("{n}{delimiter} ");
                *n += 1;
                marker
            }
            None => "• ".to_string(),
        };
        list.width = marker.chars().count();
        self.marker = Some(marker);
    }
}

impl Reader<'_> {
    fn begin_text(&mut self, heading: Option<u8>, start: usize) {
        self.close_text();
        let blank = self.blank_before(start);
        self.reading = Reading::Text {
            heading,
            spans: Spans::default(),
            blank,
        };
    }

    /// Begins a code block or a table (after the marker of an item it opens).
    fn begin(&mut self, start: usize, reading: impl FnOnce(bool) -> Reading) {
        self.close_text();
        self.flush_marker(start);
        let blank = self.blank_before(start);
        self.reading = reading(blank);
    }

    fn close_text(&mut self) {
        let Reading::Text {
            heading,
            spans,
            blank,
        } = std::mem::replace(&mut self.reading, Reading::Nothing)
        else {
            return;
        };
        let (first, rest) = self.prefixes();
        let lines: Vec<Line> = spans
            .finish()
            .into_iter()
            .enumerate()
            .map(|(i, spans)| Line {
                prefix: if i == 0 { first.clone() } else { rest.clone() },
                spans,
            })
            .collect();
        let shows = |l: &Line| !l.spans.is_empty() || !l.prefix.trim().is_empty();
        if lines.iter().any(shows) {
            self.push(Kind::Text { lines, heading }, blank, true);
        }
    }

    /// The prefix of a text block's first line (with the pending item marker, if any)
    /// and of its other lines.
    fn prefixes(&mut self) -> (String, String) {
        let widths: Vec<usize> = self.lists.iter().map(|l| l.width).collect();
        let indent = |n: usize| " ".repeat(widths[..n].iter().sum::<usize>().min(MAX_INDENT));
        let inner = indent(widths.len());
        let first = match self.marker.take() {
            Some(marker) => indent(widths.len().saturating_sub(1)) + &marker,
            None => inner.clone(),
        };
        (first, inner)
    }

    fn flush_marker(&mut self, start: usize) {
        if self.marker.is_some() {
            let blank = self.blank_before(start);
            let (first, _) = self.prefixes();
            let lines = vec![Line {
                prefix: first.trim_end().to_string(),
                spans: Vec::new(),
            }];
            self.push(
                Kind::Text {
                    lines,
                    heading: None,
                },
                blank,
                true,
            );
        }
    }

    fn push(&mut self, kind: Kind, blank_before: bool, quotable: bool) {
        self.blocks.push(Block {
            kind,
            quoted: quotable && self.quotes > 0,
            blank_before,
        });
    }

    fn end_code(&mut self, end: usize) {
        let Reading::Code { text, blank } = std::mem::replace(&mut self.reading, Reading::Nothing)
        else {
            return;
        };
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let lines = match text.is_empty() {
            true => Vec::new(),
            false => body
                .split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
                .collect(),
        };
        self.push(Kind::Pre(lines), blank, false);
        self.last_end = end;
    }

    fn end_cell(&mut self) {
        let Reading::Table { rows, cell, .. } = &mut self.reading else {
            return;
        };
        let lines = std::mem::take(cell).finish();
        let text: Vec<String> = lines.iter().map(|spans| plain(spans)).collect();
        if let Some(row) = rows.last_mut() {
            row.push(text.join(" ").trim().to_string());
        }
    }

    fn end_table(&mut self, end: usize) {
        let Reading::Table {
            rows, right, blank, ..
        } = std::mem::replace(&mut self.reading, Reading::Nothing)
        else {
            return;
        };
        let right = right_aligned(&rows, &right);
        self.push(Kind::Table { rows, right }, blank, false);
        self.last_end = end;
    }

    /// Whether the Markdown has a blank line between the last block and `start`.
    fn blank_before(&self, start: usize) -> bool {
        let bytes = self.source.as_bytes();
        let mut end = self.last_end.min(start);
        while end > 0 && matches!(bytes[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        let breaks = self.source[end..start].matches('\n').count();
        let added = self
            .added
            .iter()
            .filter(|a| (end..start).contains(a))
            .count();
        breaks - added >= 2
    }
}
