//! Voice notes, audio, images, documents and videos in a WhatsApp message. Meta's webhook
//! names each by a media id (never its bytes, and no size or length); the core downloads
//! it through the Graph API once it knows who sent it: `GET {api_url}/{media-id}` with the
//! access token answers a short-lived URL and the size, and that URL is fetched with the
//! same token.

use super::graph::Graph;
use crate::chat::{extension_for, Media, MediaError, MediaKind, MediaSource};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// WhatsApp's limits for media: audio and video 16 MB, images 5 MB, documents 100 MB.
pub(super) const AUDIO_LIMIT: u64 = 16 * 1024 * 1024;
pub(super) const IMAGE_LIMIT: u64 = 5 * 1024 * 1024;
pub(super) const DOCUMENT_LIMIT: u64 = 100 * 1024 * 1024;

/// One file a message carries, as Meta announced it; kept with the message's claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Posted {
    /// The message type: `audio`, `image`, `document` or `video`.
    pub what: String,
    /// Graph's media id.
    pub media_id: String,
    pub mime: Option<String>,
    /// A document's file name.
    pub filename: Option<String>,
    /// A voice note recorded in WhatsApp (not an audio file sent).
    #[serde(default)]
    pub voice: bool,
}

/// The file of a message of type `kind` and its caption, if it carries one.
pub(super) fn posted_of(message: &Value, kind: &str) -> Option<(Posted, String)> {
    if !matches!(kind, "audio" | "image" | "document" | "video") {
        return None;
    }
    let object = &message[kind];
    let text = |field: &str| object[field].as_str().map(str::to_string);
    let posted = Posted {
        what: kind.to_string(),
        media_id: text("id")?,
        mime: text("mime_type"),
        filename: text("filename").filter(|name| !name.trim().is_empty()),
        voice: object["voice"].as_bool().unwrap_or(false),
    };
    Some((posted, text("caption").unwrap_or_default()))
}

/// What the core is given of `posted`: its kind, a name, WhatsApp's limit for it, and a
/// way to download it through `graph`.
pub(super) fn media_of(graph: &Arc<Graph>, posted: &Posted) -> Media {
    let mime = posted.mime.clone();
    let extension = mime.as_deref().and_then(extension_for);
    let (kind, name, limit) = match posted.what.as_str() {
        "audio" if posted.voice => (MediaKind::Audio, "voice.ogg".to_string(), AUDIO_LIMIT),
        "audio" => (
            MediaKind::Audio,
            format!("audio.{}", extension.unwrap_or("ogg")),
            AUDIO_LIMIT,
        ),
        "image" => (
            MediaKind::Image,
            format!("image.{}", extension.unwrap_or("jpg")),
            IMAGE_LIMIT,
        ),
        // Offered as a file: the core says in words that it does not watch videos.
        "video" => (
            MediaKind::File,
            format!("video.{}", extension.unwrap_or("mp4")),
            AUDIO_LIMIT,
        ),
        _ => {
            let name = posted.filename.clone().unwrap_or_else(|| "file".into());
            (MediaKind::of(mime.as_deref(), &name), name, DOCUMENT_LIMIT)
        }
    };
    Media {
        kind,
        name,
        mime,
        size: None,
        seconds: None,
        platform_limit: Some(limit),
        source: Arc::new(WhatsAppFile {
            graph: graph.clone(),
            media_id: posted.media_id.clone(),
        }),
    }
}

/// One file of a message, fetched with the number's access token.
struct WhatsAppFile {
    graph: Arc<Graph>,
    media_id: String,
}

#[async_trait]
impl MediaSource for WhatsAppFile {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        let found = self.graph.media(&self.media_id).await?;
        if let Some(size) = found.size.filter(|size| *size > limit) {
            return Err(MediaError::TooBig { size, limit });
        }
        self.graph.download(&found.url, limit).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_media_type_is_read_with_its_caption() {
        let voice = json!({"type": "audio", "audio": {"id": "1", "mime_type": "audio/ogg; codecs=opus", "voice": true}});
        let (posted, caption) = posted_of(&voice, "audio").unwrap();
        assert!(posted.voice && caption.is_empty());
        assert_eq!(posted.mime.as_deref().and_then(extension_for), Some("ogg"));

        let document = json!({"type": "document", "document": {"id": "2", "mime_type": "text/csv", "filename": "sales.csv", "caption": "who leads?"}});
        let (posted, caption) = posted_of(&document, "document").unwrap();
        assert_eq!(posted.filename.as_deref(), Some("sales.csv"));
        assert_eq!(caption, "who leads?");

        let sticker = json!({"type": "sticker", "sticker": {"id": "3"}});
        assert!(posted_of(&sticker, "sticker").is_none());
        let without_id = json!({"type": "image", "image": {"mime_type": "image/png"}});
        assert!(posted_of(&without_id, "image").is_none());
    }
}
