//! Sending to Telegram: one ordered queue per chat that waits out `retry_after`, and the
//! [`Replier`] that turns the core's replies into messages, edits and button prompts.

use super::html;
use crate::channels::buttons;
use crate::chat::{Attachment, AttachmentKind, Outbound, Replier};
use crate::store::Decision;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::requests::Output;
use teloxide::types::{
    CallbackQueryId, ChatAction, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, MessageId,
    ParseMode,
};
use teloxide::RequestError;
use tokio::sync::OwnedMutexGuard;
use tokio::task::JoinHandle;

type ChatLocks = Mutex<HashMap<ChatId, Arc<tokio::sync::Mutex<()>>>>;

/// Attempts per request when Telegram asks us to slow down or the connection fails.
const MAX_ATTEMPTS: u32 = 8;

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

/// Why a request was not sent, and what Telegram may have done with it.
#[derive(Debug, Clone, PartialEq)]
pub enum SendFailure {
    /// Certainly not acted on, and worth trying again later: Telegram kept asking to wait,
    /// or could not be reached.
    Later(String),
    /// Certainly not acted on, and trying again would not help: Telegram refused it.
    Refused(String),
    /// The answer was lost: Telegram may have acted on it.
    Unknown(String),
}

impl SendFailure {
    pub fn message(&self) -> &str {
        match self {
            SendFailure::Later(m) | SendFailure::Refused(m) | SendFailure::Unknown(m) => m,
        }
    }
}

struct Inner {
    bot: Bot,
    /// Serialises sends per chat, so messages arrive in order and a 429 holds the queue.
    sends: ChatLocks,
    /// Serialises turns per chat, so answers do not interleave.
    turns: ChatLocks,
}

fn lock_for(map: &ChatLocks, chat: ChatId) -> Arc<tokio::sync::Mutex<()>> {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(chat).or_default().clone()
}

impl Outbox {
    pub fn new(bot: Bot) -> Self {
        Outbox(Arc::new(Inner {
            bot,
            sends: Mutex::default(),
            turns: Mutex::default(),
        }))
    }

    /// Held while a turn of this chat runs.
    pub async fn lock_chat(&self, chat: ChatId) -> OwnedMutexGuard<()> {
        lock_for(&self.0.turns, chat).lock_owned().await
    }

    /// Sends one request in the chat's queue. A 429 is waited out and retried: Telegram
    /// did not act on it, so the retry cannot duplicate. Other failures are not retried,
    /// because Telegram may have acted before the answer was lost.
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
        let lock = lock_for(&self.0.sends, chat);
        let _queue = lock.lock().await;
        let mut last = SendFailure::Later("Telegram kept asking to wait".into());
        for attempt in 1..=MAX_ATTEMPTS {
            match request.send_ref().await {
                Ok(output) => return Ok(output),
                Err(RequestError::RetryAfter(wait)) => {
                    tracing::info!(
                        chat = chat.0,
                        attempt,
                        wait = wait.seconds(),
                        "Telegram asked to wait"
                    );
                    tokio::time::sleep(wait.duration().max(Duration::from_millis(50))).await;
                    last = SendFailure::Later("Telegram kept asking to wait".into());
                }
                Err(RequestError::Network(e)) if e.is_connect() => {
                    tracing::warn!(chat = chat.0, attempt, error = %e, "Telegram unreachable; retrying");
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                    last = SendFailure::Later(format!("Telegram could not be reached: {e}"));
                }
                Err(e) => {
                    if !e.to_string().contains("message is not modified") {
                        tracing::warn!(chat = chat.0, error = %e, "Telegram refused a message");
                    }
                    return Err(match e {
                        RequestError::Api(_) | RequestError::MigrateToChatId(_) => {
                            SendFailure::Refused(format!("Telegram refused it: {e}"))
                        }
                        other => SendFailure::Unknown(format!(
                            "the answer from Telegram was lost ({other}); it may have been posted"
                        )),
                    });
                }
            }
        }
        tracing::error!(
            chat = chat.0,
            "gave up sending to Telegram after {MAX_ATTEMPTS} attempts"
        );
        Err(last)
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
        for index in skip..total {
            let sent = match texts.get(index) {
                Some(text) => self.try_send_html(chat, text, None).await.map(|_| ()),
                None => self.try_send_file(chat, &files[index - texts.len()]).await,
            };
            if let Err(failure) = sent {
                return Err((index, failure));
            }
        }
        Ok(())
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

fn keyboard(action_id: &str) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback(
            "✅ Confirm",
            buttons::payload(action_id, Decision::Confirm),
        ),
        InlineKeyboardButton::callback("✖️ Cancel", buttons::payload(action_id, Decision::Cancel)),
    ]])
}

/// Replies to one chat; when the request came from a button, also to that button press.
pub struct TelegramReplier {
    outbox: Outbox,
    chat: ChatId,
    callback: Option<(CallbackQueryId, MessageId)>,
    /// The "On it…" message, sent in the background as soon as tools are needed.
    placeholder: Mutex<Option<JoinHandle<Option<MessageId>>>>,
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
            placeholder: Mutex::new(None),
        }
    }

    async fn take_placeholder(&self) -> Option<MessageId> {
        let handle = self
            .placeholder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        handle.await.ok().flatten()
    }

    /// The answer, editing "On it…" into its first part; buttons go on the last part.
    async fn post(&self, out: &Outbound) {
        let parts = html::render(&out.text);
        let last = parts.len() - 1;
        let mut placeholder = self.take_placeholder().await;
        for (i, part) in parts.iter().enumerate() {
            let markup = (i == last)
                .then(|| out.confirm.as_ref().map(|c| keyboard(&c.action_id)))
                .flatten();
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
        let mut slot = self.placeholder.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return;
        }
        let (outbox, chat) = (self.outbox.clone(), self.chat);
        *slot = Some(tokio::spawn(async move {
            outbox.typing(chat).await;
            outbox.send_html(chat, "On it…", None).await
        }));
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
        let verdict = if note.confirmed {
            "✅ Confirmed"
        } else {
            "✖️ Cancelled"
        };
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
