//! The core's Markdown for a chat platform. pulldown-cmark reads it as CommonMark with GFM
//! tables and strikethrough (`read`); each platform writes the spans and blocks in its own
//! markup through a [`Dialect`] (`inline`); the lines are packed into messages under the
//! platform's length limit (`pack`). A line too long for one message is cut between words
//! with every span closed before the cut and opened again after it, a code block or table
//! is closed and reopened, and no cut falls inside an escape: every message stands alone.
//!
//! Raw HTML in the Markdown is text, escaped like any other: the model's answer carries
//! fan names and API data, and none of it may become markup.

pub mod html;
mod inline;
mod pack;
#[cfg(test)]
pub(crate) mod props;
mod read;
mod spans;
mod table;

pub use inline::Style;
pub use table::align;

/// How one platform writes the core's Markdown.
pub trait Dialect {
    /// The longest message, in characters (a little under the platform's own limit).
    fn limit(&self) -> usize;
    /// Plain text made safe for the platform's markup. A preformatted line is escaped one
    /// character at a time, so that a cut between two results never splits an escape.
    fn escape(&self, text: &str) -> String;
    /// Words that would notify people, made harmless (before [`Dialect::escape`]).
    fn defuse(&self, text: &str) -> String {
        text.to_string()
    }
    /// Inline text: defused and escaped; a platform whose markup is made of plain
    /// characters also escapes those.
    fn text(&self, text: &str) -> String {
        self.escape(&self.defuse(text))
    }
    /// Inline code.
    fn code(&self, code: &str) -> String;
    /// Bold, italic or struck-through text; `inner` is rendered already.
    fn styled(&self, style: Style, inner: &str) -> String;
    /// A link to `url` showing `label` (rendered), or showing the URL when there is no
    /// label of its own. `None` when the platform does not link such a URL: the label is
    /// then followed by the URL as text.
    fn link(&self, url: &str, label: Option<&str>) -> Option<String>;
    /// A heading of `level` (1 to 6) whose text is `inner`.
    fn heading(&self, level: u8, inner: &str) -> String;
    /// A rendered line made safe to begin a line (where some platforms read `#` or `>`).
    fn line_start(&self, line: String) -> String {
        line
    }
    /// Escaped preformatted lines (a code block, a table) wrapped as one block.
    fn pre(&self, body: &str) -> String;
    /// How quoted lines are written.
    fn quote(&self) -> Quote;
    /// A thematic break (`---`) as a line; empty for a blank line.
    fn rule(&self) -> &'static str {
        ""
    }
    /// A table as preformatted lines (unescaped): `rows` start with the header, `right`
    /// marks the columns aligned right.
    fn table(&self, rows: &[Vec<String>], right: &[bool]) -> Vec<String> {
        align(rows, right)
    }
    /// Whether a message shows anything besides markup and whitespace (platforms refuse
    /// blank messages).
    fn shows_text(&self, message: &str) -> bool;
}

/// How a platform quotes: a wrapper around the quoted lines, or a prefix on each.
pub struct Quote {
    pub open: &'static str,
    pub close: &'static str,
    pub line: &'static str,
}

/// Renders `markdown` in `dialect`, in messages of at most its limit: at least one, empty
/// only when the Markdown shows nothing.
pub fn split(markdown: &str, dialect: &impl Dialect) -> Vec<String> {
    pack::pack(&read::blocks(markdown), dialect)
}
