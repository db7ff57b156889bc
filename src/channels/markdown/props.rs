//! What the dialects' property tests share: any Markdown (arbitrary strings and strings
//! built from Markdown's own fragments), and checks every platform's messages must pass
//! (under the limit, something shown). Each platform's folder states its own properties.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

/// Enough cases to find the edges, few enough for two cores; `PROPTEST_CASES` asks for
/// more. Failures are kept as example tests, not as regression files in the tree.
pub(crate) fn config() -> Config {
    let defaults = Config::default();
    Config {
        cases: match std::env::var_os("PROPTEST_CASES") {
            Some(_) => defaults.cases,
            None => 256,
        },
        failure_persistence: None,
        ..defaults
    }
}

const FRAGMENTS: &[&str] = &[
    "**",
    "*",
    "_",
    "__",
    "`",
    "```",
    "~~",
    "~",
    "[",
    "]",
    "](",
    ")",
    "(",
    "![",
    "#",
    "# ",
    "## ",
    "|",
    " | ",
    "|---|",
    "---",
    "-",
    "- ",
    "+ ",
    "1. ",
    "2) ",
    ">",
    "> ",
    "\n",
    "\n",
    "\n\n",
    "    ",
    "\t",
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "&#42;",
    "&nbsp;",
    "\"",
    "\\",
    "<b>",
    "</b>",
    "<script>",
    "<a href=\"x\">",
    "<!here>",
    "<@U1>",
    "<http://x.io>",
    "http://x.io/a_b?c=1&d=\"2\"",
    "https://example.com/",
    "tg://user?id=1",
    "javascript:alert(1)",
    "mailto:a@b.c",
    "@everyone",
    "@here",
    "@channel",
    "snake_case_name",
    "Luna",
    "earnings",
    "1912.40",
    " ",
    " ",
    "💋",
    "مرحبا",
    "é",
];

fn fragments() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => select(FRAGMENTS).prop_map(String::from),
        1 => "[a-z ]{1,12}",
    ];
    prop::collection::vec(piece, 0..200).prop_map(|pieces| pieces.concat())
}

pub(crate) fn markdown() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        4 => fragments(),
        // Long enough for several messages.
        1 => (fragments(), 1..40_usize).prop_map(|(text, n)| text.repeat(n)),
    ]
}

/// The messages for some Markdown: one empty message when it shows nothing, else
/// messages that each show something.
pub(crate) fn some_shown(messages: &[String], shows: impl Fn(&str) -> bool) -> Result<(), String> {
    if messages.is_empty() {
        return Err("no message at all".into());
    }
    if messages.len() == 1 && messages[0].is_empty() {
        return Ok(());
    }
    match messages.iter().position(|m| !shows(m)) {
        Some(i) => Err(format!("message {i} shows nothing: {:?}", messages[i])),
        None => Ok(()),
    }
}

pub(crate) fn within(messages: &[String], limit: usize) -> Result<(), String> {
    for (i, m) in messages.iter().enumerate() {
        let size = m.chars().count();
        if size > limit {
            return Err(format!("message {i} has {size} characters"));
        }
        if m.matches("```").count() % 2 != 0 {
            return Err(format!("message {i} leaves a code block open: {m:?}"));
        }
    }
    Ok(())
}
