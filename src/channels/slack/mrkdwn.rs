//! The core's Markdown as Slack mrkdwn: `*bold*`, `_italic_`, `~strike~`, `` `code` ``,
//! `<url|text>` links, `>` quotes, headings as bold lines, tables and code as ``` blocks,
//! in sections under Slack's 3,000-character limit. Text from data can never ping anyone:
//! `&`, `<` and `>` are escaped (so `<!here>` and `<@U…>` stay text), and a bare
//! `@channel`, `@here` or `@everyone` gets an invisible joiner after its `@`. Reading and
//! packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect, Quote, Style};

/// Slack's limit for a section block's text is 3,000 characters; stay a little below it.
pub const SECTION_LIMIT: usize = 2_900;

/// Escapes what Slack's mrkdwn reserves, and defuses the words that notify a channel.
pub fn escape(text: &str) -> String {
    defuse_broadcasts(&escape_reserved(text))
}

/// `&`, `<` and `>` as entities.
fn escape_reserved(text: &str) -> String {
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

/// `@channel` → `@\u{2060}channel`: shown the same, notifies nobody.
fn defuse_broadcasts(text: &str) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let lowered = rest.to_ascii_lowercase();
        if ["channel", "here", "everyone"]
            .iter()
            .any(|w| lowered.starts_with(w))
        {
            out.push('\u{2060}');
        }
    }
    out.push_str(rest);
    out
}

/// Slack mrkdwn, as a [`Dialect`].
struct Mrkdwn;

impl Dialect for Mrkdwn {
    fn limit(&self) -> usize {
        SECTION_LIMIT
    }

    /// A backtick gets an invisible break after it, so that no run of three closes a
    /// code block.
    fn escape(&self, text: &str) -> String {
        escape_reserved(text).replace('`', "`\u{200B}")
    }

    fn defuse(&self, text: &str) -> String {
        defuse_broadcasts(text)
    }

    /// mrkdwn has no escape for a backtick in code: it is shown as `ˋ`.
    fn code(&self, code: &str) -> String {
        match code.is_empty() {
            true => String::new(),
            false => format!("`{}`", escape(code).replace('`', "ˋ")),
        }
    }

    fn styled(&self, style: Style, inner: &str) -> String {
        let marker = match style {
            Style::Bold => '*',
            Style::Italic => '_',
            Style::Strike => '~',
        };
        format!("{marker}{inner}{marker}")
    }

    /// Only http(s) URLs become links; the URL's `|`, `<`, `>` and backticks are
    /// percent-encoded so it cannot close the link early or touch a code block, and a `|`
    /// in the label is shown as `¦`.
    fn link(&self, url: &str, label: Option<&str>) -> Option<String> {
        let lower = url.to_ascii_lowercase();
        let web = lower.starts_with("https://") || lower.starts_with("http://");
        if !web || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let url = url
            .replace('|', "%7C")
            .replace('<', "%3C")
            .replace('>', "%3E")
            .replace('`', "%60")
            .replace('&', "&amp;");
        Some(match label {
            Some(label) => format!("<{url}|{}>", label.replace('|', "¦")),
            None => format!("<{url}>"),
        })
    }

    fn heading(&self, _level: u8, inner: &str) -> String {
        format!("*{inner}*")
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
            .any(|c| !c.is_whitespace() && c != '\u{2060}' && c != '\u{200B}')
    }
}

/// Renders Markdown into mrkdwn sections, each at most [`SECTION_LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &Mrkdwn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_becomes_mrkdwn() {
        let out = render(
            "# Week\nTop fan: **Jake** earned _a lot_ and *more*, see [the report](https://x.io/a|b) `a<b` snake_case_name",
        );
        assert_eq!(
            out,
            vec![
                "*Week*\nTop fan: *Jake* earned _a lot_ and _more_, see <https://x.io/a%7Cb|the report> `a&lt;b` snake_case_name"
            ]
        );
    }

    #[test]
    fn data_cannot_ping_or_inject_links() {
        let out = render("Fan <!here> said @channel & @Everyone <@U123> [x](javascript:alert)");
        let text = &out[0];
        assert!(text.contains("&lt;!here&gt;"), "{text}");
        assert!(text.contains("&lt;@U123&gt;"), "{text}");
        assert!(text.contains("@\u{2060}channel"), "{text}");
        assert!(text.contains("@\u{2060}Everyone"), "{text}");
        assert!(text.contains("&amp;"), "{text}");
        assert!(!text.contains('<'), "no markup of the data's own: {text}");
    }

    #[test]
    fn tables_become_code_blocks() {
        let out = render("| creator | net |\n|---|---:|\n| Luna <3 | 1912.40 |\n| Mia | 0.00 |");
        assert_eq!(
            out,
            vec!["```\ncreator      net\nLuna &lt;3  1912.40\nMia         0.00\n```"]
        );
    }

    #[test]
    fn long_answers_split_into_sections_under_the_limit() {
        let para = "**bold words here** and plain text & more. ".repeat(300);
        let table: String = (0..400).map(|i| format!("| fan{i} | {i}.00 |\n")).collect();
        let out = render(&format!("{para}\n| fan | spent |\n|---|---|\n{table}"));
        assert!(out.len() > 3);
        for section in &out {
            assert!(section.chars().count() <= SECTION_LIMIT);
            assert_eq!(section.matches("```").count() % 2, 0, "{section}");
        }
    }

    #[test]
    fn each_construct_in_mrkdwn() {
        let md = "## Week *one*\n**bold** _italic_ ~~gone~~ snake_case_names `a<b`\n\n> **Jake** said\n> hi\n\n1. first\n   - inner\n2. second\n\n```\nselect 1; -- a ``` b\n```";
        assert_eq!(
            render(md),
            vec![
                "*Week _one_*\n*bold* _italic_ ~gone~ snake_case_names `a&lt;b`\n\n> *Jake* said\n> hi\n\n1. first\n   • inner\n2. second\n\n```\nselect 1; -- a `\u{200B}`\u{200B}`\u{200B} b\n```"
            ]
        );
    }

    #[test]
    fn links_are_slack_links_only_for_the_web() {
        assert_eq!(
            render("[a](https://x.io/?q=<1>&r=2) [b](mailto:b@x.io) <https://y.io> [**c**](http://z.io)"),
            vec!["<https://x.io/?q=%3C1%3E&amp;r=2|a> b (mailto:b@x.io) <https://y.io> <http://z.io|*c*>"]
        );
    }

    #[test]
    fn a_long_bold_line_is_cut_with_each_piece_bold() {
        let md = format!("**{}**", "big spender ".repeat(500).trim_end());
        let out = render(&md);
        assert!(out.len() > 1);
        for section in &out {
            assert!(section.chars().count() <= SECTION_LIMIT);
            assert!(
                section.starts_with("*b") || section.starts_with("*s"),
                "{section}"
            );
            let body = section.trim_end();
            assert!(body.ends_with('*') && !body[..body.len() - 1].ends_with(' '));
        }
    }
}
