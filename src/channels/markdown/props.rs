//! Properties of the dialects over any Markdown, arbitrary strings and strings built from
//! Markdown's own fragments: Telegram messages that a strict checker of Telegram's HTML
//! accepts, Slack and Discord messages under their limits with every code block closed,
//! no mass mention on Discord, and raw HTML shown as text.

use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::Config;

/// Enough cases to find the edges, few enough for two cores; `PROPTEST_CASES` asks for
/// more. Failures are kept as example tests, not as regression files in the tree.
fn config() -> Config {
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

fn markdown() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        4 => fragments(),
        // Long enough for several messages.
        1 => (fragments(), 1..40_usize).prop_map(|(text, n)| text.repeat(n)),
    ]
}

/// The messages for some Markdown: one empty message when it shows nothing, else
/// messages that each show something.
fn some_shown(messages: &[String], shows: impl Fn(&str) -> bool) -> Result<(), String> {
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

fn within(messages: &[String], limit: usize) -> Result<(), String> {
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

#[cfg(feature = "telegram")]
mod telegram {
    use super::*;
    use crate::channels::telegram::html::{render, LIMIT};

    const TAGS: &[&str] = &[
        "b",
        "i",
        "u",
        "s",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-spoiler",
    ];

    /// Why `html` is not one message Telegram accepts, if it is not.
    pub(super) fn malformed(html: &str) -> Option<String> {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = html;
        while let Some(c) = rest.chars().next() {
            match c {
                '<' => {
                    let Some(end) = rest.find('>') else {
                        return Some(format!("a tag is cut: {rest:?}"));
                    };
                    if let Some(problem) = tag(&rest[1..end], &mut open) {
                        return Some(problem);
                    }
                    rest = &rest[end + 1..];
                }
                '>' => return Some(format!("a bare `>` at {rest:?}")),
                '&' => match entity(rest) {
                    Some(len) => rest = &rest[len..],
                    None => return Some(format!("a bare `&` at {rest:?}")),
                },
                c => rest = &rest[c.len_utf8()..],
            }
        }
        (!open.is_empty()).then(|| format!("{open:?} left open"))
    }

    fn entity(text: &str) -> Option<usize> {
        ["&amp;", "&lt;", "&gt;", "&quot;"]
            .into_iter()
            .find(|e| text.starts_with(e))
            .map(str::len)
    }

    /// Checks one tag against the tags open around it.
    fn tag<'h>(tag: &'h str, open: &mut Vec<&'h str>) -> Option<String> {
        if let Some(name) = tag.strip_prefix('/') {
            return match open.pop() {
                Some(last) if last == name => None,
                last => Some(format!("</{name}> closes {last:?}")),
            };
        }
        let (name, attributes) = tag.split_once(' ').unwrap_or((tag, ""));
        if !TAGS.contains(&name) {
            return Some(format!("unknown tag <{tag}>"));
        }
        // Nothing goes inside code; only emphasis goes inside a link.
        let emphasis = ["b", "i", "u", "s", "tg-spoiler"].contains(&name);
        let refused = |o: &&&str| ["code", "pre"].contains(*o) || **o == "a" && !emphasis;
        if let Some(inside) = open.iter().find(refused) {
            return Some(format!("<{name}> inside <{inside}>"));
        }
        if name == "blockquote" && open.contains(&"blockquote") {
            return Some("a quote inside a quote".into());
        }
        let attributes_ok = match name {
            "a" => href(attributes),
            _ => attributes.is_empty(),
        };
        if !attributes_ok {
            return Some(format!("bad attributes in <{tag}>"));
        }
        open.push(name);
        None
    }

    /// `href="…"` with an http(s) or tg URL, its `&` and `"` as entities.
    fn href(attributes: &str) -> bool {
        let Some(url) = attributes
            .strip_prefix("href=\"")
            .and_then(|a| a.strip_suffix('"'))
        else {
            return false;
        };
        let mut rest = url;
        while let Some(at) = rest.find(['&', '"', '<']) {
            match entity(&rest[at..]) {
                Some(len) => rest = &rest[at + len..],
                None => return false,
            }
        }
        ["http://", "https://", "tg://"]
            .iter()
            .any(|s| url.to_ascii_lowercase().starts_with(s))
    }

    fn visible(html: &str) -> bool {
        let mut in_tag = false;
        html.chars().any(|c| match c {
            '<' => {
                in_tag = true;
                false
            }
            '>' => {
                in_tag = false;
                false
            }
            c => !in_tag && !c.is_whitespace(),
        })
    }

    fn check(markdown: &str) -> Result<(), String> {
        let messages = render(markdown);
        for (i, m) in messages.iter().enumerate() {
            if m.chars().count() > LIMIT {
                return Err(format!("message {i} has {} characters", m.chars().count()));
            }
            if let Some(problem) = malformed(m) {
                return Err(format!("message {i}: {problem}"));
            }
        }
        some_shown(&messages, visible)
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn telegram_messages_are_html_telegram_accepts(markdown in markdown()) {
            check(&markdown).map_err(TestCaseError::fail)?;
        }

        #[test]
        fn raw_html_is_shown_as_text(words in prop::collection::vec(
            select(vec!["<b>", "</b>", "<i>x</i>", "<script>", "<a href=\"https://x.io\">",
                "</a>", "<pre>", "<!-- c -->", "Luna", "&", "<br/>", "\n", " "]), 1..60)
        ) {
            let markdown = words.concat();
            for message in render(&markdown) {
                // (Spaces can make an indented code block, the one tag of its own.)
                let text = message.replace("<pre>", "").replace("</pre>", "");
                prop_assert!(!text.contains('<'), "{message:?}");
            }
        }
    }
}

#[cfg(feature = "slack")]
proptest! {
    #![proptest_config(config())]

    #[test]
    fn slack_sections_fit_and_data_writes_no_markup(markdown in markdown()) {
        use crate::channels::slack::mrkdwn::{render, SECTION_LIMIT};
        let sections = render(&markdown);
        within(&sections, SECTION_LIMIT).map_err(TestCaseError::fail)?;
        some_shown(&sections, |s| !s.replace("```", "").trim().is_empty())
            .map_err(TestCaseError::fail)?;
        for section in &sections {
            // The only `<` is the one opening a link this module writes.
            for (at, _) in section.match_indices('<') {
                let rest = &section[at + 1..];
                prop_assert!(
                    rest.starts_with("http://") || rest.starts_with("https://"),
                    "{section:?}"
                );
            }
        }
    }
}

#[cfg(feature = "discord")]
proptest! {
    #![proptest_config(config())]

    #[test]
    fn discord_messages_fit_and_never_mass_mention(markdown in markdown()) {
        use crate::channels::discord::markdown::{render, LIMIT};
        let messages = render(&markdown);
        within(&messages, LIMIT).map_err(TestCaseError::fail)?;
        some_shown(&messages, |m| !m.trim().is_empty()).map_err(TestCaseError::fail)?;
        for message in &messages {
            prop_assert!(
                !message.contains("@everyone") && !message.contains("@here"),
                "{message:?}"
            );
        }
    }
}

#[cfg(all(test, feature = "telegram"))]
mod checker {
    use super::telegram::malformed;

    #[test]
    fn the_checker_refuses_what_telegram_refuses() {
        for bad in [
            "<b>open",
            "<b><i>x</b></i>",
            "<div>x</div>",
            "<a>x</a>",
            "<a href=\"javascript:x\">x</a>",
            "<code><b>x</b></code>",
            "<a href=\"https://x.io\"><code>x</code></a>",
            "<blockquote><blockquote>x</blockquote></blockquote>",
            "a & b",
            "a > b",
            "&nbsp;",
            "<b class=\"x\">x</b>",
        ] {
            assert!(malformed(bad).is_some(), "{bad}");
        }
        for good in [
            "<b>x <i>y</i></b> &amp; &lt;&gt;&quot;",
            "<a href=\"https://x.io/?a=1&amp;b=2\">x <b>y</b></a>",
            "<blockquote>q <s>s</s></blockquote><pre>a &lt; b</pre>",
        ] {
            assert_eq!(malformed(good), None, "{good}");
        }
    }
}
