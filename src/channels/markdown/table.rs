//! A table as aligned monospace lines, for platforms that show it in a code block.

/// Which columns are aligned right: those the Markdown aligns right (`---:`), and those
/// whose cells below the header are all numbers.
pub(super) fn right_aligned(rows: &[Vec<String>], explicit: &[bool]) -> Vec<bool> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let numeric = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|ch| ch.is_ascii_digit() || ".,-+$%".contains(ch))
    };
    (0..columns)
        .map(|c| {
            explicit.get(c).copied().unwrap_or(false)
                || rows.len() > 1 && rows[1..].iter().all(|r| numeric(cell(r, c)))
        })
        .collect()
}

fn cell(row: &[String], c: usize) -> &str {
    row.get(c).map(String::as_str).unwrap_or("")
}

/// Pads the columns to equal width, two spaces apart; `right` marks the columns padded
/// on the left.
pub fn align(rows: &[Vec<String>], right: &[bool]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .map(|r| cell(r, c).chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = (0..columns)
                .map(|c| {
                    let text = cell(row, c);
                    match right.get(c).copied().unwrap_or(false) {
                        true => format!("{text:>w$}", w = widths[c]),
                        false => format!("{text:<w$}", w = widths[c]),
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}
