//! Properties of Telegram's HTML over any Markdown: every message is one that a strict
//! checker of Telegram's HTML mode accepts, under the limit, with raw HTML shown as text.

use crate::channels::markdown::props::{config, markdown as any_markdown, some_shown};
use crate::channels::telegram::html::{render, shows_text, LIMIT};
use proptest::prelude::*;
use proptest::sample::select;

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

/// Why `html` is not one message Telegram accepts, if it is not (the strict checker the
/// splitter's property uses too).
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
    some_shown(&messages, shows_text)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn telegram_messages_are_html_telegram_accepts(markdown in any_markdown()) {
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

mod checker {
    use super::malformed;

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
