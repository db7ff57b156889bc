//! Sending to Telegram: one ordered queue per chat that waits out `retry_after`, and the
//! [`Replier`] that turns the core's replies into messages, edits and button prompts.

use super::html;
use crate::channels::buttons;
use crate::channels::claims::InboundLedger;
use crate::channels::outbox::{
    post_parts, Attempt, ChatQueues, Placeholder, PlaceholderId, SendFailure, ON_IT,
};
use crate::chat::{Attachment, AttachmentKind, Outbound, Replier};
use async_trait::async_trait;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::{
    CallbackQueryId, ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId,
    ParseMode,
};
use teloxide::RequestError;
use tokio::sync::OwnedMutexGuard;

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    bot: Bot,
    queues: ChatQueues,
}

/// One Telegram answer, in the shared queue's terms.
fn attempt<T>(result: Result<T, RequestError>) -> Attempt<T> {
    match result {
        Ok(output) => Attempt::Sent(output),
        Err(RequestError::RetryAfter(wait)) => Attempt::Wait(wait.duration()),
        Err(RequestError::Network(e)) if e.is_connect() => Attempt::Unreachable(e.to_string()),
        Err(e @ (RequestError::Api(_) | RequestError::MigrateToChatId(_))) => {
            // Telegram's own words ("Bad Request: chat not found"), without teloxide's
            // "A Telegram's error:" in front: the outbox says "Telegram refused it: …".
            let why = match &e {
                RequestError::Api(api) => api.to_string(),
                other => other.to_string(),
            };
            if !why.contains("message is not modified") {
                tracing::warn!(error = %why, "Telegram refused a message");
            }
            Attempt::Refused(why)
        }
        Err(other) => Attempt::Lost(other.to_string()),
    }
}

impl Outbox {
    pub fn new(bot: Bot) -> Self {
        Outbox(Arc::new(Inner {
            bot,
            queues: ChatQueues::new("Telegram"),
        }))
    }

    /// Held while a turn of this chat runs.
    pub async fn lock_chat(&self, chat: ChatId) -> OwnedMutexGuard<()> {
        self.0.queues.turn(&chat.0.to_string()).await
    }

    /// Sends one request in the chat's queue (see [`ChatQueues::send`]).
    async fn deliver<R>(&self, chat: ChatId, request: R) -> Option<Output<R>>
    where
        R: Request<Err = RequestError>,
    {
        self.try_deliver(chat, request).await.ok()
    }

    /// [`Outbox::deliver`], saying why a request was not sent.
    async fn try_deliver<R>(&self, chat: ChatId, request: R) -> Result<Output<R>, SendFailure>
    where
        R: Request<Err = RequestError>,
    {
        let request = &request;
        self.0
            .queues
            .send(&chat.0.to_string(), || async move {
                attempt(request.send_ref().await)
            })
            .await
    }

    pub async fn send_html(
        &self,
        chat: ChatId,
        text: &str,
        markup: Option<InlineKeyboardMarkup>,
    ) -> Option<MessageId> {
        self.try_send_html(chat, text, markup).await.ok()
    }

    async fn try_send_html(
        &self,
        chat: ChatId,
        text: &str,
        markup: Option<InlineKeyboardMarkup>,
    ) -> Result<MessageId, SendFailure> {
        let mut request = self
            .0
            .bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        self.try_deliver(chat, request).await.map(|m| m.id)
    }

    pub async fn edit_html(
        &self,
        chat: ChatId,
        id: MessageId,
        text: &str,
        markup: Option<InlineKeyboardMarkup>,
    ) -> bool {
        let mut request = self
            .0
            .bot
            .edit_message_text(chat, id, text)
            .parse_mode(ParseMode::Html);
        if let Some(markup) = markup {
            request = request.reply_markup(markup);
        }
        self.deliver(chat, request).await.is_some()
    }

    /// Sends a file: PNG images as photos, everything else as documents.
    pub async fn send_file(&self, chat: ChatId, file: &Attachment) -> bool {
        self.try_send_file(chat, file).await.is_ok()
    }

    async fn try_send_file(&self, chat: ChatId, file: &Attachment) -> Result<(), SendFailure> {
        let input = InputFile::memory(file.bytes.clone()).file_name(file.name.clone());
        match file.kind {
            AttachmentKind::Image => self
                .try_deliver(chat, self.0.bot.send_photo(chat, input))
                .await
                .map(|_| ()),
            AttachmentKind::Document => self
                .try_deliver(chat, self.0.bot.send_document(chat, input))
                .await
                .map(|_| ()),
        }
    }

    /// Posts Markdown (in parts under Telegram's limit) and then files as new messages,
    /// skipping the first `skip` parts (posted by an earlier attempt). On failure, says how
    /// many parts are posted in all and why the next one was not.
    pub async fn post(
        &self,
        chat: ChatId,
        markdown: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), (usize, SendFailure)> {
        let texts = html::render(markdown);
        let total = texts.len() + files.len();
        let texts = &texts;
        post_parts(total, skip, |index| {
            let text = texts.get(index);
            async move {
                match text {
                    Some(text) => self.try_send_html(chat, text, None).await.map(|_| ()),
                    None => self.try_send_file(chat, &files[index - texts.len()]).await,
                }
            }
        })
        .await
    }

    /// Posts one notice (its text, its buttons on the last part) to `chat`.
    pub async fn notify(&self, chat: ChatId, out: &Outbound) -> Result<(), (usize, SendFailure)> {
        let texts = html::render(&out.text);
        let last = texts.len() - 1;
        let texts = &texts;
        post_parts(texts.len(), 0, |index| async move {
            let markup = (index == last).then(|| keyboard(out)).flatten();
            self.try_send_html(chat, &texts[index], markup)
                .await
                .map(|_| ())
        })
        .await
    }

    pub async fn typing(&self, chat: ChatId) {
        self.deliver(chat, self.0.bot.send_chat_action(chat, ChatAction::Typing))
            .await;
    }

    pub async fn answer_callback(&self, id: CallbackQueryId, text: &str) {
        let text: String = text.chars().take(190).collect();
        let request = self
            .0
            .bot
            .answer_callback_query(id)
            .text(text)
            .show_alert(true);
        // Callback answers are not chat messages; a private queue keeps them prompt.
        self.deliver(ChatId(0), request).await;
    }
}

/// The reply's buttons, two to a row; `None` when it has none.
pub(super) fn keyboard(out: &Outbound) -> Option<InlineKeyboardMarkup> {
    let buttons = buttons::of(out);
    let rows: Vec<Vec<InlineKeyboardButton>> = buttons
        .chunks(2)
        .map(|row| {
            row.iter()
                .map(|b| InlineKeyboardButton::callback(b.label, b.payload.clone()))
                .collect()
        })
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// Replies to one chat; when the request came from a button, also to that button press.
pub struct TelegramReplier {
    outbox: Outbox,
    chat: ChatId,
    callback: Option<(CallbackQueryId, MessageId)>,
    /// The "On it…" message, sent in the background as soon as tools are needed.
    placeholder: Placeholder<MessageId>,
}

impl TelegramReplier {
    pub fn new(
        outbox: &Outbox,
        chat: ChatId,
        callback: Option<(CallbackQueryId, MessageId)>,
    ) -> Self {
        TelegramReplier {
            outbox: outbox.clone(),
            chat,
            callback,
            placeholder: Placeholder::default(),
        }
    }

    /// Records the "On it…" message with update `id`'s claim once posted.
    pub fn recording(mut self, claims: Arc<InboundLedger>, id: String) -> Self {
        self.placeholder.record_on(claims, id);
        self
    }

    /// Edits the answer into `message`, an "On it…" an earlier attempt posted.
    pub fn adopting(self, message: MessageId) -> Self {
        self.placeholder.adopt(message);
        self
    }

    /// The answer, editing "On it…" into its first part; buttons go on the last part.
    async fn post(&self, out: &Outbound) {
        let parts = html::render(&out.text);
        let last = parts.len() - 1;
        let mut placeholder = self.placeholder.take().await;
        for (i, part) in parts.iter().enumerate() {
            let markup = (i == last).then(|| keyboard(out)).flatten();
            if let Some(id) = placeholder.take() {
                if self
                    .outbox
                    .edit_html(self.chat, id, part, markup.clone())
                    .await
                {
                    continue;
                }
            }
            self.outbox.send_html(self.chat, part, markup).await;
        }
        for file in &out.attachments {
            self.outbox.send_file(self.chat, file).await;
        }
    }
}

#[async_trait]
impl Replier for TelegramReplier {
    fn working(&self) {
        let (outbox, chat) = (self.outbox.clone(), self.chat);
        self.placeholder.start(async move {
            outbox.typing(chat).await;
            outbox.send_html(chat, ON_IT, None).await
        });
    }

    async fn reply(&self, out: Outbound) {
        let Some((query, prompt)) = self.callback.clone() else {
            return self.post(&out).await;
        };
        let Some(note) = &out.decided else {
            // Nothing changed (stale, forged, someone else, expired, a second press): say why.
            self.outbox.answer_callback(query, &out.text).await;
            return;
        };
        let verdict = note.verdict.as_str();
        self.outbox.answer_callback(query, verdict).await;
        let marked = format!(
            "{}\n\n<b>{verdict} by {}</b>",
            html::escape(&note.summary),
            html::escape(&note.by)
        );
        self.outbox
            .edit_html(self.chat, prompt, &marked, None)
            .await;
        if note.confirmed {
            self.post(&out).await;
        }
    }
}

impl PlaceholderId for MessageId {
    fn noted(&self) -> String {
        self.0.to_string()
    }
}
