//! The Telegram message splitter: any Markdown (emoji, `<`, `&`, code fences, tables,
//! lines far longer than a message) becomes messages that each fit the limit, each stand
//! alone as HTML (every tag closed in the message that opens it, no entity cut), and
//! together show every character the Markdown had.

use super::html::{render, LIMIT};
use super::props::malformed;
use proptest::prelude::*;
use proptest::sample::select;

use crate::channels::markdown::props::config;

/// Characters that are markup in the core's Markdown (CommonMark), or table padding and
/// list bullets: they may be dropped (`**`, `_x_`, a fence, a `>` quote, a backslash
/// escape, a `+` item, a `===` heading line, a table's `|` and `|---|`) or added (padding,
/// `•`) by rendering.
fn is_markup(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '*' | '`'
                | '|'
                | '#'
                | '-'
                | ':'
                | '_'
                | '~'
                | '>'
                | '\\'
                | '['
                | ']'
                | '•'
                | '='
                | '+'
        )
}

/// What a reader sees of a message: its text without tags, entities unescaped.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            rest = &rest[end..];
            continue;
        }
        if c == '&' {
            let entity = [
                ("&amp;", '&'),
                ("&lt;", '<'),
                ("&gt;", '>'),
                ("&quot;", '"'),
            ]
            .into_iter()
            .find(|(name, _)| rest.starts_with(name));
            if let Some((name, shown)) = entity {
                out.push(shown);
                rest = &rest[name.len()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// What must survive rendering: the text's characters other than markup, in order. A
/// code fence is markup whole (its info string is not shown); which lines open and close
/// one is CommonMark's reading (a line "```x`" opens none), so pulldown-cmark finds them.
fn content(markdown: &str) -> String {
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let (mut kept, mut after, mut fenced) = (String::new(), 0, false);
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                kept.push_str(&markdown[after..range.start]);
                (after, fenced) = (range.end, true);
            }
            Event::Text(code) if fenced => kept.push_str(&code),
            Event::End(TagEnd::CodeBlock) => fenced = false,
            _ => {}
        }
    }
    kept.push_str(&markdown[after..]);
    kept.chars().filter(|c| !is_markup(*c)).collect()
}

/// What a reader sees of all the messages, as [`content`] counts it.
fn content_shown(messages: &[String]) -> String {
    let shown: String = messages.iter().map(|m| visible(m)).collect();
    shown.chars().filter(|c| !is_markup(*c)).collect()
}

fn short(text: &str) -> String {
    text.chars().take(12).collect()
}

// ----- Markdown -----------------------------------------------------------------------

fn word() -> impl Strategy<Value = String> {
    let words = select(vec![
        "earnings",
        "Luna",
        "💋",
        "👩‍❤️‍👨",
        "🇬🇧",
        "مرحبا",
        "日本語",
        "<3",
        "a<b",
        "&",
        "&amp;",
        "&lt;",
        "R&D;",
        ">",
        "1912.40",
        "$",
        "%",
        "_x_",
        ";",
        "\"q\"",
        "é",
        "\u{200d}",
    ])
    .prop_map(String::from);
    prop_oneof![3 => words, 1 => "[^\n\r`*|#]{1,8}"]
}

/// One line of prose: words with bold, code and stray markers between them.
fn prose_line() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        6 => word(),
        1 => prop::collection::vec(word(), 1..4).prop_map(|w| format!("**{}**", w.join(" "))),
        1 => prop::collection::vec(word(), 1..3).prop_map(|w| format!("`{}`", w.join(" "))),
        1 => select(vec!["**", "`", "*", "#"]).prop_map(String::from),
    ];
    (
        prop::collection::vec((token, select(vec![" ", " ", ""])), 1..20),
        select(vec!["", "", "# ", "## "]),
    )
        .prop_map(|(tokens, heading)| {
            let line: String = tokens.into_iter().map(|(t, gap)| t + gap).collect();
            format!("{heading}{line}")
        })
}

/// A line far longer than a message: one token repeated, with or without spaces, plain,
/// bold, as code or as a heading.
fn long_line() -> impl Strategy<Value = String> {
    let wrap = select(vec![
        ("", ""),
        ("**", "**"),
        ("`", "`"),
        ("# ", ""),
        ("# a `", "` b"),
    ]);
    (word(), select(vec![" ", ""]), 100..1500_usize, wrap).prop_map(|(word, gap, n, (l, r))| {
        let body = vec![word; n].join(gap);
        format!("{l}{body}{r}")
    })
}

fn table() -> impl Strategy<Value = String> {
    let cell = || prop::collection::vec(word(), 0..3).prop_map(|w| w.join(" "));
    (2..5_usize, 1..60_usize).prop_flat_map(move |(columns, rows)| {
        prop::collection::vec(prop::collection::vec(cell(), columns), rows + 1).prop_map(
            move |rows| {
                let line = |cells: &Vec<String>| format!("| {} |", cells.join(" | "));
                let mut lines = vec![line(&rows[0]), format!("|{}", "---|".repeat(columns))];
                lines.extend(rows[1..].iter().map(line));
                lines.join("\n")
            },
        )
    })
}

fn code_block() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        5 => prop::collection::vec(word(), 0..8).prop_map(|w| w.join(" ")),
        1 => (word(), 100..1500_usize).prop_map(|(w, n)| w.repeat(n)),
    ];
    (prop::collection::vec(line, 0..40), any::<bool>()).prop_map(|(lines, closed)| {
        let end = if closed { "\n```" } else { "" };
        format!("```\n{}{end}", lines.join("\n"))
    })
}

fn markdown() -> impl Strategy<Value = String> {
    let block = prop_oneof![
        16 => prose_line(),
        4 => Just(String::new()),
        1 => long_line(),
        2 => table(),
        2 => code_block(),
    ];
    prop::collection::vec(block, 0..40).prop_map(|blocks| blocks.join("\n"))
}

/// Why the messages made of `markdown` would not do, if they would not: one too long, one
/// that is not HTML on its own, one that shows nothing, or text lost or added on the way.
fn unsound(markdown: &str) -> Option<String> {
    let messages = render(markdown);
    for (i, message) in messages.iter().enumerate() {
        let size = message.chars().count();
        if size > LIMIT {
            return Some(format!("message {i} has {size} characters"));
        }
        if let Some(problem) = malformed(message) {
            return Some(format!("message {i}: {problem}"));
        }
        if messages.len() > 1 && visible(message).trim().is_empty() {
            return Some(format!("message {i} shows nothing"));
        }
    }
    let (shown, given) = (content_shown(&messages), content(markdown));
    if shown == given {
        return None;
    }
    let same = shown
        .chars()
        .zip(given.chars())
        .take_while(|(a, b)| a == b)
        .count();
    Some(format!(
        "shown {} characters of {}, the same up to {same}: then {:?} instead of {:?}",
        shown.chars().count(),
        given.chars().count(),
        short(&shown.chars().skip(same).collect::<String>()),
        short(&given.chars().skip(same).collect::<String>()),
    ))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_message_fits_stands_alone_and_together_they_lose_nothing(markdown in markdown()) {
        if let Some(problem) = unsound(&markdown) {
            return Err(TestCaseError::fail(problem));
        }
    }
}

// ----- What the property found, kept as examples ---------------------------------------

#[test]
fn a_code_line_longer_than_a_message_is_wrapped_not_cut_short() {
    for line in [
        "earnings".repeat(600),
        "<3".repeat(2100),
        "مرحبا".repeat(900),
    ] {
        let markdown = format!("```\n{line}\n```");
        assert_eq!(unsound(&markdown), None, "{}", short(&line));
        assert!(render(&markdown).len() > 1);
    }
}

#[test]
fn a_cut_inside_nested_tags_closes_and_reopens_each() {
    // A heading (bold) holding inline code longer than a message.
    let markdown = format!("# a `{}` b", "earnings ".repeat(600));
    assert_eq!(unsound(&markdown), None);
    let messages = render(&markdown);
    assert!(
        messages[0].ends_with("</code></b>"),
        "{}",
        short(&messages[0])
    );
    assert!(
        messages[1].starts_with("<b><code>"),
        "{}",
        short(&messages[1])
    );
}

#[test]
fn a_blank_code_line_is_not_left_alone_as_a_message() {
    // The blank line and the long one do not fit one message together.
    let markdown = format!("```\n\n{}\n```", "a".repeat(LIMIT - 12));
    assert_eq!(unsound(&markdown), None);
}

#[test]
fn an_empty_code_block_then_a_list_marker_loses_nothing() {
    // Found by the property: an empty fenced block followed by "0)".
    assert_eq!(unsound("```\n\n```\n0)"), None);
}
