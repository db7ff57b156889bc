//! Rendering the core's Markdown for platforms without rich text.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Table};

/// Terminal text: Markdown tables become aligned box tables; bold markers are dropped.
pub fn terminal(markdown: &str) -> String {
    let mut out = Vec::new();
    let lines: Vec<&str> = markdown.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        if let Some((rows, next)) = table_at(&lines, i) {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            let mut rows = rows.into_iter();
            table.set_header(rows.next().unwrap_or_default());
            for row in rows {
                table.add_row(row);
            }
            out.push(table.to_string());
            i = next;
            continue;
        }
        out.push(lines[i].replace("**", ""));
        i += 1;
    }
    out.join("\n")
}

/// A Markdown table starting at `lines[start]`: its rows (header first, bold markers
/// dropped) and the index of the first line after it.
pub(crate) fn table_at(lines: &[&str], start: usize) -> Option<(Vec<Vec<String>>, usize)> {
    if !is_table_row(lines[start]) || !lines.get(start + 1).is_some_and(|l| is_separator(l)) {
        return None;
    }
    let mut rows = vec![cells(lines[start])];
    let mut i = start + 2;
    while i < lines.len() && is_table_row(lines[i]) {
        rows.push(cells(lines[i]));
        i += 1;
    }
    Some((rows, i))
}

fn is_table_row(line: &str) -> bool {
    let t = line.trim();
    t.starts_with('|') && t.ends_with('|') && t.len() > 1
}

fn is_separator(line: &str) -> bool {
    is_table_row(line)
        && line
            .trim()
            .chars()
            .all(|c| matches!(c, '|' | '-' | ':' | ' '))
}

fn cells(line: &str) -> Vec<String> {
    let t = line.trim();
    t[1..t.len() - 1]
        .split('|')
        .map(|c| c.trim().replace("**", ""))
        .collect()
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
}
