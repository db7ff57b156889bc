//! Sending to Teams: messages as HTML activities, buttons as an Adaptive Card whose
//! `Action.Submit` data carries fanops's payload, images inline, and the [`Replier`] that
//! posts "On it…", updates it into the answer and marks a decided prompt.

use super::connector::Connector;
use super::files::Shelf;
use super::html;
use crate::channels::buttons::{self, Button, Style};
use crate::channels::claims::InboundLedger;
use crate::channels::outbox::{post_parts, Placeholder, SendFailure, ON_IT};
use crate::chat::{Attachment, AttachmentKind, Outbound, Replier};
use async_trait::async_trait;
use base64::Engine as _;
use serde_json::{json, Value};
use std::sync::Arc;

/// Images larger than this are not sent inline (Teams refuses large activities).
pub const IMAGE_LIMIT: usize = 1024 * 1024;
/// A text file (CSV) up to this size is shown as a code block.
const TEXT_FILE_LIMIT: usize = 4000;

/// A message activity showing `html`, with `buttons` on an Adaptive Card under it.
pub fn message(html: &str, buttons: &[Button]) -> Value {
    let mut activity = json!({ "type": "message", "textFormat": "xml", "text": html });
    if !buttons.is_empty() {
        activity["attachments"] = json!([card(buttons)]);
    }
    activity
}

/// An Adaptive Card of `buttons`; each press sends `{"fo": <payload>}` back.
fn card(buttons: &[Button]) -> Value {
    let actions: Vec<Value> = buttons
        .iter()
        .map(|b| {
            let mut action = json!({
                "type": "Action.Submit",
                "title": b.label,
                "data": { "fo": b.payload },
            });
            match b.style {
                Style::Primary => action["style"] = json!("positive"),
                Style::Danger => action["style"] = json!("destructive"),
                Style::Plain => {}
            }
            action
        })
        .collect();
    json!({
        "contentType": "application/vnd.microsoft.card.adaptive",
        "content": {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [],
            "actions": actions,
        }
    })
}

/// Markdown as message activities; the buttons, if any, on the last.
pub fn messages(markdown: &str, buttons: Vec<Button>) -> Vec<Value> {
    let mut parts = html::render(markdown);
    if parts.is_empty() && !buttons.is_empty() {
        parts.push(String::new());
    }
    let last = parts.len().saturating_sub(1);
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| match i == last {
            true => message(part, &buttons),
            false => message(part, &[]),
        })
        .collect()
}

/// A file as Teams can show it from a bot: an image inline, a small text file as a code
/// block; anything else a note that says why it is not here.
pub fn file(file: &Attachment) -> Value {
    let mib = |n: usize| n.div_ceil(1024 * 1024);
    if file.kind == AttachmentKind::Image && file.bytes.len() <= IMAGE_LIMIT {
        let data = base64::engine::general_purpose::STANDARD.encode(&file.bytes);
        return json!({
            "type": "message",
            "attachments": [{
                "contentType": file.mime,
                "contentUrl": format!("data:{};base64,{data}", file.mime),
                "name": file.name,
            }],
        });
    }
    let text = std::str::from_utf8(&file.bytes).ok();
    if let Some(text) = text.filter(|t| t.len() <= TEXT_FILE_LIMIT) {
        let shown = format!(
            "{}<pre>{}</pre>",
            html::plain(&file.name),
            html::escape(text)
        );
        return message(&shown, &[]);
    }
    let note = format!(
        "{} ({} MB) was not sent: a Teams bot can only show images up to {} MB and small text files.",
        file.name,
        mib(file.bytes.len()),
        IMAGE_LIMIT / (1024 * 1024)
    );
    message(&html::plain(&note), &[])
}

/// Files offered in a personal chat up to this size (OneDrive takes one upload of it).
pub const OFFER_LIMIT: usize = 50 * 1024 * 1024;

/// Where posts go: a conversation at its service URL.
#[derive(Clone)]
pub struct Target {
    pub service_url: String,
    pub conversation: String,
    /// In a personal chat: where files wait for the person's consent.
    pub shelf: Option<Arc<Shelf>>,
}

impl Target {
    /// `file` as an activity here: offered on a consent card in a personal chat (an image
    /// too large to show, any other file), else shown as [`file`] shows it.
    pub async fn file(&self, attachment: &Attachment) -> Result<Value, SendFailure> {
        let inline =
            attachment.kind == AttachmentKind::Image && attachment.bytes.len() <= IMAGE_LIMIT;
        match &self.shelf {
            Some(shelf) if !inline && attachment.bytes.len() <= OFFER_LIMIT => {
                shelf.offer(attachment).await
            }
            _ => Ok(file(attachment)),
        }
    }

    /// Posts `out` (its text, buttons, then files), skipping the first `skip` parts.
    pub async fn post_all(
        &self,
        connector: &Connector,
        out: &Outbound,
        skip: usize,
    ) -> Result<(), (usize, SendFailure)> {
        let texts = messages(&out.text, buttons::of(out));
        let total = texts.len() + out.attachments.len();
        let texts = &texts;
        post_parts(total, skip, |index| async move {
            let activity = match texts.get(index) {
                Some(activity) => activity.clone(),
                None => self.file(&out.attachments[index - texts.len()]).await?,
            };
            connector
                .post(&self.service_url, &self.conversation, &activity)
                .await
                .map(|_| ())
        })
        .await
    }
}

/// Replies in one conversation; when the request was a press, also to its card.
pub struct TeamsReplier {
    connector: Connector,
    target: Target,
    /// The activity that carries the pressed card.
    prompt: Option<String>,
    pressed: bool,
    placeholder: Placeholder<String>,
}

impl TeamsReplier {
    pub fn new(
        connector: &Connector,
        target: Target,
        pressed: bool,
        prompt: Option<String>,
    ) -> Self {
        TeamsReplier {
            connector: connector.clone(),
            target,
            prompt,
            pressed,
            placeholder: Placeholder::default(),
        }
    }

    /// Records the "On it…" message with claim `id` once posted.
    pub fn recording(mut self, claims: Arc<InboundLedger>, id: String) -> Self {
        self.placeholder.record_on(claims, id);
        self
    }

    /// Updates the answer into `id`, an "On it…" an earlier attempt posted.
    pub fn adopting(self, id: Option<String>) -> Self {
        if let Some(id) = id {
            self.placeholder.adopt(id);
        }
        self
    }

    /// The answer, updating "On it…" into its first message; files after.
    async fn post(&self, out: &Outbound) {
        let (service_url, conversation) = (&self.target.service_url, &self.target.conversation);
        let mut placeholder = self.placeholder.take().await;
        for activity in messages(&out.text, buttons::of(out)) {
            if let Some(id) = placeholder.take() {
                if self
                    .connector
                    .update(service_url, conversation, &id, &activity)
                    .await
                {
                    continue;
                }
            }
            let _ = self
                .connector
                .post(service_url, conversation, &activity)
                .await;
        }
        for attachment in &out.attachments {
            let posted = match self.target.file(attachment).await {
                Ok(activity) => {
                    self.connector
                        .post(service_url, conversation, &activity)
                        .await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = posted {
                tracing::warn!(file = %attachment.name, error = %e.message(), "could not send a file to Teams");
            }
        }
    }
}

#[async_trait]
impl Replier for TeamsReplier {
    fn working(&self) {
        let connector = self.connector.clone();
        let target = self.target.clone();
        self.placeholder.start(async move {
            connector
                .post(
                    &target.service_url,
                    &target.conversation,
                    &message(ON_IT, &[]),
                )
                .await
                .ok()
        });
    }

    async fn reply(&self, out: Outbound) {
        if !self.pressed {
            return self.post(&out).await;
        }
        let (Some(note), Some(prompt)) = (&out.decided, &self.prompt) else {
            // Nothing changed (stale, someone else, expired, a second press): say why.
            return self.post(&out).await;
        };
        let marked = format!(
            "{}<br><br><b>{} by {}</b>",
            html::plain(&note.summary),
            html::escape(&note.verdict),
            html::escape(&note.by)
        );
        let (service_url, conversation) = (&self.target.service_url, &self.target.conversation);
        self.connector
            .update(service_url, conversation, prompt, &message(&marked, &[]))
            .await;
        if note.confirmed {
            self.post(&out).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prompt_carries_confirm_and_cancel_on_an_adaptive_card() {
        let prompt = Outbound {
            text: "I'm about to: send $5\n\nShould I go ahead?".into(),
            confirm: Some(crate::chat::ConfirmPrompt {
                action_id: "a1".into(),
                summary: "send $5".into(),
                expires_at: chrono::Utc::now(),
            }),
            ..Outbound::default()
        };
        let out = messages(&prompt.text, buttons::of(&prompt));
        assert_eq!(out.len(), 1);
        let card = &out[0]["attachments"][0];
        assert_eq!(
            card["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let actions = &card["content"]["actions"];
        assert_eq!(actions[0]["type"], "Action.Submit");
        assert_eq!(actions[0]["data"]["fo"], "fo:c:a1");
        assert_eq!(actions[0]["style"], "positive");
        assert_eq!(actions[1]["data"]["fo"], "fo:x:a1");
        assert_eq!(actions[1]["style"], "destructive");
    }

    #[test]
    fn images_go_inline_and_other_files_say_why_not() {
        let png = Attachment {
            name: "net.png".into(),
            mime: "image/png",
            kind: AttachmentKind::Image,
            bytes: vec![0x89, b'P', b'N', b'G'],
        };
        let sent = file(&png);
        let url = sent["attachments"][0]["contentUrl"].as_str().unwrap();
        assert!(url.starts_with("data:image/png;base64,"), "{url}");
        let csv = Attachment {
            name: "fans.csv".into(),
            mime: "text/csv",
            kind: AttachmentKind::Document,
            bytes: b"fan,net\n<Jake>,5\n".to_vec(),
        };
        assert_eq!(
            file(&csv)["text"],
            "fans.csv<pre>fan,net\n&lt;Jake&gt;,5\n</pre>"
        );
        let big = Attachment {
            bytes: vec![0; 3 * 1024 * 1024],
            ..csv
        };
        assert!(file(&big)["text"]
            .as_str()
            .unwrap()
            .contains("was not sent"));
    }
}
