//! `fanops chat`: the terminal channel. Same core as every platform: channel `console`,
//! user `local`, role admin.

use super::render;
use crate::core::{Core, Inbound, InboundBody, Outbound, Replier};
use async_trait::async_trait;
use std::io::Write;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

pub const PLATFORM: &str = "console";
pub const USER: &str = "local";

/// Writes replies to a terminal (or any writer, for tests).
pub struct ConsoleReplier<W: Write + Send> {
    out: std::sync::Mutex<W>,
}

impl<W: Write + Send> ConsoleReplier<W> {
    pub fn new(out: W) -> Self {
        ConsoleReplier {
            out: std::sync::Mutex::new(out),
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

/// Reads lines until end of input or `/quit`, handing each to the core.
pub async fn run<R, W>(core: &Core, input: R, replier: &ConsoleReplier<W>) -> anyhow::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write + Send,
{
    replier.write("fanops chat: ask about your agency. /help for commands, /quit to leave.");
    let mut lines = input.lines();
    loop {
        replier.write_prompt();
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if matches!(line, "/quit" | "/exit") {
            break;
        }
        let inbound = Inbound {
            platform: PLATFORM.into(),
            chat: "terminal".into(),
            thread: None,
            user: USER.into(),
            user_name: USER.into(),
            body: InboundBody::Text(line.to_string()),
        };
        core.handle(inbound, replier).await;
    }
    Ok(())
}

impl<W: Write + Send> ConsoleReplier<W> {
    fn write_prompt(&self) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(out, "you> ");
        let _ = out.flush();
    }
}

/// Where `fanops chat` saves the files it is sent, relative to the working directory.
pub const FILES_DIR: &str = "fanops-files";

fn save(file: &crate::core::Attachment) -> String {
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
