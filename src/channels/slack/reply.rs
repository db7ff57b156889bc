//! Sending to Slack: one ordered queue per channel that waits out `Retry-After`, messages
//! as Block Kit sections, files through the external upload flow, and the [`Replier`]
//! that turns the core's replies into posts, edits, button prompts and ephemeral notes.

use super::mrkdwn;
use crate::channels::buttons::{self, Button, Style};
use crate::channels::claims::InboundLedger;
use crate::channels::outbox::{post_parts, Attempt, ChatQueues, Placeholder, SendFailure, ON_IT};
use crate::chat::{Attachment, Outbound, Replier};
use async_trait::async_trait;
use slack_morphism::errors::SlackClientError;
use slack_morphism::prelude::*;
use std::future::Future;
use std::sync::Arc;

/// The Web API client fanops uses, over plain HTTP or HTTPS.
pub type Client = SlackClient<SlackClientHyperConnector<SlackHyperHttpsConnector>>;

/// Slack refuses files over 1 GB; fanops keeps to the 100 MB every plan accepts.
pub const FILE_LIMIT: usize = 100 * 1024 * 1024;
/// Sections per message: ten of at most 2,900 characters stay under Slack's 40,000.
const SECTIONS_PER_MESSAGE: usize = 10;
/// The notification text of a message made of blocks.
const PREVIEW_CHARS: usize = 300;

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    client: Arc<Client>,
    token: SlackApiToken,
    queues: ChatQueues,
}

/// One message as Slack takes it: Block Kit sections (and buttons), with plain text for
/// notifications.
#[derive(Debug, Clone)]
pub struct Message {
    pub sections: Vec<String>,
    /// The buttons under it ([`buttons::of`] the reply), if any.
    pub buttons: Vec<Button>,
}

impl Message {
    pub fn text(text: &str) -> Message {
        Message {
            sections: vec![text.to_string()],
            buttons: Vec::new(),
        }
    }

    fn content(&self) -> SlackMessageContent {
        let mut blocks: Vec<SlackBlock> = self
            .sections
            .iter()
            .map(|s| {
                SlackSectionBlock::new()
                    .with_text(SlackBlockMarkDownText::new(s.clone()).into())
                    .into()
            })
            .collect();
        if !self.buttons.is_empty() {
            blocks.push(actions(&self.buttons));
        }
        let first = self.sections.first().map(String::as_str).unwrap_or("");
        let mut preview: String = first.chars().take(PREVIEW_CHARS).collect();
        if first.chars().count() > PREVIEW_CHARS {
            preview.push('…');
        }
        SlackMessageContent::new()
            .with_text(preview)
            .with_blocks(blocks)
    }
}

/// An actions block of `buttons`; each carries its payload as its value (its action id
/// only needs to be unique in the block).
fn actions(buttons: &[Button]) -> SlackBlock {
    let elements = buttons
        .iter()
        .enumerate()
        .map(|(index, b)| {
            let button = SlackBlockButtonElement::new(b.label.into())
                .with_action_id(format!("fo_{index}").into())
                .with_value(b.payload.clone());
            let button = match b.style {
                Style::Primary => button.with_style(SlackBlockButtonStyle::Primary),
                Style::Danger => button.with_style(SlackBlockButtonStyle::Danger),
                Style::Plain => button,
            };
            SlackActionBlockElement::Button(button)
        })
        .collect();
    SlackActionsBlock::new(elements).into()
}

/// Markdown as Slack messages of up to [`SECTIONS_PER_MESSAGE`] sections; the buttons,
/// if any, go on the last.
pub fn messages(markdown: &str, buttons: Vec<Button>) -> Vec<Message> {
    let sections = mrkdwn::render(markdown);
    let mut out: Vec<Message> = sections
        .chunks(SECTIONS_PER_MESSAGE)
        .map(|chunk| Message {
            sections: chunk.to_vec(),
            buttons: Vec::new(),
        })
        .collect();
    if let Some(last) = out.last_mut() {
        last.buttons = buttons;
    }
    out
}

/// One Slack answer, in the shared queue's terms.
fn attempt<T>(result: Result<T, SlackClientError>) -> Attempt<T> {
    match result {
        Ok(output) => Attempt::Sent(output),
        Err(SlackClientError::RateLimitError(e)) => {
            Attempt::Wait(e.retry_after.unwrap_or(std::time::Duration::from_secs(1)))
        }
        Err(SlackClientError::ApiError(e)) => {
            tracing::warn!(error = %e.code, "Slack refused a request");
            Attempt::Refused(e.code)
        }
        Err(SlackClientError::HttpProtocolError(e)) if is_connect(&e) => {
            Attempt::Unreachable(e.to_string())
        }
        Err(SlackClientError::HttpError(e)) if e.status_code.is_client_error() => {
            Attempt::Refused(e.to_string())
        }
        Err(other) => Attempt::Lost(other.to_string()),
    }
}

/// Whether the connection itself failed, so nothing reached Slack.
fn is_connect(e: &slack_morphism::errors::SlackClientHttpProtocolError) -> bool {
    e.cause
        .as_ref()
        .and_then(|c| c.downcast_ref::<hyper_util::client::legacy::Error>())
        .is_some_and(|c| c.is_connect())
}

impl Outbox {
    pub fn new(client: Arc<Client>, token: SlackApiToken) -> Self {
        Outbox(Arc::new(Inner {
            client,
            token,
            queues: ChatQueues::new("Slack"),
        }))
    }

    /// Held while a turn of this conversation runs.
    pub async fn lock_turn(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.0.queues.turn(key).await
    }

    /// Runs one Web API call in `channel`'s queue (see [`ChatQueues::send`]).
    async fn call<T, F, Fut>(&self, channel: &str, call: F) -> Result<T, SendFailure>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SlackClientError>>,
    {
        self.0
            .queues
            .send(channel, || async { attempt(call().await) })
            .await
    }

    /// A Web API session with the bot token.
    fn session(
        &self,
    ) -> SlackClientSession<'_, SlackClientHyperConnector<SlackHyperHttpsConnector>> {
        self.0.client.open_session(&self.0.token)
    }

    /// Posts a message (in `thread`, if any); its `ts`.
    pub async fn post(
        &self,
        channel: &str,
        thread: Option<&str>,
        message: &Message,
    ) -> Result<String, SendFailure> {
        let request = SlackApiChatPostMessageRequest::new(channel.into(), message.content())
            .opt_thread_ts(thread.map(|t| t.into()));
        let request = &request;
        self.call(channel, || async move {
            self.session().chat_post_message(request).await
        })
        .await
        .map(|r| r.ts.0)
    }

    /// Replaces message `ts` with `message`; false when it could not.
    pub async fn update(&self, channel: &str, ts: &str, message: &Message) -> bool {
        let request = SlackApiChatUpdateRequest::new(channel.into(), message.content(), ts.into());
        let request = &request;
        self.call(channel, || async move {
            self.session().chat_update(request).await
        })
        .await
        .is_ok()
    }

    /// A note only `user` sees.
    pub async fn ephemeral(&self, channel: &str, user: &str, thread: Option<&str>, text: &str) {
        let content = Message::text(&mrkdwn::escape(text)).content();
        let request = SlackApiChatPostEphemeralRequest::new(channel.into(), user.into(), content)
            .opt_thread_ts(thread.map(|t| t.into()));
        let request = &request;
        let _ = self
            .call(channel, || async move {
                self.session().chat_post_ephemeral(request).await
            })
            .await;
    }

    /// Uploads a file into the channel (and thread): `files.getUploadURLExternal`, the
    /// bytes to the URL it gives, `files.completeUploadExternal`. A file over
    /// [`FILE_LIMIT`] is not sent; a note says so instead.
    pub async fn upload(
        &self,
        channel: &str,
        thread: Option<&str>,
        file: &Attachment,
    ) -> Result<(), SendFailure> {
        if file.bytes.len() > FILE_LIMIT {
            let note = format!(
                "{} is {} MB, over Slack's {} MB limit for files, so it was not sent.",
                file.name,
                file.bytes.len().div_ceil(1024 * 1024),
                FILE_LIMIT / (1024 * 1024)
            );
            return self
                .post(channel, thread, &Message::text(&mrkdwn::escape(&note)))
                .await
                .map(|_| ());
        }
        // Until the upload is completed nobody sees it: a lost answer before then is
        // worth trying again.
        let unseen = |failure: SendFailure| match failure {
            SendFailure::Unknown(m) => SendFailure::Later(m),
            other => other,
        };
        let ask =
            SlackApiFilesGetUploadUrlExternalRequest::new(file.name.clone(), file.bytes.len());
        let ask = &ask;
        let target = self
            .call(channel, || async move {
                self.session().get_upload_url_external(ask).await
            })
            .await
            .map_err(unseen)?;
        let bytes = SlackApiFilesUploadViaUrlRequest::new(
            target.upload_url.clone(),
            file.bytes.clone(),
            file.mime.to_string(),
        );
        let bytes = &bytes;
        self.call(channel, || async move {
            self.session().files_upload_via_url(bytes).await
        })
        .await
        .map_err(unseen)?;
        let complete =
            SlackApiFilesCompleteUploadExternalRequest::new(vec![SlackApiFilesComplete::new(
                target.file_id.clone(),
            )
            .with_title(file.name.clone())])
            .with_channel_id(channel.into())
            .opt_thread_ts(thread.map(|t| t.into()));
        let complete = &complete;
        self.call(channel, || async move {
            self.session()
                .files_complete_upload_external(complete)
                .await
        })
        .await
        .map(|_| ())
    }

    /// Posts Markdown (as messages) and then files, skipping the first `skip` parts
    /// (posted by an earlier attempt). On failure, says how many parts are posted in all
    /// and why the next one was not.
    pub async fn post_all(
        &self,
        channel: &str,
        thread: Option<&str>,
        markdown: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), (usize, SendFailure)> {
        let texts = messages(markdown, Vec::new());
        let total = texts.len() + files.len();
        let texts = &texts;
        post_parts(total, skip, |index| async move {
            match texts.get(index) {
                Some(message) => self.post(channel, thread, message).await.map(|_| ()),
                None => {
                    self.upload(channel, thread, &files[index - texts.len()])
                        .await
                }
            }
        })
        .await
    }

    /// The DM channel of the bot with member `user` (`conversations.open`).
    pub async fn open_dm(&self, user: &str) -> Result<String, SendFailure> {
        let request = SlackApiConversationsOpenRequest::new().with_users(vec![user.into()]);
        let request = &request;
        self.call(user, || async move {
            self.session().conversations_open(request).await
        })
        .await
        .map(|r| r.channel.id.0)
    }

    /// Posts a notice in `channel` as a reply is posted, with its buttons; files after.
    pub async fn notify(&self, channel: &str, out: &Outbound) -> Result<(), (usize, SendFailure)> {
        let texts = messages(&out.text, buttons::of(out));
        let total = texts.len() + out.attachments.len();
        let texts = &texts;
        post_parts(total, 0, |index| async move {
            match texts.get(index) {
                Some(message) => self.post(channel, None, message).await.map(|_| ()),
                None => {
                    let file = &out.attachments[index - texts.len()];
                    self.upload(channel, None, file).await
                }
            }
        })
        .await
    }
}

/// A button press being answered.
#[derive(Debug, Clone)]
pub struct Press {
    pub user: String,
    /// The message that carries the buttons.
    pub prompt_ts: String,
}

/// Replies in one channel (and thread); when the request came from a button, also to
/// that press.
pub struct SlackReplier {
    outbox: Outbox,
    channel: String,
    thread: Option<String>,
    press: Option<Press>,
    /// The "On it…" message, posted in the background as soon as tools are needed.
    placeholder: Placeholder<String>,
}

impl SlackReplier {
    pub fn new(outbox: &Outbox, channel: &str, thread: Option<&str>, press: Option<Press>) -> Self {
        SlackReplier {
            outbox: outbox.clone(),
            channel: channel.to_string(),
            thread: thread.map(str::to_string),
            press,
            placeholder: Placeholder::default(),
        }
    }

    /// Records the "On it…" message with event `id`'s claim once posted.
    pub fn recording(mut self, claims: Arc<InboundLedger>, id: String) -> Self {
        self.placeholder.record_on(claims, id);
        self
    }

    /// Edits the answer into `ts`, an "On it…" an earlier attempt posted.
    pub fn adopting(self, ts: Option<String>) -> Self {
        if let Some(ts) = ts {
            self.placeholder.adopt(ts);
        }
        self
    }

    /// The answer, editing "On it…" into its first message; files after.
    async fn post(&self, out: &Outbound) {
        let thread = self.thread.as_deref();
        let mut placeholder = self.placeholder.take().await;
        for message in messages(&out.text, buttons::of(out)) {
            if let Some(ts) = placeholder.take() {
                if self.outbox.update(&self.channel, &ts, &message).await {
                    continue;
                }
            }
            let _ = self.outbox.post(&self.channel, thread, &message).await;
        }
        for file in &out.attachments {
            if let Err(e) = self.outbox.upload(&self.channel, thread, file).await {
                tracing::warn!(file = %file.name, error = %e.message(), "could not send a file to Slack");
            }
        }
    }
}

/// A member's name as Slack shows it: `<@U…>` for a member id, escaped text otherwise.
fn member(by: &str) -> String {
    let is_id = by.len() > 1
        && by
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if is_id {
        format!("<@{by}>")
    } else {
        mrkdwn::escape(by)
    }
}

#[async_trait]
impl Replier for SlackReplier {
    fn working(&self) {
        let (outbox, channel) = (self.outbox.clone(), self.channel.clone());
        let thread = self.thread.clone();
        self.placeholder.start(async move {
            outbox
                .post(&channel, thread.as_deref(), &Message::text(ON_IT))
                .await
                .ok()
        });
    }

    async fn reply(&self, out: Outbound) {
        let Some(press) = &self.press else {
            return self.post(&out).await;
        };
        let Some(note) = &out.decided else {
            // Nothing changed (stale, forged, someone else, expired, a second press): say
            // why, to the presser alone.
            let thread = self.thread.as_deref();
            self.outbox
                .ephemeral(&self.channel, &press.user, thread, &out.text)
                .await;
            return;
        };
        let verdict = note.verdict.as_str();
        let marked = Message {
            sections: vec![format!(
                "{}\n\n*{verdict} by {}*",
                mrkdwn::escape(&note.summary),
                member(&note.by)
            )],
            buttons: Vec::new(),
        };
        self.outbox
            .update(&self.channel, &press.prompt_ts, &marked)
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
    fn a_prompt_carries_confirm_and_cancel_buttons_on_its_last_message() {
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
        let json = serde_json::to_value(out[0].content()).unwrap();
        let actions = &json["blocks"][1];
        assert_eq!(actions["type"], "actions");
        assert_eq!(actions["elements"][0]["value"], "fo:c:a1");
        assert_eq!(actions["elements"][0]["style"], "primary");
        assert_eq!(actions["elements"][1]["value"], "fo:x:a1");
        assert_eq!(actions["elements"][1]["style"], "danger");
    }

    #[test]
    fn an_access_request_carries_a_button_for_each_role_and_one_to_ignore() {
        let notice = Outbound {
            text: "**Access request** on Slack".into(),
            access: Some("r1".into()),
            ..Outbound::default()
        };
        let out = messages(&notice.text, buttons::of(&notice));
        let json = serde_json::to_value(out[0].content()).unwrap();
        let elements = json["blocks"][1]["elements"].as_array().unwrap().clone();
        let labels: Vec<&str> = elements
            .iter()
            .map(|e| e["text"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            labels,
            [
                "Allow as viewer",
                "Allow as operator",
                "Allow as admin",
                "Ignore"
            ]
        );
        let values: Vec<&str> = elements
            .iter()
            .map(|e| e["value"].as_str().unwrap())
            .collect();
        assert_eq!(values, ["fo:a:v:r1", "fo:a:o:r1", "fo:a:a:r1", "fo:a:i:r1"]);
        let ids: std::collections::BTreeSet<&str> = elements
            .iter()
            .map(|e| e["action_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 4, "action ids are unique in the block");
        assert!(elements[0].get("style").is_none());
        assert_eq!(elements[3]["style"], "danger");
    }

    #[test]
    fn long_answers_become_several_messages_of_sections() {
        let text = "word ".repeat(30_000);
        let out = messages(&text, Vec::new());
        assert!(out.len() > 1);
        for m in &out {
            assert!(m.sections.len() <= SECTIONS_PER_MESSAGE);
            let chars: usize = m.sections.iter().map(|s| s.chars().count()).sum();
            assert!(chars < 40_000);
        }
    }

    #[test]
    fn members_are_mentioned_and_names_escaped() {
        assert_eq!(member("U012AB"), "<@U012AB>");
        assert_eq!(member("<!here>"), "&lt;!here&gt;");
    }
}
