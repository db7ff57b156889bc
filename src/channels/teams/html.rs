//! The core's Markdown as the HTML a Teams message shows (`textFormat: "xml"`): `<b>`,
//! `<i>`, `<s>`, `<a href>`, `<code>`, `<pre>`, `<blockquote>` and `<br>`, every other
//! character of text escaped, so a fan's name or an API value never becomes markup. A
//! mention in Teams needs an entity fanops never sends, so no text can notify anyone.
//! Reading and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, html::Html};

/// Characters of rendered text per message: Teams refuses activities over about 28 KB,
/// and each line break becomes `<br>`.
pub const LIMIT: usize = 5000;

/// Teams' message HTML: only web links.
const TEAMS_HTML: Html = Html {
    limit: LIMIT,
    schemes: &["http://", "https://"],
    escape_quotes: true,
};

/// `&`, `<`, `>` and `"` as entities.
pub fn escape(text: &str) -> String {
    markdown::html::escape(text, true)
}

/// Markdown as Teams HTML messages.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &TEAMS_HTML)
        .iter()
        .map(|m| line_breaks(m))
        .collect()
}

/// Line breaks outside `<pre>` as `<br>` (HTML folds them into spaces). Text is escaped,
/// so every `<pre>` is fanops's own.
fn line_breaks(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find("<pre>") {
        out.push_str(&rest[..open].replace('\n', "<br>"));
        let block = &rest[open..];
        let end = block
            .find("</pre>")
            .map_or(block.len(), |e| e + "</pre>".len());
        out.push_str(&block[..end]);
        rest = &block[end..];
    }
    out.push_str(&rest.replace('\n', "<br>"));
    out
}

/// Plain text as one line of Teams HTML.
pub fn plain(text: &str) -> String {
    line_breaks(&escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_text_and_mentions_cannot_be_made() {
        let out = render("Top fan: **<at>Jake</at> & Co** 💋 `a<b`");
        assert_eq!(
            out,
            vec!["Top fan: <b>&lt;at&gt;Jake&lt;/at&gt; &amp; Co</b> 💋 <code>a&lt;b</code>"]
        );
    }

    #[test]
    fn lines_break_outside_code_blocks_only() {
        let out = render("one\ntwo\n\n```\na\nb\n```\nthree");
        assert_eq!(out, vec!["one<br>two<br><br><pre>a\nb</pre><br>three"]);
    }

    #[test]
    fn only_web_links_are_links() {
        let out = render("[r](https://x.io/?a=1&b=\"2\") [x](javascript:alert(1))");
        assert_eq!(
            out,
            vec!["<a href=\"https://x.io/?a=1&amp;b=&quot;2&quot;\">r</a> x (javascript:alert(1))"]
        );
    }

    #[test]
    fn long_answers_split_below_the_limit() {
        let text = "**bold words** and more & text.\n".repeat(2000);
        let out = render(&text);
        assert!(out.len() > 1);
        for m in &out {
            assert!(m.chars().count() <= LIMIT * 2);
            assert_eq!(m.matches("<b>").count(), m.matches("</b>").count());
        }
    }
}
