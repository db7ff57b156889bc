//! Voice notes, audio, photos and documents in a Telegram message, as [`Media`] the core
//! downloads through `getFile` and the Bot API's file URL once it knows who sent them.

use crate::chat::{push_limited, Media, MediaError, MediaKind, MediaSource};
use async_trait::async_trait;
use futures::StreamExt;
use std::sync::Arc;
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{FileId, FileMeta};

/// The most the Bot API hands a bot through `getFile`.
pub const DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;

/// What `message` carries besides text: a voice note, an audio file, the largest size of
/// a photo, a document (a video is offered as a file, which the core refuses in words).
/// Stickers, locations and the like are not media to answer.
pub fn media_of(bot: &Bot, message: &Message) -> Vec<Media> {
    let item = |file: &FileMeta, kind, name: String, mime: Option<String>, seconds| Media {
        kind,
        name,
        mime,
        size: Some(u64::from(file.size)).filter(|s| *s > 0),
        seconds,
        platform_limit: Some(DOWNLOAD_LIMIT),
        source: Arc::new(TelegramFile {
            bot: bot.clone(),
            id: file.id.clone(),
        }),
    };
    let mut media = Vec::new();
    if let Some(voice) = message.voice() {
        let seconds = Some(f64::from(voice.duration.seconds()));
        let mime = text_of(voice.mime_type.as_ref());
        media.push(item(
            &voice.file,
            MediaKind::Audio,
            "voice.ogg".into(),
            mime,
            seconds,
        ));
    }
    if let Some(audio) = message.audio() {
        let seconds = Some(f64::from(audio.duration.seconds()));
        let name = audio
            .file_name
            .clone()
            .unwrap_or_else(|| "audio.mp3".into());
        let mime = text_of(audio.mime_type.as_ref());
        media.push(item(&audio.file, MediaKind::Audio, name, mime, seconds));
    }
    if let Some(largest) = message
        .photo()
        .and_then(|sizes| sizes.iter().max_by_key(|p| p.width * p.height))
    {
        let (name, mime) = ("photo.jpg".to_string(), Some("image/jpeg".to_string()));
        media.push(item(&largest.file, MediaKind::Image, name, mime, None));
    }
    if let Some(document) = message.document() {
        let name = document.file_name.clone().unwrap_or_else(|| "file".into());
        let mime = text_of(document.mime_type.as_ref());
        let kind = MediaKind::of(mime.as_deref(), &name);
        media.push(item(&document.file, kind, name, mime, None));
    }
    if let Some(video) = message.video() {
        let name = video
            .file_name
            .clone()
            .unwrap_or_else(|| "video.mp4".into());
        let mime = text_of(video.mime_type.as_ref()).or(Some("video/mp4".into()));
        media.push(item(&video.file, MediaKind::File, name, mime, None));
    }
    media
}

/// A MIME type as text (`audio/ogg`).
fn text_of(mime: Option<&impl std::fmt::Display>) -> Option<String> {
    mime.map(ToString::to_string)
}

/// One file of a message, fetched with the bot's token.
struct TelegramFile {
    bot: Bot,
    id: FileId,
}

#[async_trait]
impl MediaSource for TelegramFile {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        let file = self.bot.get_file(self.id.clone()).await.map_err(|e| {
            MediaError::Download(match e {
                teloxide::RequestError::Api(api) => format!("Telegram answered: {api}"),
                teloxide::RequestError::RetryAfter(wait) => {
                    format!("Telegram asks to wait {} s", wait.duration().as_secs())
                }
                _ => "Telegram could not be reached".to_string(),
            })
        })?;
        let size = u64::from(file.size);
        if size > limit {
            return Err(MediaError::TooBig { size, limit });
        }
        let mut stream = self.bot.download_file_stream(&file.path);
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| match e.status() {
                Some(status) => MediaError::Download(format!("HTTP {}", status.as_u16())),
                None => MediaError::Download("Telegram could not be reached".into()),
            })?;
            push_limited(&mut bytes, &chunk, limit)?;
        }
        Ok(bytes)
    }
}
