//! The core's Markdown for platforms without rich text: plain lines a person reads at a
//! terminal. Emphasis markers are dropped (inline code keeps its backticks, as quotes),
//! links show their URL after the text, lists are "• item" and "1. item" lines, quotes
//! are ruled on the left, and tables are box tables with their numbers aligned right.
//! Reading is the shared `channels::markdown`.

use crate::channels::markdown::{self, Dialect, Quote, Style};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};

/// Terminal text for `markdown`.
pub fn terminal(markdown: &str) -> String {
    markdown::split(markdown, &Terminal).join("\n")
}

/// Plain text, as a [`Dialect`] without markup or a length limit.
struct Terminal;

impl Dialect for Terminal {
    fn limit(&self) -> usize {
        usize::MAX
    }

    fn escape(&self, text: &str) -> String {
        text.to_string()
    }

    /// Inline code keeps its backticks: at a terminal they quote a name as a command's
    /// messages do (`FANOPS_…`), and a name can be copied whole.
    fn code(&self, code: &str) -> String {
        format!("`{code}`")
    }

    fn styled(&self, _style: Style, inner: &str) -> String {
        inner.to_string()
    }

    fn link(&self, _url: &str, _label: Option<&str>) -> Option<String> {
        None
    }

    fn heading(&self, _level: u8, inner: &str) -> String {
        inner.to_string()
    }

    fn pre(&self, body: &str) -> String {
        body.to_string()
    }

    fn quote(&self) -> Quote {
        Quote {
            open: "",
            close: "",
            line: "│ ",
        }
    }

    fn rule(&self) -> &'static str {
        "────────────────────────"
    }

    fn table(&self, rows: &[Vec<String>], right: &[bool]) -> Vec<String> {
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED);
        let mut rows = rows.iter();
        table.set_header(rows.next().cloned().unwrap_or_default());
        for row in rows {
            table.add_row(row.clone());
        }
        for (c, _) in right.iter().enumerate().filter(|(_, right)| **right) {
            if let Some(column) = table.column_mut(c) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.lines().collect()
    }

    fn shows_text(&self, message: &str) -> bool {
        !message.trim().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_become_box_tables() {
        let md = "Earnings:\n\n| creator | net |\n|---|---:|\n| **Luna** | 1912.40 |\n| Mia | 0.00 |\nDone.";
        let out = terminal(md);
        assert!(out.contains("Earnings:"));
        assert!(out.contains("│ Luna    ┆ 1912.40 │"), "{out}");
        assert!(!out.contains("|---"));
        assert!(out.ends_with("Done."));
    }

    #[test]
    fn markup_becomes_plain_text() {
        let md = "# Week\n**Jake** earned _a lot_ ~~less~~ with `code` snake_case_names, see [the report](https://x.io)\n\n> quoted\n\n1. one\n   * sub\n\n```\nfn main() {}\n```\n\n---\nend";
        assert_eq!(
            terminal(md),
            "Week\nJake earned a lot less with `code` snake_case_names, see the report (https://x.io)\n\n│ quoted\n\n1. one\n   • sub\n\nfn main() {}\n\n────────────────────────\nend"
        );
    }

    #[test]
    fn numbers_in_tables_align_right() {
        let out = terminal("| creator | net |\n|---|---|\n| Luna | 1912.40 |\n| Mia | 0.00 |");
        assert!(out.contains("│ Mia     ┆    0.00 │"), "{out}");
        assert!(out.contains("│ creator ┆     net │"), "{out}");
    }
}
