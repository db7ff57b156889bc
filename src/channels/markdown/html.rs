//! An HTML message dialect, for platforms whose messages are a small set of HTML tags
//! (`<b>`, `<i>`, `<s>`, `<a href>`, `<code>`, `<pre>`, `<blockquote>`): every character
//! of text escaped, so a fan's name or an API value never becomes markup; headings as bold
//! lines; links only with the schemes the platform opens.

use super::{Dialect, Quote, Style};

/// One platform's HTML.
pub struct Html {
    /// Characters of rendered text per message.
    pub limit: usize,
    /// The link schemes the platform opens (`https://`, …); any other URL is shown as text.
    pub schemes: &'static [&'static str],
    /// Whether `"` is escaped in text too (it always is inside `href`).
    pub escape_quotes: bool,
}

/// `&`, `<` and `>` (and `"` when `quotes`) as entities.
pub fn escape(text: &str, quotes: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if quotes => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether an HTML message shows any text besides whitespace (tags show none; text has
/// its `<` and `>` escaped).
pub fn shows_text(html: &str) -> bool {
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

impl Dialect for Html {
    fn limit(&self) -> usize {
        self.limit
    }

    fn escape(&self, text: &str) -> String {
        escape(text, self.escape_quotes)
    }

    fn code(&self, code: &str) -> String {
        format!("<code>{}</code>", self.escape(code))
    }

    fn styled(&self, style: Style, inner: &str) -> String {
        let tag = match style {
            Style::Bold => "b",
            Style::Italic => "i",
            Style::Strike => "s",
        };
        format!("<{tag}>{inner}</{tag}>")
    }

    fn link(&self, url: &str, label: Option<&str>) -> Option<String> {
        let lower = url.to_ascii_lowercase();
        let opens = self
            .schemes
            .iter()
            .any(|scheme| lower.starts_with(scheme) && lower.len() > scheme.len());
        if !opens || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let label = label.map_or_else(|| self.escape(url), str::to_string);
        Some(format!("<a href=\"{}\">{label}</a>", escape(url, true)))
    }

    fn heading(&self, _level: u8, inner: &str) -> String {
        format!("<b>{inner}</b>")
    }

    fn pre(&self, body: &str) -> String {
        format!("<pre>{body}</pre>")
    }

    fn quote(&self) -> Quote {
        Quote {
            open: "<blockquote>",
            close: "</blockquote>",
            line: "",
        }
    }

    fn shows_text(&self, message: &str) -> bool {
        shows_text(message)
    }
}
