//! What a person sends besides text: a voice note or audio file, an image, a document.
//! An adapter describes each one as the platform announced it ([`Media`]) and hands over a
//! way to download it through the platform's API ([`MediaSource`]); nothing is downloaded
//! until the core has checked who sent it, what it is and how big the platform says it is.

use async_trait::async_trait;
use std::sync::Arc;

/// What kind of thing was sent, which decides what happens to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// A voice note or an audio file: transcribed, then answered as the text it says.
    Audio,
    /// A photo or image file: shown to a model that can see images.
    Image,
    /// Any other file: read as data when it is CSV or plain text, refused otherwise.
    File,
}

impl MediaKind {
    /// The kind of a file from its MIME type (when the platform gives one) and its name.
    pub fn of(mime: Option<&str>, name: &str) -> MediaKind {
        let mime = mime.unwrap_or_default().to_ascii_lowercase();
        let extension = extension(name);
        let audio_name = matches!(
            extension.as_str(),
            "ogg" | "oga" | "opus" | "mp3" | "m4a" | "wav" | "webm" | "aac" | "flac"
        );
        if mime.starts_with("audio/") || (audio_name && !mime.starts_with("video/")) {
            MediaKind::Audio
        } else if mime.starts_with("image/")
            || matches!(extension.as_str(), "png" | "jpg" | "jpeg" | "gif" | "webp")
        {
            MediaKind::Image
        } else {
            MediaKind::File
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Image => "image",
            MediaKind::File => "file",
        }
    }
}

/// A file name's extension, lower-cased (empty when it has none).
pub fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The file name extension of a MIME type the platforms send for audio, images and
/// video (`audio/ogg; codecs=opus` → `ogg`), for naming a file that came without a name.
pub fn extension_for(mime: &str) -> Option<&'static str> {
    let mime = mime.split(';').next()?.trim().to_ascii_lowercase();
    Some(match mime.as_str() {
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" => "m4a",
        "audio/aac" => "aac",
        "audio/amr" => "amr",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/webm" => "webm",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "image/gif" => "gif",
        "video/mp4" => "mp4",
        "video/3gpp" => "3gp",
        _ => return None,
    })
}

/// One thing a person sent, as the platform described it.
#[derive(Clone)]
pub struct Media {
    pub kind: MediaKind,
    /// Its file name: the platform's, or one made up from the kind (`voice.ogg`).
    pub name: String,
    /// Its MIME type, when the platform says.
    pub mime: Option<String>,
    /// Its size in bytes, when the platform says before the download.
    pub size: Option<u64>,
    /// Its length in seconds (audio), when the platform says.
    pub seconds: Option<f64>,
    /// The most the platform lets a bot download, in bytes, when it has a limit.
    pub platform_limit: Option<u64>,
    /// Where its bytes come from.
    pub source: Arc<dyn MediaSource>,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("size", &self.size)
            .field("seconds", &self.seconds)
            .finish_non_exhaustive()
    }
}

impl Media {
    /// The most fanops takes of it: `ours`, or the platform's limit when that is lower.
    pub fn limit(&self, ours: u64) -> u64 {
        self.platform_limit
            .map_or(ours, |platform| platform.min(ours))
    }

    /// Reads its bytes, refusing (without keeping them) anything past `limit` bytes.
    pub async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        if let Some(size) = self.size.filter(|size| *size > limit) {
            return Err(MediaError::TooBig { size, limit });
        }
        let bytes = self.source.fetch(limit).await?;
        if bytes.len() as u64 > limit {
            return Err(MediaError::TooBig {
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }
}

/// Downloads one file through its platform's API, with the bot's credentials.
#[async_trait]
pub trait MediaSource: Send + Sync {
    /// The file's bytes; stops (with [`MediaError::TooBig`]) once more than `limit` bytes
    /// arrive, so an oversized file is never held whole.
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError>;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MediaError {
    #[error("the file is {} and the limit is {}", megabytes(*size), megabytes(*limit))]
    TooBig { size: u64, limit: u64 },
    /// The platform would not hand the file over; the sentence says what it answered.
    #[error("the platform would not hand the file over: {0}")]
    Download(String),
    /// The bot may not download it (its credentials or permissions): sending the file
    /// again will not help until an admin fixes that.
    #[error("the bot may not download the file: {0}")]
    NotAllowed(String),
}

impl MediaError {
    /// What a refused download's HTTP status says.
    fn of_status(status: u16) -> MediaError {
        match status {
            401 | 403 => MediaError::NotAllowed(format!("HTTP {status}")),
            _ => MediaError::Download(format!("HTTP {status}")),
        }
    }
}

/// Bytes in words: `1.4 MB`, `820 KB`.
pub fn megabytes(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1_000_000.0)
    } else {
        format!("{} KB", bytes.div_ceil(1_000))
    }
}

/// The answer to a download's request, or why none came, in words that name `service`
/// and never the URL (which may carry a credential).
pub fn answered(
    sent: reqwest::Result<reqwest::Response>,
    service: &str,
) -> Result<reqwest::Response, MediaError> {
    sent.map_err(|e| match e.status() {
        Some(status) => MediaError::of_status(status.as_u16()),
        None if e.is_timeout() => {
            MediaError::Download(format!("{service} did not send the file in time"))
        }
        None => MediaError::Download(format!("{service} could not be reached")),
    })
}

/// Reads a streamed download, stopping once it passes `limit` bytes: what every
/// platform's [`MediaSource`] does with its HTTP response.
pub async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, MediaError> {
    let status = response.status();
    if !status.is_success() {
        return Err(MediaError::of_status(status.as_u16()));
    }
    if let Some(size) = response.content_length().filter(|size| *size > limit) {
        return Err(MediaError::TooBig { size, limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| MediaError::Download(e.without_url().to_string()))?
    {
        push_limited(&mut bytes, &chunk, limit)?;
    }
    Ok(bytes)
}

/// Adds a downloaded chunk, refusing once the file passes `limit` bytes.
pub fn push_limited(bytes: &mut Vec<u8>, chunk: &[u8], limit: u64) -> Result<(), MediaError> {
    bytes.extend_from_slice(chunk);
    match bytes.len() as u64 {
        size if size > limit => Err(MediaError::TooBig { size, limit }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_come_from_the_mime_type_or_else_the_name() {
        assert_eq!(MediaKind::of(Some("audio/ogg"), "x"), MediaKind::Audio);
        assert_eq!(MediaKind::of(None, "voice.OGG"), MediaKind::Audio);
        assert_eq!(MediaKind::of(Some("image/png"), "a.bin"), MediaKind::Image);
        assert_eq!(MediaKind::of(None, "stats.jpeg"), MediaKind::Image);
        assert_eq!(MediaKind::of(Some("text/csv"), "a.csv"), MediaKind::File);
        assert_eq!(
            MediaKind::of(Some("video/webm"), "clip.webm"),
            MediaKind::File
        );
        assert_eq!(MediaKind::of(None, "README"), MediaKind::File);
    }

    #[test]
    fn a_refused_credential_is_told_apart_from_a_failed_download() {
        assert!(matches!(
            MediaError::of_status(401),
            MediaError::NotAllowed(_)
        ));
        assert!(matches!(
            MediaError::of_status(403),
            MediaError::NotAllowed(_)
        ));
        assert!(matches!(
            MediaError::of_status(404),
            MediaError::Download(_)
        ));
        assert!(matches!(
            MediaError::of_status(503),
            MediaError::Download(_)
        ));
    }

    #[test]
    fn sizes_read_in_words() {
        assert_eq!(megabytes(25_000_000), "25.0 MB");
        assert_eq!(megabytes(1_400_000), "1.4 MB");
        assert_eq!(megabytes(820_000), "820 KB");
        assert_eq!(megabytes(1), "1 KB");
    }
}
