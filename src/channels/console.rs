//! `fanops chat`: the terminal channel. Same core as every platform: channel `console`,
//! user `local`, role admin.

mod line_editor;

use super::render;
use crate::chat::{Inbound, InboundBody, Outbound, Replier};
use crate::core::Core;
use async_trait::async_trait;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

pub const PLATFORM: &str = "console";
pub const USER: &str = "local";

/// Log lines written while the conversation runs, held back and printed to stderr just
/// above the next prompt, so a warning never lands inside a reply or a half-typed line.
#[derive(Clone, Default)]
pub struct HeldLogs(Arc<Mutex<Vec<u8>>>);

impl HeldLogs {
    /// Prints what was held to stderr and empties the hold.
    pub fn release(&self) {
        let held = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
        if !held.is_empty() {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&held);
            let _ = err.flush();
        }
    }
}

impl Write for HeldLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        held.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes replies to a terminal (or any writer, for tests).
pub struct ConsoleReplier<W: Write + Send> {
    out: Mutex<W>,
    logs: Option<HeldLogs>,
}

impl<W: Write + Send> ConsoleReplier<W> {
    pub fn new(out: W) -> Self {
        ConsoleReplier {
            out: Mutex::new(out),
            logs: None,
        }
    }

    /// Prints the log lines held in `logs` between turns, above the prompt.
    pub fn holding_logs(mut self, logs: HeldLogs) -> Self {
        self.logs = Some(logs);
        self
    }

    fn release_logs(&self) {
        if let Some(logs) = &self.logs {
            logs.release();
        }
    }

    fn write(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        // A closed terminal is not worth crashing the bot over.
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl<W: Write + Send> Replier for ConsoleReplier<W> {
    fn working(&self) {
        self.write("On it…");
    }

    async fn reply(&self, out: Outbound) {
        let mut text = render::terminal(&out.text);
        if let Some(confirm) = &out.confirm {
            text.push_str(&format!(
                "\n[yes/no] (expires {} UTC)",
                confirm.expires_at.format("%H:%M")
            ));
        }
        for file in &out.attachments {
            text.push_str(&format!("\n{}", save(file)));
        }
        self.write(&format!("\nfanops> {text}\n"));
    }
}

const GREETING: &str =
    "fanops chat: ask about your agency. /help for commands, /attach <file> to send one, /quit to leave.";
const PROMPT: &str = "you> ";

/// Reads lines until end of input or `/quit`, handing each to the core: a pipe or a file
/// (one message a line).
pub async fn run<R, W>(core: &Core, input: R, replier: &ConsoleReplier<W>) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write + Send,
{
    replier.write(GREETING);
    let mut lines = input.lines();
    loop {
        replier.write_prompt();
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if !take(core, &line, replier).await {
            break;
        }
    }
    replier.release_logs();
    Ok(())
}

/// [`run`] for a person at a terminal: a line editor with history, and a paste (however
/// long, line breaks and all) is one message.
pub async fn run_terminal<W: Write + Send>(
    core: &Core,
    replier: &ConsoleReplier<W>,
) -> anyhow::Result<()> {
    replier.write(GREETING);
    let mut editor = line_editor::LineEditor::new()?;
    loop {
        replier.release_logs();
        // The editor blocks on the terminal: it reads on a thread of its own.
        let (back, read) = tokio::task::spawn_blocking(move || {
            let read = editor.read(PROMPT);
            (editor, read)
        })
        .await?;
        editor = back;
        let Some(line) = read? else {
            break;
        };
        if !take(core, &line, replier).await {
            break;
        }
    }
    replier.release_logs();
    Ok(())
}

/// Hands one message to the core; false when it asks to leave.
async fn take<W: Write + Send>(core: &Core, line: &str, replier: &ConsoleReplier<W>) -> bool {
    let line = line.trim();
    if matches!(line, "/quit" | "/exit") {
        return false;
    }
    if line.is_empty() {
        return true;
    }
    let body = match line.strip_prefix("/attach") {
        Some(rest) if rest.is_empty() || rest.starts_with(char::is_whitespace) => {
            match attached(rest.trim()) {
                Ok(body) => body,
                Err(refusal) => {
                    replier.write(&refusal);
                    return true;
                }
            }
        }
        _ => InboundBody::Text(line.to_string()),
    };
    let inbound = Inbound {
        platform: PLATFORM.into(),
        connection: PLATFORM.into(),
        chat: "terminal".into(),
        thread: None,
        user: USER.into(),
        user_name: USER.into(),
        private: true,
        body,
    };
    core.handle(inbound, replier).await;
    true
}

impl<W: Write + Send> ConsoleReplier<W> {
    fn write_prompt(&self) {
        self.release_logs();
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(out, "{PROMPT}");
        let _ = out.flush();
    }
}

/// `/attach <path> [words]`: a file on this machine sent as a person would send it on a
/// chat platform (a voice note, a screenshot, a CSV), with the words beside it.
fn attached(rest: &str) -> Result<InboundBody, String> {
    let (path, text) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if path.is_empty() {
        return Err("/attach takes the path of a file and, after it, your question: /attach sales.csv who sold most?".into());
    }
    let path = std::path::PathBuf::from(path);
    let size = match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => meta.len(),
        _ => {
            return Err(format!(
                "There is no file at {}: /attach takes the path of a file on this machine.",
                path.display()
            ))
        }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let media = crate::chat::Media {
        kind: crate::chat::MediaKind::of(None, &name),
        name,
        mime: None,
        size: Some(size),
        seconds: None,
        platform_limit: None,
        source: std::sync::Arc::new(LocalFile(path)),
    };
    Ok(InboundBody::Media {
        text: text.trim().to_string(),
        media: vec![media],
    })
}

/// A file on this machine, read when the core asks.
struct LocalFile(std::path::PathBuf);

#[async_trait::async_trait]
impl crate::chat::MediaSource for LocalFile {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, crate::chat::MediaError> {
        let bytes = tokio::fs::read(&self.0)
            .await
            .map_err(|e| crate::chat::MediaError::Download(e.to_string()))?;
        match bytes.len() as u64 {
            size if size > limit => Err(crate::chat::MediaError::TooBig { size, limit }),
            _ => Ok(bytes),
        }
    }
}

/// Where `fanops chat` saves the files it is sent, relative to the working directory.
pub const FILES_DIR: &str = "fanops-files";

fn save(file: &crate::chat::Attachment) -> String {
    let dir = std::path::Path::new(FILES_DIR);
    let path = dir.join(&file.name);
    match std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, &file.bytes)) {
        Ok(()) => format!(
            "[file saved: {} ({} bytes)]",
            path.display(),
            file.bytes.len()
        ),
        Err(e) => format!("[could not save {}: {e}]", file.name),
    }
}
