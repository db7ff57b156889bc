//! Attachments of a Discord message (voice messages, audio, screenshots, CSVs) as
//! [`Media`]: their CDN URL is signed, so the core's download needs no token, and Discord
//! says each one's size (and a voice message's length) up front.

use crate::chat::{answered, read_limited, Media, MediaError, MediaKind, MediaSource};
use async_trait::async_trait;
use serenity::all::Attachment;
use std::sync::Arc;
use std::time::Duration;

/// How long a download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The attachments of a message, not yet downloaded.
pub(super) fn media_of(http: &reqwest::Client, attachments: &[Attachment]) -> Vec<Media> {
    attachments
        .iter()
        .map(|a| Media {
            kind: MediaKind::of(a.content_type.as_deref(), &a.filename),
            name: a.filename.clone(),
            mime: a.content_type.clone(),
            size: Some(u64::from(a.size)),
            seconds: a.duration_secs,
            platform_limit: None,
            source: Arc::new(CdnFile {
                http: http.clone(),
                url: a.url.clone(),
            }),
        })
        .collect()
}

struct CdnFile {
    http: reqwest::Client,
    url: String,
}

#[async_trait]
impl MediaSource for CdnFile {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        let sent = self
            .http
            .get(&self.url)
            .timeout(DOWNLOAD_TIMEOUT)
            .send()
            .await;
        let response = answered(sent, "Discord's file server")?;
        read_limited(response, limit).await
    }
}
