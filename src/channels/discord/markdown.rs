//! The core's Markdown as Discord Markdown: `**bold**`, `*italic*`, `~~strike~~`,
//! `` `code` ``, `#` headings, `>` quotes and code blocks in Discord's own syntax, links as
//! "text (<url>)", tables as code blocks; messages stay under Discord's 2,000 characters
//! and a code block is never cut open. Text from fans or the API has Discord's markup
//! characters escaped, so it cannot open a code block of its own or show a mass mention
//! (and every message is also sent with `allowed_mentions` that permit no ping at all).
//! Reading and packing are the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect, Quote, Style};

/// Discord refuses messages over 2,000 characters; stay a little below.
pub const LIMIT: usize = 1_950;

/// Between characters that must not join into markup: shows nothing.
const JOINER_BREAK: char = '\u{200B}';

struct DiscordMarkdown;

impl Dialect for DiscordMarkdown {
    fn limit(&self) -> usize {
        LIMIT
    }

    /// Inside a code block only a backtick is special: a run of three would close it.
    fn escape(&self, text: &str) -> String {
        text.replace('`', "`\u{200B}")
    }

    fn defuse(&self, text: &str) -> String {
        defuse_mentions(text)
    }

    /// Text with Discord's markup characters escaped by a backslash (Discord shows the
    /// character without it); an underscore inside a word is not markup and stays as is.
    fn text(&self, text: &str) -> String {
        let text = defuse_mentions(text);
        let chars: Vec<char> = text.chars().collect();
        let word = |i: Option<usize>| {
            i.and_then(|i| chars.get(i))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let mut out = String::with_capacity(text.len() + 8);
        for (i, &c) in chars.iter().enumerate() {
            let markup = match c {
                '\\' | '*' | '`' | '~' | '|' | '<' | '>' | '[' | ']' => true,
                '_' => !(word(i.checked_sub(1)) && word(Some(i + 1))),
                _ => false,
            };
            if markup {
                out.push('\\');
            }
            out.push(c);
        }
        out
    }

    /// A backtick cannot be escaped in code: it is shown as `ˋ`.
    fn code(&self, code: &str) -> String {
        match code.is_empty() {
            true => String::new(),
            false => format!("`{}`", defuse_mentions(code).replace('`', "ˋ")),
        }
    }

    fn styled(&self, style: Style, inner: &str) -> String {
        let marker = match style {
            Style::Bold => "**",
            Style::Italic => "*",
            Style::Strike => "~~",
        };
        format!("{marker}{inner}{marker}")
    }

    /// Discord shows masked links only in some places: the label is followed by the URL
    /// in `<…>` (a link without an embed).
    fn link(&self, url: &str, label: Option<&str>) -> Option<String> {
        let lower = url.to_ascii_lowercase();
        let web = lower.starts_with("https://") || lower.starts_with("http://");
        if !web {
            return None;
        }
        let mut encoded = String::with_capacity(url.len());
        for c in defuse_mentions(url).chars() {
            if matches!(c, '<' | '>' | '`') || c.is_whitespace() || c.is_control() {
                for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                    encoded.push_str(&format!("%{byte:02X}"));
                }
            } else {
                encoded.push(c);
            }
        }
        let url = encoded;
        Some(match label {
            Some(label) => format!("{label} (<{url}>)"),
            None => format!("<{url}>"),
        })
    }

    /// Discord draws `#` to `###` headings; smaller ones are bold lines.
    fn heading(&self, level: u8, inner: &str) -> String {
        match level {
            1..=3 => format!("{} {inner}", "#".repeat(level.into())),
            _ => format!("**{inner}**"),
        }
    }

    /// A line of text beginning like a heading, a quote or a list item is escaped there.
    fn line_start(&self, line: String) -> String {
        let body = line.trim_start();
        let lead = line.len() - body.len();
        let digits = body.chars().take_while(char::is_ascii_digit).count();
        let at = if body.starts_with(['#', '-', '+']) {
            lead
        } else if digits > 0 && body[digits..].starts_with(['.', ')']) {
            lead + digits
        } else {
            return line;
        };
        format!("{}\\{}", &line[..at], &line[at..])
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
            .chars()
            .any(|c| !c.is_whitespace() && c != '`' && c != JOINER_BREAK)
    }
}

/// Renders Markdown into Discord messages, each at most [`LIMIT`] characters.
pub fn render(markdown: &str) -> Vec<String> {
    markdown::split(markdown, &DiscordMarkdown)
}

/// `@everyone` and `@here` with an invisible break after the `@`, so that even a client
/// that ignored `allowed_mentions` would not read them as mass mentions.
pub fn defuse_mentions(text: &str) -> String {
    text.replace("@everyone", "@\u{200B}everyone")
        .replace("@here", "@\u{200B}here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_code_blocks_and_lines_pass_through() {
        let md = "**Earnings** this week:\n\n| creator | net |\n|---|---:|\n| Luna | 1912.40 |\n| Mia | 0.00 |";
        let out = render(md);
        assert_eq!(out.len(), 1);
        assert!(out[0].starts_with("**Earnings** this week:"), "{}", out[0]);
        assert!(
            out[0].contains("```\ncreator      net\nLuna     1912.40\nMia         0.00\n```"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn long_answers_split_under_the_limit_without_cutting_a_code_block() {
        let rows: String = (0..400)
            .map(|i| format!("line {i} of the block\n"))
            .collect();
        let md = format!("Intro\n```\n{rows}```\nOutro {}", "word ".repeat(600));
        let out = render(&md);
        assert!(out.len() > 3);
        for message in &out {
            assert!(message.chars().count() <= LIMIT, "{}", message.len());
            assert_eq!(message.matches("```").count() % 2, 0, "{message}");
        }
        let joined = out.join("\n");
        assert!(joined.contains("line 0 of the block") && joined.contains("line 399 of the block"));
    }

    #[test]
    fn data_cannot_open_a_code_block_or_mass_mention() {
        let out = render("Top fan: ```evil @everyone @here");
        assert!(!out[0].contains("```"), "{}", out[0]);
        assert!(!out[0].contains("@everyone") && !out[0].contains("@here"));
        let fenced = render("```\nname ``` @everyone\n```");
        assert_eq!(fenced[0].matches("```").count(), 2, "{}", fenced[0]);
    }

    #[test]
    fn each_construct_in_discord_markdown() {
        let md = "## Week *one*\n#### Small\n**bold** _italic_ ~~gone~~ snake_case_names `a<b`\n\n> **Jake** said\n\n- first\n  1. inner\n\n```\nx\n```";
        assert_eq!(
            render(md),
            vec![
                "## Week *one*\n**Small**\n**bold** *italic* ~~gone~~ snake_case_names `a<b`\n\n> **Jake** said\n\n• first\n  1. inner\n\n```\nx\n```"
            ]
        );
    }

    #[test]
    fn links_show_their_url_without_an_embed() {
        assert_eq!(
            render("[the report](<https://x.io/a b>) <https://y.io> [x](ftp://z)"),
            vec!["the report (<https://x.io/a%20b>) <https://y.io> x (ftp://z)"]
        );
    }

    #[test]
    fn markup_in_text_is_escaped() {
        assert_eq!(
            render(r"Fan \*VIP\* said \_hi\_ ~ | <@777> and \# not a heading"),
            vec![r"Fan \*VIP\* said \_hi\_ \~ \| \<@777\> and # not a heading"]
        );
        assert_eq!(render(r"\# 1"), vec![r"\# 1"]);
        assert_eq!(render(r"2024\. was good"), vec![r"2024\. was good"]);
    }

    #[test]
    fn a_long_line_is_cut_with_every_piece_italic() {
        let md = format!("*{}*", "big spender ".repeat(400).trim_end());
        let out = render(&md);
        assert!(out.len() > 1);
        for message in &out {
            assert!(message.chars().count() <= LIMIT);
            let body = message.trim_end();
            assert!(
                body.starts_with("*b") || body.starts_with("*s"),
                "{message}"
            );
            assert!(body.ends_with('*'), "{message}");
            assert!(!body[..body.len() - 1].ends_with(' '), "{message}");
        }
    }
}
