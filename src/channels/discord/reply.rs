//! Sending to Discord: one ordered queue per channel (the shared [`ChatQueues`]), every
//! message with `allowed_mentions` that permit no ping, and the [`Replier`] that turns the
//! core's replies into messages, edits, buttons (Confirm / Cancel, or an access request's)
//! and attachments.

use super::markdown;
use super::rest::{Body, Rest};
use crate::channels::buttons;
use crate::channels::claims::InboundLedger;
use crate::channels::outbox::{
    post_parts, Attempt, ChatQueues, Placeholder, PlaceholderId, SendFailure, ON_IT,
};
use crate::chat::{Attachment, Outbound, Replier};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{json, Value};
use serenity::all::{ChannelId, MessageId};
use std::sync::Arc;
use tokio::sync::OwnedMutexGuard;

/// Discord takes files up to 10 MB from a bot in a server without boosts.
pub const FILE_LIMIT: usize = 10 * 1024 * 1024;

/// Message flag: only the person who pressed sees it.
const EPHEMERAL: u64 = 1 << 6;

/// Mentions in a message never ping anyone: not `@everyone`, not a role, not a user.
pub fn no_pings() -> Value {
    json!({ "parse": [] })
}

/// Buttons in one action row at most.
const ROW: usize = 5;

/// The reply's buttons ([`buttons::of`]) as message components: action rows (type 1) of
/// buttons (type 2) carrying the shared payloads; `None` when it has none.
pub fn components(out: &Outbound) -> Option<Value> {
    let all = buttons::of(out);
    let rows: Vec<Value> = all
        .chunks(ROW)
        .map(|row| {
            let row: Vec<Value> = row
                .iter()
                .map(|b| {
                    json!({ "type": 2, "style": style(b.style), "label": b.label,
                            "custom_id": b.payload })
                })
                .collect();
            json!({ "type": 1, "components": row })
        })
        .collect();
    (!rows.is_empty()).then_some(Value::Array(rows))
}

/// Discord's button styles: primary (blurple), secondary (grey), danger (red).
fn style(style: buttons::Style) -> u64 {
    match style {
        buttons::Style::Primary => 1,
        buttons::Style::Plain => 2,
        buttons::Style::Danger => 4,
    }
}

/// The note posted instead of a file Discord would refuse.
pub fn too_big(file: &Attachment) -> String {
    format!(
        "The file `{}` is {:.1} MB, over Discord's 10 MB limit for bots, so it was not sent.",
        file.name.replace('`', "'"),
        file.bytes.len() as f64 / (1024.0 * 1024.0)
    )
}

/// The id Discord gave what was created.
fn id_of(created: &Value) -> Option<u64> {
    created["id"].as_str()?.parse().ok()
}

#[derive(Clone)]
pub struct Outbox(Arc<Inner>);

struct Inner {
    rest: Rest,
    queues: ChatQueues,
}

impl Outbox {
    pub fn new(rest: Rest) -> Self {
        Outbox(Arc::new(Inner {
            rest,
            queues: ChatQueues::new("Discord"),
        }))
    }

    /// Held while a turn of this conversation runs (FIFO: turns run in the order taken).
    pub async fn lock_turn(&self, thread: ChannelId) -> OwnedMutexGuard<()> {
        self.0.queues.turn(&thread.to_string()).await
    }

    /// Runs one request in `channel`'s queue until it is sent, refused or lost.
    pub async fn call(
        &self,
        channel: ChannelId,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<Value, SendFailure> {
        let (method, body) = (&method, &body);
        self.0
            .queues
            .send(&channel.to_string(), || async move {
                self.0.rest.call(method.clone(), path, body).await
            })
            .await
    }

    /// One request outside any channel's queue (button answers must be prompt), tried
    /// again only when Discord certainly did not take it.
    async fn call_alone(&self, method: Method, path: &str, body: Body) -> Result<Value, String> {
        for _ in 0..3 {
            match self.0.rest.call(method.clone(), path, &body).await {
                Attempt::Sent(value) => return Ok(value),
                Attempt::Wait(wait) => tokio::time::sleep(wait).await,
                Attempt::Unreachable(e) | Attempt::Refused(e) | Attempt::Lost(e) => return Err(e),
            }
        }
        Err("Discord kept asking to wait".into())
    }

    /// Posts `text`, with `components` (buttons) when given.
    pub async fn send_text(
        &self,
        channel: ChannelId,
        text: &str,
        components: Option<&Value>,
    ) -> Result<MessageId, SendFailure> {
        let mut message = json!({ "content": text, "allowed_mentions": no_pings() });
        if let Some(components) = components {
            message["components"] = components.clone();
        }
        let path = format!("/channels/{channel}/messages");
        let created = self
            .call(channel, Method::POST, &path, Body::Json(message))
            .await?;
        id_of(&created).map(MessageId::new).ok_or_else(|| {
            SendFailure::Unknown("Discord did not say which message it posted".into())
        })
    }

    /// Replaces a message's text and its buttons with `components` (none: removed).
    pub async fn edit_text(
        &self,
        channel: ChannelId,
        message: MessageId,
        text: &str,
        components: Option<&Value>,
    ) -> bool {
        let mut edit = json!({ "content": text, "allowed_mentions": no_pings() });
        edit["components"] = components.cloned().unwrap_or_else(|| json!([]));
        let path = format!("/channels/{channel}/messages/{message}");
        self.call(channel, Method::PATCH, &path, Body::Json(edit))
            .await
            .is_ok()
    }

    /// Sends one file as an attachment, or a note when it is over the limit.
    pub async fn send_file(
        &self,
        channel: ChannelId,
        file: &Attachment,
    ) -> Result<(), SendFailure> {
        if file.bytes.len() > FILE_LIMIT {
            return self
                .send_text(channel, &too_big(file), None)
                .await
                .map(|_| ());
        }
        let payload = json!({
            "allowed_mentions": no_pings(),
            "attachments": [{ "id": 0, "filename": file.name }],
        });
        let body = Body::File {
            payload,
            name: file.name.clone(),
            mime: file.mime,
            bytes: file.bytes.clone(),
        };
        let path = format!("/channels/{channel}/messages");
        self.call(channel, Method::POST, &path, body)
            .await
            .map(|_| ())
    }

    /// Posts Markdown (in parts under Discord's limit) and then files, skipping the first
    /// `skip` parts (posted by an earlier attempt). On failure, says how many parts are
    /// posted in all and why the next one was not.
    pub async fn post(
        &self,
        channel: ChannelId,
        markdown: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), (usize, SendFailure)> {
        let texts = markdown::render(markdown);
        let total = texts.len() + files.len();
        let texts = &texts;
        post_parts(total, skip, |index| async move {
            match texts.get(index) {
                Some(text) => self.send_text(channel, text, None).await.map(|_| ()),
                None => self.send_file(channel, &files[index - texts.len()]).await,
            }
        })
        .await
    }

    /// Posts one notice to `channel`: its text in parts, its buttons on the last part. On
    /// failure, says how many parts are posted and why the next one was not.
    pub async fn notify(
        &self,
        channel: ChannelId,
        out: &Outbound,
    ) -> Result<(), (usize, SendFailure)> {
        let texts = markdown::render(&out.text);
        let last = texts.len() - 1;
        let (texts, components) = (&texts, &components(out));
        post_parts(texts.len(), 0, |index| async move {
            let buttons = components.as_ref().filter(|_| index == last);
            self.send_text(channel, &texts[index], buttons)
                .await
                .map(|_| ())
        })
        .await
    }

    /// The direct-message channel between the bot and `user` (`POST
    /// /users/@me/channels`; Discord answers the same channel each time).
    pub async fn direct_channel(&self, user: u64) -> Result<ChannelId, SendFailure> {
        let body = Body::Json(json!({ "recipient_id": user.to_string() }));
        // Queued with the person's id: their direct channel's id is not known yet.
        let opened = self
            .call(
                ChannelId::new(user),
                Method::POST,
                "/users/@me/channels",
                body,
            )
            .await?;
        id_of(&opened).map(ChannelId::new).ok_or_else(|| {
            SendFailure::Unknown("Discord did not say which direct channel it opened".into())
        })
    }

    pub async fn typing(&self, channel: ChannelId) {
        let path = format!("/channels/{channel}/typing");
        let _ = self.call(channel, Method::POST, &path, Body::None).await;
    }

    /// Starts a thread from `message` in `channel`; Discord gives it the message's id.
    pub async fn start_thread(
        &self,
        channel: ChannelId,
        message: MessageId,
        name: &str,
    ) -> Result<ChannelId, SendFailure> {
        let path = format!("/channels/{channel}/messages/{message}/threads");
        let body = Body::Json(json!({ "name": name, "auto_archive_duration": 1440 }));
        let created = self.call(channel, Method::POST, &path, body).await?;
        Ok(ChannelId::new(id_of(&created).unwrap_or(message.get())))
    }

    /// A channel's type and, for a thread, the channel it hangs off.
    pub async fn channel_info(
        &self,
        channel: ChannelId,
    ) -> Result<(u64, Option<u64>), SendFailure> {
        let path = format!("/channels/{channel}");
        let info = self.call(channel, Method::GET, &path, Body::None).await?;
        let kind = info["type"].as_u64().unwrap_or(0);
        let parent = info["parent_id"].as_str().and_then(|p| p.parse().ok());
        Ok((kind, parent))
    }

    /// The bot's own user id (`GET /users/@me`), retried until it answers.
    pub async fn bot_user(&self) -> Result<u64, SendFailure> {
        let me = self
            .call(ChannelId::new(1), Method::GET, "/users/@me", Body::None)
            .await?;
        id_of(&me).ok_or_else(|| SendFailure::Refused("Discord did not name the bot".into()))
    }

    /// Acknowledges a button press at once ("deferred update"): Discord needs an answer
    /// within 3 seconds, long before a decision and its turn are done.
    pub async fn acknowledge(&self, interaction: u64, token: &str) {
        let path = format!("/interactions/{interaction}/{token}/callback");
        if let Err(e) = self
            .call_alone(Method::POST, &path, Body::Json(json!({ "type": 6 })))
            .await
        {
            tracing::warn!(error = %e, "could not acknowledge a Discord button press");
        }
    }

    /// A message only the presser sees (why a press changed nothing).
    pub async fn tell_presser(&self, application: u64, token: &str, text: &str) {
        let path = format!("/webhooks/{application}/{token}");
        let body = json!({
            "content": markdown::defuse_mentions(text),
            "flags": EPHEMERAL,
            "allowed_mentions": no_pings(),
        });
        if let Err(e) = self.call_alone(Method::POST, &path, Body::Json(body)).await {
            tracing::warn!(error = %e, "could not answer a Discord button press");
        }
    }
}

/// The button press a reply answers: its token and the prompt message pressed.
#[derive(Clone)]
pub struct Press {
    pub application: u64,
    pub token: String,
    pub prompt: MessageId,
}

/// Replies in one channel (a thread); when the request came from a button press, also to
/// that press.
pub struct DiscordReplier {
    outbox: Outbox,
    channel: ChannelId,
    press: Option<Press>,
    /// The "On it…" message, sent in the background as soon as tools are needed.
    placeholder: Placeholder<MessageId>,
}

impl DiscordReplier {
    pub fn new(outbox: &Outbox, channel: ChannelId, press: Option<Press>) -> Self {
        DiscordReplier {
            outbox: outbox.clone(),
            channel,
            press,
            placeholder: Placeholder::default(),
        }
    }

    /// Records the "On it…" message with event `id`'s claim once posted.
    pub fn recording(mut self, claims: Arc<InboundLedger>, id: String) -> Self {
        self.placeholder.record_on(claims, id);
        self
    }

    /// Edits the answer into `message`, an "On it…" an earlier attempt posted.
    pub fn adopting(self, message: Option<MessageId>) -> Self {
        if let Some(message) = message {
            self.placeholder.adopt(message);
        }
        self
    }

    /// The answer, editing "On it…" into its first part; buttons go on the last part;
    /// then the files.
    async fn post(&self, out: &Outbound) {
        let parts = markdown::render(&out.text);
        let last = parts.len() - 1;
        let components = components(out);
        let mut placeholder = self.placeholder.take().await;
        for (i, part) in parts.iter().enumerate() {
            let buttons = components.as_ref().filter(|_| i == last);
            if let Some(id) = placeholder.take() {
                if self.outbox.edit_text(self.channel, id, part, buttons).await {
                    continue;
                }
            }
            let _ = self.outbox.send_text(self.channel, part, buttons).await;
        }
        for file in &out.attachments {
            let _ = self.outbox.send_file(self.channel, file).await;
        }
    }
}

#[async_trait]
impl Replier for DiscordReplier {
    fn working(&self) {
        let (outbox, channel) = (self.outbox.clone(), self.channel);
        self.placeholder.start(async move {
            outbox.typing(channel).await;
            outbox.send_text(channel, ON_IT, None).await.ok()
        });
    }

    async fn reply(&self, out: Outbound) {
        let Some(press) = &self.press else {
            return self.post(&out).await;
        };
        let Some(note) = &out.decided else {
            // Nothing changed (stale, forged, someone else, expired, a second press): say
            // why to the presser alone.
            self.outbox
                .tell_presser(press.application, &press.token, &out.text)
                .await;
            return;
        };
        let verdict = note.verdict.as_str();
        // The summary and the name are data: rendered like any text, never as markup.
        let marked = markdown::render(&format!(
            "{}\n\n**{verdict} by {}**",
            note.summary.replace('*', "\\*"),
            note.by.replace('*', "\\*")
        ))
        .swap_remove(0);
        self.outbox
            .edit_text(self.channel, press.prompt, &marked, None)
            .await;
        if note.confirmed {
            self.post(&out).await;
        }
    }
}

impl PlaceholderId for MessageId {
    fn noted(&self) -> String {
        self.to_string()
    }
}
