//! The inline spans of a paragraph being read, line by line, with the spans still open.

use super::inline::{plain, push_text, Span, Style};

/// A link whose URL is longer than this shows the URL as text: markup that long could
/// not be cut to fit a message.
const MAX_URL: usize = 300;

/// The inline spans being read, line by line, with the spans still open.
#[derive(Default)]
pub(super) struct Spans {
    lines: Vec<Vec<Span>>,
    top: Vec<Span>,
    open: Vec<(Open, Vec<Span>)>,
}

#[derive(Clone)]
pub(super) enum Open {
    Styled(Style),
    Link(String),
    /// A span that adds nothing: a style already open, an image inside a link.
    Plain,
}

impl Spans {
    fn current(&mut self) -> &mut Vec<Span> {
        match self.open.last_mut() {
            Some((_, children)) => children,
            None => &mut self.top,
        }
    }

    fn in_link(&self) -> bool {
        self.open.iter().any(|(o, _)| matches!(o, Open::Link(_)))
    }

    pub(super) fn text(&mut self, text: &str) {
        if !text.is_empty() {
            push_text(self.current(), text);
        }
    }

    /// Code inside a link is shown as text (a platform may refuse code in a link).
    pub(super) fn code(&mut self, code: &str) {
        match self.in_link() {
            true => self.text(code),
            false => self.current().push(Span::Code(code.to_string())),
        }
    }

    pub(super) fn open(&mut self, open: Open) {
        let repeated = match &open {
            Open::Styled(style) => self
                .open
                .iter()
                .any(|(o, _)| matches!(o, Open::Styled(s) if s == style)),
            Open::Link(_) => self.in_link(),
            Open::Plain => false,
        };
        self.open
            .push((if repeated { Open::Plain } else { open }, Vec::new()));
    }

    pub(super) fn close(&mut self) {
        let Some((open, children)) = self.open.pop() else {
            return;
        };
        match open {
            Open::Styled(style) => self.current().push(Span::Styled(style, children)),
            Open::Link(url) if url.chars().count() > MAX_URL => {
                let label = plain(&children);
                for span in children {
                    self.current().push(span);
                }
                let url = if label.trim().is_empty() {
                    url
                } else {
                    format!(" ({url})")
                };
                self.text(&url);
            }
            Open::Link(url) => self.current().push(Span::Link(url, children)),
            Open::Plain => {
                for span in children {
                    match span {
                        Span::Text(text) => self.text(&text),
                        span => self.current().push(span),
                    }
                }
            }
        }
    }

    /// A line break: the open spans are closed on this line and opened again on the next.
    pub(super) fn line_break(&mut self) {
        let open: Vec<Open> = self.open.iter().map(|(o, _)| o.clone()).collect();
        for _ in 0..open.len() {
            self.close();
        }
        self.lines.push(std::mem::take(&mut self.top));
        for o in open {
            self.open.push((o, Vec::new()));
        }
    }

    pub(super) fn finish(mut self) -> Vec<Vec<Span>> {
        while !self.open.is_empty() {
            self.close();
        }
        if !self.top.is_empty() || self.lines.is_empty() {
            self.lines.push(self.top);
        }
        self.lines
    }
}
