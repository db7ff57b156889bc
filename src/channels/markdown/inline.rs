//! Inline Markdown as spans, written in a dialect; and a line too long for one message cut
//! into pieces that each stand alone: the spans open at a cut are closed before it and
//! opened again after it, and escapes are made after cutting, so none is ever split.

use super::Dialect;

/// An emphasis the platforms write with markup of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Bold,
    Italic,
    Strike,
}

/// Inline content as read, before any escaping.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Span {
    Text(String),
    Code(String),
    Styled(Style, Vec<Span>),
    /// A link (or an image, by its description) to the URL.
    Link(String, Vec<Span>),
}

/// One line of a paragraph or heading: its list marker or indentation, and its spans.
#[derive(Debug, Default)]
pub(super) struct Line {
    pub prefix: String,
    pub spans: Vec<Span>,
}

/// Adds text to `spans`, joined to the text before it.
pub(super) fn push_text(spans: &mut Vec<Span>, text: &str) {
    match spans.last_mut() {
        Some(Span::Text(last)) => last.push_str(text),
        _ => spans.push(Span::Text(text.to_string())),
    }
}

/// What a reader sees of `spans`: the text of each, and a link's URL after its label.
pub(super) fn plain(spans: &[Span]) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(text) | Span::Code(text) => out.push_str(text),
            Span::Styled(_, inner) => out.push_str(&plain(inner)),
            Span::Link(url, label) => {
                let label = plain(label);
                if label.is_empty() || label == *url {
                    out.push_str(url);
                } else {
                    out.push_str(&format!("{label} ({url})"));
                }
            }
        }
    }
    out
}

/// A line written in `dialect`; a heading's styles include bold already.
pub(super) fn render_line(
    prefix: &str,
    spans: &[Span],
    heading: Option<u8>,
    dialect: &impl Dialect,
) -> String {
    let mut active = Vec::new();
    if heading.is_some() {
        active.push(Style::Bold);
    }
    let inner = dialect.line_start(render(spans, dialect, &mut active));
    let inner = match heading {
        Some(level) if !inner.trim().is_empty() => dialect.heading(level, &inner),
        _ => inner,
    };
    match prefix.is_empty() {
        true => inner,
        false => format!("{}{inner}", dialect.text(prefix)),
    }
}

/// `active`: the styles of the spans around these, which a nested span does not repeat.
fn render(spans: &[Span], dialect: &impl Dialect, active: &mut Vec<Style>) -> String {
    let mut out = String::new();
    for span in spans {
        match span {
            Span::Text(text) => out.push_str(&dialect.text(text)),
            Span::Code(code) => out.push_str(&dialect.code(code)),
            Span::Styled(style, inner) if active.contains(style) => {
                out.push_str(&render(inner, dialect, active))
            }
            Span::Styled(style, inner) => {
                active.push(*style);
                let body = render(inner, dialect, active);
                active.pop();
                out.push_str(&wrap(dialect, *style, &body));
            }
            Span::Link(url, label) => out.push_str(&link(dialect, url, label, active)),
        }
    }
    out
}

/// `body` styled, with its leading and trailing whitespace outside the markup (where
/// some dialects would not read a marker next to a space as one).
fn wrap(dialect: &impl Dialect, style: Style, body: &str) -> String {
    let core = body.trim();
    if core.is_empty() {
        return body.to_string();
    }
    let start = body.len() - body.trim_start().len();
    let end = start + core.len();
    format!(
        "{}{}{}",
        &body[..start],
        dialect.styled(style, core),
        &body[end..]
    )
}

fn link(dialect: &impl Dialect, url: &str, label: &[Span], active: &mut Vec<Style>) -> String {
    let shown = plain(label);
    if shown.trim().is_empty() || shown == url || format!("mailto:{shown}") == url {
        let shown = if shown.trim().is_empty() { url } else { &shown };
        return dialect
            .link(url, None)
            .unwrap_or_else(|| dialect.text(shown));
    }
    let inner = render(label, dialect, active);
    dialect
        .link(url, Some(&inner))
        .unwrap_or_else(|| format!("{inner} ({})", dialect.text(url)))
}

// ----- Cutting a long line ----------------------------------------------------------------

/// The most characters of one word in a piece of text that is cut and joined again.
const ATOM: usize = 32;

/// A span open around a piece of text; the number tells two spans of one style apart.
#[derive(Clone, Debug, PartialEq)]
enum Frame {
    Styled(usize, Style),
    Link(usize, String),
}

#[derive(Debug)]
enum Leaf {
    Text(String),
    Code(usize, String),
}

/// A word, a run of spaces or a part of a long word, with the spans around it.
#[derive(Debug)]
struct Atom {
    leaf: Leaf,
    path: Vec<Frame>,
}

/// `line` written in `dialect`, in pieces of at most `max` characters, cut after a space
/// where one is near the end of a piece, else inside a long word.
pub(super) fn cut(
    line: &Line,
    heading: Option<u8>,
    dialect: &impl Dialect,
    max: usize,
) -> Vec<String> {
    let whole = render_line(&line.prefix, &line.spans, heading, dialect);
    if whole.chars().count() <= max {
        return vec![whole];
    }
    let mut all = Vec::new();
    atoms(&line.spans, &mut Vec::new(), &mut 0, &mut all);
    let pad = " ".repeat(line.prefix.chars().count());
    let mut pieces = Vec::new();
    let mut rest = &all[..];
    while !rest.is_empty() {
        let prefix = if pieces.is_empty() {
            &line.prefix
        } else {
            &pad
        };
        let render = |k: usize| render_line(prefix, &build(&rest[..k], 0), heading, dialect);
        let fits = |k: usize| render(k).chars().count() <= max;
        let mut k = longest(rest.len(), fits);
        if k < rest.len() {
            let space = (k / 2..k).rev().find(|&j| is_space(&rest[j]));
            k = space.map_or(k, |j| j + 1);
        }
        pieces.push(render(k));
        rest = &rest[k..];
    }
    pieces
}

/// The largest `k` in `1..=n` for which `fits(k)`, given that `fits` holds up to some
/// `k` and not after (at least 1: a single word always goes somewhere).
fn longest(n: usize, fits: impl Fn(usize) -> bool) -> usize {
    let (mut good, mut step) = (1, 1);
    let mut bad = None;
    while bad.is_none() && good < n {
        let k = (good + step).min(n);
        if fits(k) {
            good = k;
            step *= 2;
        } else {
            bad = Some(k);
        }
    }
    let Some(mut bad) = bad else {
        return good;
    };
    while bad - good > 1 {
        let mid = (good + bad) / 2;
        if fits(mid) {
            good = mid;
        } else {
            bad = mid;
        }
    }
    good
}

fn is_space(atom: &Atom) -> bool {
    let (Leaf::Text(text) | Leaf::Code(_, text)) = &atom.leaf;
    text.starts_with(char::is_whitespace)
}

fn atoms(spans: &[Span], path: &mut Vec<Frame>, next: &mut usize, out: &mut Vec<Atom>) {
    for span in spans {
        *next += 1;
        let id = *next;
        match span {
            Span::Text(text) => out.extend(words(text).map(|w| Atom {
                leaf: Leaf::Text(w),
                path: path.clone(),
            })),
            Span::Code(code) => out.extend(words(code).map(|w| Atom {
                leaf: Leaf::Code(id, w),
                path: path.clone(),
            })),
            Span::Styled(style, inner) => {
                path.push(Frame::Styled(id, *style));
                atoms(inner, path, next, out);
                path.pop();
            }
            Span::Link(url, inner) => {
                path.push(Frame::Link(id, url.clone()));
                atoms(inner, path, next, out);
                path.pop();
            }
        }
    }
}

/// `text` as runs of spaces and of other characters, none longer than [`ATOM`].
fn words(text: &str) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let (mut count, mut spacing) = (0, false);
    for c in text.chars() {
        if !current.is_empty() && (c.is_whitespace() != spacing || count == ATOM) {
            out.push(std::mem::take(&mut current));
            count = 0;
        }
        spacing = c.is_whitespace();
        current.push(c);
        count += 1;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.into_iter()
}

/// The spans of consecutive atoms, below the first `depth` frames of their paths.
fn build(atoms: &[Atom], depth: usize) -> Vec<Span> {
    let mut out = Vec::new();
    let mut j = 0;
    while j < atoms.len() {
        let atom = &atoms[j];
        let Some(frame) = atom.path.get(depth) else {
            match &atom.leaf {
                Leaf::Text(text) => push_text(&mut out, text),
                Leaf::Code(id, code) => match out.last_mut() {
                    Some(Span::Code(last)) if same_code(&atoms[j - 1], *id, depth) => {
                        last.push_str(code)
                    }
                    _ => out.push(Span::Code(code.clone())),
                },
            }
            j += 1;
            continue;
        };
        let end = j + atoms[j..]
            .iter()
            .take_while(|a| a.path.get(depth) == Some(frame))
            .count();
        let inner = build(&atoms[j..end], depth + 1);
        out.push(match frame {
            Frame::Styled(_, style) => Span::Styled(*style, inner),
            Frame::Link(_, url) => Span::Link(url.clone(), inner),
        });
        j = end;
    }
    out
}

/// Whether `before` is a part of the same code span `id`, at the same depth.
fn same_code(before: &Atom, id: usize, depth: usize) -> bool {
    before.path.len() == depth && matches!(before.leaf, Leaf::Code(other, _) if other == id)
}
