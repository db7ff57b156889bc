//! The platform-neutral shape of a conversation, shared by every layer: who asks, where
//! and with which role ([`Inbound`], [`Role`], [`Turn`]); what goes back ([`Outbound`],
//! [`Attachment`]); and how the core answers on a platform ([`Replier`]) or posts an
//! unattended answer to one ([`Delivery`], [`Deliveries`]). It sits at the bottom: it
//! imports nothing of fanops but the store's [`Decision`].

use crate::store::Decision;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

mod audio_length;
mod media;
pub use audio_length::audio_seconds;
pub use media::{
    answered, extension, extension_for, megabytes, push_limited, read_limited, Media, MediaError,
    MediaKind, MediaSource,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Can ask; cannot confirm writes.
    Viewer,
    /// Can also confirm writes.
    Operator,
    /// Can also manage tasks, skills and budgets.
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "operator" => Some(Role::Operator),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub fn can_decide(self) -> bool {
        self >= Role::Operator
    }
}

/// Why a turn runs: a person asked, a schedule fired, or (next) an event rule matched.
/// The usage ledger reports by it, and unattended kinds may not manage tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunKind {
    #[default]
    Chat,
    Scheduled,
    Event,
}

impl RunKind {
    /// Its name in the usage ledger and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Chat => "chat",
            RunKind::Scheduled => "scheduled",
            RunKind::Event => "event",
        }
    }

    /// No person is present to confirm anything.
    pub fn is_unattended(self) -> bool {
        self != RunKind::Chat
    }
}

/// Who a model call is made for, so that its cost can be reported by each dimension.
#[derive(Debug, Clone, Default)]
pub struct CallTags {
    pub platform: String,
    /// The bot: `<platform>` or `<platform>:<account>`.
    pub connection: String,
    pub user: String,
    pub kind: RunKind,
    pub conversation: Option<String>,
    pub task: Option<String>,
}

/// Who a turn runs for and where its history lives.
#[derive(Debug, Clone)]
pub struct Turn {
    pub conversation: String,
    pub tags: CallTags,
    /// Model alias; None = the default.
    pub model: Option<String>,
    /// No person is present: writes are refused instead of waiting.
    pub unattended: bool,
    /// For unattended runs: the write endpoints the workflow allows without a person.
    pub allow_writes: Vec<String>,
    /// The role of the person the turn runs for (viewer for unattended runs).
    pub role: Role,
}

/// A platform event, reduced to what the core needs.
#[derive(Debug, Clone)]
pub struct Inbound {
    /// The platform's name: what usage and metrics report by.
    pub platform: String,
    /// The bot it came through: the platform's name for the top-level one, or
    /// `<platform>:<account>` (DESIGN §12.3). People, roles and conversations are its own.
    pub connection: String,
    pub chat: String,
    pub thread: Option<String>,
    pub user: String,
    pub user_name: String,
    /// Written in the person's private chat with the bot (a DM), not in a group.
    pub private: bool,
    pub body: InboundBody,
}

#[derive(Debug, Clone)]
pub enum InboundBody {
    Text(String),
    /// A voice note, image or file, with the words written beside it (a caption; may be
    /// empty). The core downloads nothing before it knows who sent it.
    Media {
        text: String,
        media: Vec<Media>,
    },
    /// A Confirm/Cancel button press.
    Decision {
        action_id: String,
        decision: Decision,
    },
    /// A press on an access request's buttons.
    Access {
        request_id: String,
        choice: AccessChoice,
    },
}

/// What an admin decided on an access request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChoice {
    Allow(Role),
    Ignore,
}

impl Inbound {
    /// Conversations are keyed by connection, chat and thread.
    pub fn conversation(&self) -> String {
        format!(
            "{}:{}:{}",
            self.connection,
            self.chat,
            self.thread.as_deref().unwrap_or("")
        )
    }
}

/// A reply: Markdown text, and Confirm/Cancel choices when a write waits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outbound {
    pub text: String,
    pub confirm: Option<ConfirmPrompt>,
    /// Set when this reply follows a decision that took effect, so a platform can mark
    /// the confirmation prompt with who decided and how.
    pub decided: Option<DecisionNote>,
    /// Files to send after the text.
    pub attachments: Vec<Attachment>,
    /// The access request whose Allow as viewer / operator / admin and Ignore buttons go
    /// on this message.
    pub access: Option<String>,
}

impl Outbound {
    pub fn text(text: impl Into<String>) -> Self {
        Outbound {
            text: text.into(),
            ..Outbound::default()
        }
    }
}

/// How a prompt with buttons was decided, so the platform can mark it: its summary, then
/// `<verdict> by <by>`; the reply's text follows it when `confirmed`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionNote {
    pub action_id: String,
    pub summary: String,
    pub confirmed: bool,
    pub by: String,
    /// "✅ Confirmed", "✖️ Cancelled", "✅ Allowed as operator", "🚫 Ignored".
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmPrompt {
    pub action_id: String,
    pub summary: String,
    pub expires_at: DateTime<Utc>,
}

/// How the core answers on a platform.
#[async_trait]
pub trait Replier: Send + Sync {
    /// The request needs tools: show progress ("On it…", a typing indicator).
    fn working(&self);
    async fn reply(&self, out: Outbound);
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttachmentKind {
    /// Shown inline where the platform can (PNG charts).
    Image,
    Document,
}

/// A file that goes out with a reply.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub mime: &'static str,
    pub kind: AttachmentKind,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({}, {} bytes)", self.name, self.bytes.len())
    }
}

/// Posts a run's answer to one platform.
#[async_trait]
pub trait Delivery: Send + Sync {
    /// Posts `text` (in as many parts as the platform needs) and then `files` to `to`,
    /// skipping the first `skip` parts, which an earlier attempt posted.
    async fn deliver(
        &self,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure>;

    /// Posts one message with its buttons (an access request, the news that a person is
    /// in) to `to`.
    async fn notify(&self, to: Recipient<'_>, out: &Outbound) -> Result<(), DeliveryFailure>;

    /// [`Delivery::deliver`] of scheduled run `run`'s post. A platform that hears only
    /// later whether a message arrived (a status webhook) keeps `run` to record it then.
    async fn deliver_run(
        &self,
        run: &RunPost,
        to: &str,
        text: &str,
        files: &[Attachment],
        skip: usize,
    ) -> Result<(), DeliveryFailure> {
        let _ = run;
        self.deliver(to, text, files, skip).await
    }
}

/// Which scheduled fire a post belongs to: its task and the time it was scheduled for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPost {
    pub task: String,
    pub fire: DateTime<Utc>,
}

/// Where a notice goes: a person, in the private chat the platform has with the bot, or
/// a chat (the platform's id of a group or channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient<'a> {
    Person(&'a str),
    Chat(&'a str),
}

/// Why a delivery stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFailure {
    /// Parts posted in all, earlier attempts included.
    pub posted: usize,
    /// The failed part was certainly not posted, and may succeed later.
    pub retry: bool,
    pub message: String,
}

/// Every platform this process can post to, by channel name (the platform's). Channels
/// register as they are built; the scheduler (and next the event rules) posts through it.
#[derive(Clone, Default)]
pub struct Deliveries {
    by_channel: Arc<RwLock<BTreeMap<String, Arc<dyn Delivery>>>>,
}

impl Deliveries {
    pub fn register(&self, channel: &str, delivery: Arc<dyn Delivery>) {
        let mut map = self.by_channel.write().unwrap_or_else(|e| e.into_inner());
        map.insert(channel.to_string(), delivery);
    }

    pub fn get(&self, channel: &str) -> Option<Arc<dyn Delivery>> {
        let map = self.by_channel.read().unwrap_or_else(|e| e.into_inner());
        map.get(channel).cloned()
    }

    /// The channel names, sorted.
    pub fn channels(&self) -> Vec<String> {
        let map = self.by_channel.read().unwrap_or_else(|e| e.into_inner());
        map.keys().cloned().collect()
    }
}

/// Attachments in a stored form (JSON, bytes in base64), for posts kept to be sent again.
pub fn encode_attachments(files: &[Attachment]) -> String {
    let files: Vec<serde_json::Value> = files
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "mime": f.mime,
                "image": f.kind == AttachmentKind::Image,
                "bytes": STANDARD.encode(&f.bytes),
            })
        })
        .collect();
    serde_json::Value::Array(files).to_string()
}

/// The attachments [`encode_attachments`] stored.
pub fn decode_attachments(text: &str) -> Result<Vec<Attachment>, String> {
    let files: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    files
        .iter()
        .map(|f| {
            let bytes = STANDARD
                .decode(f["bytes"].as_str().unwrap_or(""))
                .map_err(|e| e.to_string())?;
            let mime = match f["mime"].as_str() {
                Some("image/png") => "image/png",
                Some("text/csv") => "text/csv",
                _ => "application/octet-stream",
            };
            let kind = if f["image"].as_bool() == Some(true) {
                AttachmentKind::Image
            } else {
                AttachmentKind::Document
            };
            Ok(Attachment {
                name: f["name"].as_str().unwrap_or("file").to_string(),
                mime,
                kind,
                bytes,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_round_trip_through_their_stored_form() {
        let files = vec![
            Attachment {
                name: "net.png".into(),
                mime: "image/png",
                kind: AttachmentKind::Image,
                bytes: vec![0x89, b'P', b'N', b'G', 0, 255],
            },
            Attachment {
                name: "fans.csv".into(),
                mime: "text/csv",
                kind: AttachmentKind::Document,
                bytes: b"a,b\n1,2\n".to_vec(),
            },
        ];
        assert_eq!(
            decode_attachments(&encode_attachments(&files)).unwrap(),
            files
        );
        assert!(decode_attachments("not json").is_err());
    }
}
