//! Reading a person at a terminal: a line editor (rustyline) in raw mode, so a long or
//! multi-line paste arrives whole instead of being cut at the terminal's 4,095-character
//! line limit. History lives for the session only: nothing typed is written to disk.

use rustyline::error::ReadlineError;
use rustyline::DefaultEditor;

/// Lines kept for ↑ and Ctrl-R.
const HISTORY: usize = 1000;

pub(super) struct LineEditor(DefaultEditor);

impl LineEditor {
    pub(super) fn new() -> anyhow::Result<LineEditor> {
        let config = rustyline::Config::builder()
            .max_history_size(HISTORY)?
            .history_ignore_dups(true)?
            .history_ignore_space(true)
            .auto_add_history(true)
            // A paste is one insertion, line breaks and all; Enter then sends it.
            .bracketed_paste(true)
            .build();
        Ok(LineEditor(DefaultEditor::with_config(config)?))
    }

    /// The next message; `None` at Ctrl-D. Ctrl-C drops the line being typed, as a
    /// shell does, and gives an empty one.
    pub(super) fn read(&mut self, prompt: &str) -> anyhow::Result<Option<String>> {
        match self.0.readline(prompt) {
            Ok(line) => Ok(Some(line)),
            Err(ReadlineError::Interrupted) => Ok(Some(String::new())),
            Err(ReadlineError::Eof) => Ok(None),
            Err(e) => Err(anyhow::anyhow!("cannot read the terminal: {e}")),
        }
    }
}
