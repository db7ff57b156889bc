//! Messages as the Graph API takes them, and the [`Replier`] that answers one person.
//!
//! WhatsApp cannot edit a message, so there is no "On it…" to edit into the answer: when
//! a turn needs tools the person's message is marked read with the typing indicator
//! showing, and the answer follows as new messages. Confirm / Cancel are reply buttons
//! (at most three, titles of 20 characters); an access request's four choices are a list.
//! A decided prompt cannot be changed either: the decision follows it as a message.

use super::format::{self, BODY_LIMIT};
use super::graph::Graph;
use crate::channels::buttons::{self, Button};
use crate::channels::outbox::{post_parts, SendFailure};
use crate::chat::{Attachment, AttachmentKind, Outbound, Replier};
use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// Reply buttons a message can carry; more become a list.
const MAX_BUTTONS: usize = 3;
/// The longest reply button title, and list row title.
const BUTTON_TITLE: usize = 20;
const ROW_TITLE: usize = 24;
/// What the body of a message that carries only buttons says.
const CHOOSE: &str = "Choose:";
/// A template's parameter holds no more than this (and no line breaks).
const PARAMETER_LIMIT: usize = 1_000;

/// A text message.
pub fn text(body: &str) -> Value {
    json!({ "type": "text", "text": { "preview_url": false, "body": body } })
}

fn cut(text: &str, chars: usize) -> String {
    text.chars().take(chars).collect()
}

/// `body` with `buttons` under it: reply buttons, or a list for more than three.
pub fn interactive(body: &str, buttons: &[Button]) -> Value {
    if buttons.len() <= MAX_BUTTONS {
        let buttons: Vec<Value> = buttons
            .iter()
            .map(|b| json!({ "type": "reply", "reply": { "id": b.payload, "title": cut(b.label, BUTTON_TITLE) } }))
            .collect();
        return json!({ "type": "interactive", "interactive": {
            "type": "button",
            "body": { "text": body },
            "action": { "buttons": buttons },
        }});
    }
    let rows: Vec<Value> = buttons
        .iter()
        .map(|b| json!({ "id": b.payload, "title": cut(b.label, ROW_TITLE) }))
        .collect();
    json!({ "type": "interactive", "interactive": {
        "type": "list",
        "body": { "text": body },
        "action": { "button": "Choose", "sections": [{ "title": "Choices", "rows": rows }] },
    }})
}

/// Markdown as WhatsApp messages; the buttons, if any, on the last (its body is at most
/// 1,024 characters: a longer last part goes as text with the buttons after it).
pub fn messages(markdown: &str, buttons: &[Button]) -> Vec<Value> {
    let mut parts = format::render(markdown);
    if buttons.is_empty() {
        return parts.iter().map(|p| text(p)).collect();
    }
    let last = match parts.pop() {
        Some(last) if last.chars().count() <= BODY_LIMIT => last,
        Some(last) => {
            parts.push(last);
            CHOOSE.to_string()
        }
        None => CHOOSE.to_string(),
    };
    let mut out: Vec<Value> = parts.iter().map(|p| text(p)).collect();
    out.push(interactive(&last, buttons));
    out
}

/// Approved template `name` with `markdown` as its one body parameter (one line, cut to
/// what a parameter holds).
pub fn template(name: &str, language: &str, markdown: &str) -> Value {
    let flat = format::render(markdown)
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let parameter = match flat.chars().count() > PARAMETER_LIMIT {
        true => format!("{}…", cut(&flat, PARAMETER_LIMIT - 1)),
        false => flat,
    };
    json!({ "type": "template", "template": {
        "name": name,
        "language": { "code": language },
        "components": [{ "type": "body", "parameters": [{ "type": "text", "text": parameter }] }],
    }})
}

/// A message showing uploaded media `id`: an image inline, else a document by its name.
fn media(file: &Attachment, id: &str) -> Value {
    match file.kind {
        AttachmentKind::Image => json!({ "type": "image", "image": { "id": id } }),
        AttachmentKind::Document => {
            json!({ "type": "document", "document": { "id": id, "filename": file.name } })
        }
    }
}

/// Uploads `file` and sends it to `to`; the message's id.
pub async fn send_file(graph: &Graph, to: &str, file: &Attachment) -> Result<String, SendFailure> {
    let id = graph.upload(to, file).await?;
    graph.send(to, media(file, &id)).await
}

/// Sends Markdown (as messages, the buttons on the last) and then files to `to`,
/// skipping the first `skip` parts (sent by an earlier attempt). On failure, says how
/// many parts are sent in all and why the next one was not. The ids of the messages
/// sent are added to `sent`.
pub async fn send_all(
    graph: &Graph,
    to: &str,
    out: Parts<'_>,
    skip: usize,
    sent: &Mutex<Vec<String>>,
) -> Result<(), (usize, SendFailure)> {
    let texts = messages(out.markdown, out.buttons);
    let total = texts.len() + out.files.len();
    let texts = &texts;
    post_parts(total, skip, |index| async move {
        let id = match texts.get(index) {
            Some(message) => graph.send(to, message.clone()).await?,
            None => send_file(graph, to, &out.files[index - texts.len()]).await?,
        };
        sent.lock().unwrap_or_else(|e| e.into_inner()).push(id);
        Ok(())
    })
    .await
}

/// What one post is made of.
#[derive(Clone, Copy)]
pub struct Parts<'a> {
    pub markdown: &'a str,
    pub buttons: &'a [Button],
    pub files: &'a [Attachment],
}

/// Answers one person's message.
pub struct WhatsAppReplier {
    graph: Arc<Graph>,
    to: String,
    /// The message being answered: the one marked read.
    message_id: String,
}

impl WhatsAppReplier {
    pub fn new(graph: Arc<Graph>, to: &str, message_id: &str) -> Self {
        WhatsAppReplier {
            graph,
            to: to.to_string(),
            message_id: message_id.to_string(),
        }
    }

    async fn post(&self, out: &Outbound) {
        let buttons = buttons::of(out);
        let parts = Parts {
            markdown: &out.text,
            buttons: &buttons,
            files: &out.attachments,
        };
        let sent = send_all(&self.graph, &self.to, parts, 0, &Mutex::default()).await;
        if let Err((sent, failure)) = sent {
            tracing::warn!(sent, error = %failure.message(), "could not send an answer to WhatsApp");
        }
    }
}

#[async_trait]
impl Replier for WhatsAppReplier {
    fn working(&self) {
        let (graph, to, id) = (self.graph.clone(), self.to.clone(), self.message_id.clone());
        tokio::spawn(async move { graph.typing(&to, &id).await });
    }

    async fn reply(&self, out: Outbound) {
        let Some(note) = &out.decided else {
            return self.post(&out).await;
        };
        let marked = format!(
            "{}\n\n*{} by {}*",
            format::escape(&note.summary),
            note.verdict,
            format::escape(&note.by)
        );
        if let Err(e) = self.graph.send(&self.to, text(&marked)).await {
            tracing::warn!(error = %e.message(), "could not send a decision to WhatsApp");
        }
        if note.confirmed {
            self.post(&out).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_carries_reply_buttons_and_a_request_a_list() {
        let prompt = Outbound {
            text: "I'm about to: send $5\n\nShould I go ahead?".into(),
            confirm: Some(crate::chat::ConfirmPrompt {
                action_id: "a1".into(),
                summary: "send $5".into(),
                expires_at: chrono::Utc::now(),
            }),
            ..Outbound::default()
        };
        let out = messages(&prompt.text, &buttons::of(&prompt));
        assert_eq!(out.len(), 1);
        let action = &out[0]["interactive"]["action"];
        assert_eq!(out[0]["interactive"]["type"], "button");
        assert_eq!(action["buttons"][0]["reply"]["id"], "fo:c:a1");
        assert_eq!(action["buttons"][1]["reply"]["id"], "fo:x:a1");
        let request = Outbound {
            text: "**Access request**".into(),
            access: Some("r1".into()),
            ..Outbound::default()
        };
        let out = messages(&request.text, &buttons::of(&request));
        assert_eq!(out[0]["interactive"]["type"], "list");
        let rows = out[0]["interactive"]["action"]["sections"][0]["rows"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(rows.len(), 4);
        assert!(rows
            .iter()
            .all(|r| r["title"].as_str().unwrap().chars().count() <= ROW_TITLE));
    }

    #[test]
    fn a_long_prompt_keeps_its_buttons_under_the_body_limit() {
        let prompt = Outbound {
            text: "word ".repeat(400),
            confirm: Some(crate::chat::ConfirmPrompt {
                action_id: "a1".into(),
                summary: "x".into(),
                expires_at: chrono::Utc::now(),
            }),
            ..Outbound::default()
        };
        let out = messages(&prompt.text, &buttons::of(&prompt));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0]["type"], "text");
        assert_eq!(out[1]["interactive"]["body"]["text"], CHOOSE);
    }

    #[test]
    fn a_template_parameter_is_one_line() {
        let t = template("digest", "en_US", "**Net** $5\n\n- a\n- b");
        let p = t["template"]["components"][0]["parameters"][0]["text"]
            .as_str()
            .unwrap();
        assert!(!p.contains('\n'), "{p}");
        assert!(p.starts_with("*Net* $5"), "{p}");
    }
}
