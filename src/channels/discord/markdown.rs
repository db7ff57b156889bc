//! The core's Markdown as Discord Markdown: Discord renders `**bold**`, `*italic*`,
//! `` `code` `` and `#` headings itself, so lines pass through; tables become code blocks;
//! messages stay under Discord's 2,000 characters and a code block is never cut open.
//! Text from fans or the API cannot open a code block of its own or show a mass mention
//! (and every message is also sent with `allowed_mentions` that permit no ping at all).

use crate::channels::markdown::{self, Dialect};

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

    fn inline(&self, line: &str) -> String {
        inline(line)
    }

    fn pre(&self, body: &str) -> String {
        format!("```\n{body}\n```")
    }

    fn split_line(&self, line: &str, limit: usize) -> Vec<String> {
        split_plain(line, limit)
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

/// One line of Markdown as Discord shows it: unchanged, except that a stray fence cannot
/// open a code block and `@everyone` / `@here` show as plain words.
fn inline(line: &str) -> String {
    defuse_mentions(&line.replace("```", "`\u{200B}`\u{200B}`"))
}

/// `@everyone` and `@here` with an invisible break after the `@`, so that even a client
/// that ignored `allowed_mentions` would not read them as mass mentions.
pub fn defuse_mentions(text: &str) -> String {
    text.replace("@everyone", "@\u{200B}everyone")
        .replace("@here", "@\u{200B}here")
}

/// A line longer than a message, cut at spaces where possible.
fn split_plain(line: &str, limit: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut current = String::new();
    let mut size = 0;
    for word in line.split_inclusive(' ') {
        let width = word.chars().count();
        if size + width > limit && !current.is_empty() {
            pieces.push(std::mem::take(&mut current));
            size = 0;
        }
        if width > limit {
            for c in word.chars() {
                if size == limit {
                    pieces.push(std::mem::take(&mut current));
                    size = 0;
                }
                current.push(c);
                size += 1;
            }
            continue;
        }
        current.push_str(word);
        size += width;
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
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
}
