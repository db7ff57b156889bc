//! The core's Markdown as Telegram HTML: only the tags Telegram accepts (`<b>`, `<i>`,
//! `<s>`, `<a href>`, `<code>`, `<pre>`, `<blockquote>`), all text escaped, headings as bold
//! lines, lists as "• item" and "1. item" lines, tables as `<pre>` blocks; split into
//! messages below Telegram's 4096-character limit without ever cutting through a tag.
//! Reading and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, html::Html};

/// Telegram's limit is 4096 characters of text; stay a little below it.
pub const LIMIT: usize = 4000;

/// Telegram's HTML parse mode. Only web and `tg://` links: Telegram refuses a message
/// with a link it cannot open.
const TELEGRAM_HTML: Html = Html {
    limit: LIMIT,
    schemes: &["http://", "https://", "tg://"],
    escape_quotes: false,
};

/// Escapes the three characters Telegram's HTML mode reserves.
pub fn escape(text: &str) -> String {
    markdown::html::escape(text, false)
}

/// Renders Markdown into HTML messages, each at most [`LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &TELEGRAM_HTML)
}

/// Whether an HTML message shows any text besides whitespace.
#[cfg(test)]
pub(super) fn shows_text(html: &str) -> bool {
    markdown::html::shows_text(html)
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

    #[test]
    fn headings_are_bold_lines_and_emphasis_is_tagged() {
        assert_eq!(
            render("## Week *one*\n**bold** _italic_ *also* ~~gone~~ snake_case_names"),
            vec![
                "<b>Week <i>one</i></b>\n<b>bold</b> <i>italic</i> <i>also</i> <s>gone</s> snake_case_names"
            ]
        );
    }

    #[test]
    fn only_web_and_tg_links_are_links() {
        let out = render(
            "[report](https://x.io/?a=1&b=\"2\") [me](tg://user?id=1) [file](/tmp/x) [x](javascript:alert(1)) <https://y.io>",
        );
        assert_eq!(
            out,
            vec![
                "<a href=\"https://x.io/?a=1&amp;b=&quot;2&quot;\">report</a> <a href=\"tg://user?id=1\">me</a> file (/tmp/x) x (javascript:alert(1)) <a href=\"https://y.io\">https://y.io</a>"
            ]
        );
    }

    #[test]
    fn code_spans_and_blocks_are_escaped_code() {
        let out = render("Run `a<b && c`:\n\n```sql\nselect * from fans where x < 3;\n```\n\n    indented <code>");
        assert_eq!(
            out,
            vec![
                "Run <code>a&lt;b &amp;&amp; c</code>:\n\n<pre>select * from fans where x &lt; 3;</pre>\n\n<pre>indented &lt;code&gt;</pre>"
            ]
        );
    }

    #[test]
    fn quotes_are_blockquotes_and_nested_ones_join_them() {
        let out = render("> Fan said:\n> > **hi** there\n\nDone.");
        assert_eq!(
            out,
            vec!["<blockquote>Fan said:\n<b>hi</b> there</blockquote>\n\nDone."]
        );
    }

    #[test]
    fn lists_are_bullets_and_numbers_indented_by_depth() {
        let out = render(
            "Top fans:\n\n1. Jake\n   - tips: **$50**\n   - since 2023\n2. Luna\n\n* a\n* b",
        );
        assert_eq!(
            out,
            vec![
                "Top fans:\n\n1. Jake\n   • tips: <b>$50</b>\n   • since 2023\n2. Luna\n\n• a\n• b"
            ]
        );
    }

    #[test]
    fn html_and_references_in_the_markdown_are_text() {
        let out =
            render("<b>Jake</b> <script>alert(1)</script>\n\n<div>\nhi\n</div>\n\nR&D &amp; co");
        assert_eq!(
            out,
            vec![
                "&lt;b&gt;Jake&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;\n\n&lt;div&gt;\nhi\n&lt;/div&gt;\n\nR&amp;D &amp;amp; co"
            ]
        );
    }

    #[test]
    fn a_line_under_a_table_is_not_a_row() {
        let out = render("| fan | net |\n|---|---|\n| Jake | 5 |\nTotal: 5");
        assert_eq!(out, vec!["<pre>fan   net\nJake    5</pre>\nTotal: 5"]);
    }

    #[test]
    fn a_long_bold_link_is_cut_into_closed_and_reopened_pieces() {
        let md = format!(
            "[**{}**](https://x.io)",
            "big spender ".repeat(700).trim_end()
        );
        let out = render(&md);
        assert!(out.len() > 1);
        for m in &out {
            assert!(m.chars().count() <= LIMIT);
            assert!(
                m.starts_with("<a href=\"https://x.io\"><b>"),
                "{}",
                &m[..40]
            );
            // A space at the cut stays outside the bold, inside the link.
            let end = m.strip_suffix("</a>").map(str::trim_end);
            assert!(
                end.is_some_and(|e| e.ends_with("</b>")),
                "{}",
                &m[m.len() - 40..]
            );
        }
    }
}
