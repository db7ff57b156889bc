//! The core's Markdown in WhatsApp's own formatting: `*bold*`, `_italic_`, `~strike~`,
//! `` `code` ``, ```` ``` ```` blocks for code and tables, `> ` quotes, headings as bold
//! lines, links as their text followed by the URL (WhatsApp links bare URLs itself), in
//! messages of at most 4,000 characters (WhatsApp takes 4,096). WhatsApp has no escape
//! character, so a marker in text from data (`*`, `_`, `~`, `` ` ``) that could open or
//! close a span — one at the edge of a word — is written as a look-alike that formats
//! nothing; one inside a word (`luna_rose`) is left alone, as WhatsApp leaves it.
//! Reading and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect, Quote, Style};

/// WhatsApp's limit for a text message is 4,096 characters; stay a little below it.
pub const MESSAGE_LIMIT: usize = 4_000;
/// An interactive message's body holds at most 1,024 characters.
pub const BODY_LIMIT: usize = 1_024;

/// The look-alike a marker is shown as where it could format.
fn look_alike(c: char) -> Option<char> {
    match c {
        '*' => Some('∗'),
        '_' => Some('＿'),
        '~' => Some('∼'),
        '`' => Some('ˋ'),
        _ => None,
    }
}

/// Plain text that formats nothing in WhatsApp.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        let Some(safe) = look_alike(c) else {
            out.push(c);
            continue;
        };
        let word = |n: Option<&char>| n.is_some_and(|n| n.is_alphanumeric());
        let inside = word(i.checked_sub(1).and_then(|p| chars.get(p))) && word(chars.get(i + 1));
        // A backtick never stays: three of them open a block wherever they are.
        out.push(if inside && c != '`' { c } else { safe });
    }
    out
}

/// WhatsApp formatting, as a [`Dialect`].
struct WhatsAppText;

impl Dialect for WhatsAppText {
    fn limit(&self) -> usize {
        MESSAGE_LIMIT
    }

    /// Preformatted text is escaped one character at a time: only backticks can end a
    /// block there.
    fn escape(&self, text: &str) -> String {
        text.replace('`', "ˋ")
    }

    fn text(&self, text: &str) -> String {
        escape(text)
    }

    fn code(&self, code: &str) -> String {
        match code.trim().is_empty() {
            true => String::new(),
            // Markers inside are made harmless too: not every WhatsApp shows them as code.
            false => format!("`{}`", escape(code)),
        }
    }

    fn styled(&self, style: Style, inner: &str) -> String {
        let marker = match style {
            Style::Bold => '*',
            Style::Italic => '_',
            Style::Strike => '~',
        };
        // WhatsApp formats only markers that touch the text they wrap.
        let trimmed = inner.trim();
        if trimmed.is_empty() {
            return inner.to_string();
        }
        let lead = &inner[..inner.len() - inner.trim_start().len()];
        let tail = &inner[inner.trim_end().len()..];
        format!("{lead}{marker}{trimmed}{marker}{tail}")
    }

    fn link(&self, _url: &str, _label: Option<&str>) -> Option<String> {
        None
    }

    fn heading(&self, _level: u8, inner: &str) -> String {
        self.styled(Style::Bold, inner)
    }

    fn pre(&self, body: &str) -> String {
        format!("```\n{body}\n```")
    }

    fn quote(&self) -> Quote {
        Quote {
            open: "",
            close: "",
            line: "> ",
        }
    }

    fn shows_text(&self, message: &str) -> bool {
        message
            .replace("```", "")
            .chars()
            .any(|c| !c.is_whitespace())
    }
}

/// Renders Markdown into WhatsApp messages of at most [`MESSAGE_LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &WhatsAppText)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_whatsapp_formatting() {
        let out = render("# Week\n\n**$1,912.40** net, _up_ ~~down~~ `code`\n\n> quoted");
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0],
            "*Week*\n\n*$1,912.40* net, _up_ ~down~ `code`\n\n> quoted"
        );
    }

    #[test]
    fn markers_in_data_format_nothing_but_words_keep_theirs() {
        assert_eq!(escape("luna_rose"), "luna_rose");
        assert_eq!(escape("*hi* _there_ ~x~"), "∗hi∗ ＿there＿ ∼x∼");
        assert_eq!(escape("a```b"), "aˋˋˋb");
        let out = render("fan `*` named *not bold* and ```x```");
        assert!(!out[0].contains("```"), "{}", out[0]);
    }

    #[test]
    fn long_answers_are_split_under_the_limit() {
        let out = render(&"word ".repeat(3_000));
        assert!(out.len() > 1);
        assert!(out.iter().all(|m| m.chars().count() <= MESSAGE_LIMIT));
    }
}
