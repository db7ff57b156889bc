//! Files people share with the bot in Slack (audio clips, screenshots, CSVs): described
//! from the event, kept with its claim, and downloaded only when the core asks, from
//! `url_private_download` with the bot token (scope `files:read`).

use crate::chat::{answered, read_limited, Media, MediaError, MediaKind, MediaSource};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::SlackFile;
use std::sync::Arc;
use std::time::Duration;

/// How long a download may take.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(60);

/// A shared file as the event described it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct SharedFile {
    pub name: String,
    pub mime: Option<String>,
    pub url: String,
}

impl SharedFile {
    /// The files of a message that can be downloaded (an external link cannot).
    pub fn of(files: &[SlackFile]) -> Vec<SharedFile> {
        files
            .iter()
            .filter_map(|file| {
                let url = file
                    .url_private_download
                    .as_ref()
                    .or(file.url_private.as_ref())?;
                Some(SharedFile {
                    name: file
                        .name
                        .clone()
                        .or_else(|| file.title.clone())
                        .unwrap_or_else(|| "file".into()),
                    mime: file.mimetype.as_ref().map(|m| m.0.clone()),
                    url: url.to_string(),
                })
            })
            .collect()
    }

    /// As [`Media`] the core downloads through `http` with `token`.
    pub fn media(&self, http: &reqwest::Client, token: &str) -> Media {
        Media {
            kind: MediaKind::of(self.mime.as_deref(), &self.name),
            name: self.name.clone(),
            mime: self.mime.clone(),
            size: None,
            seconds: None,
            platform_limit: None,
            source: Arc::new(SlackDownload {
                http: http.clone(),
                url: self.url.clone(),
                token: token.to_string(),
                html: self
                    .mime
                    .as_deref()
                    .is_some_and(|m| m.starts_with("text/html")),
            }),
        }
    }
}

struct SlackDownload {
    http: reqwest::Client,
    url: String,
    token: String,
    /// The file itself is HTML (then an HTML answer is not a sign-in page).
    html: bool,
}

#[async_trait]
impl MediaSource for SlackDownload {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        let request = self.http.get(&self.url).bearer_auth(&self.token);
        let response = answered(request.timeout(DOWNLOAD_TIMEOUT).send().await, "Slack")?;
        // Without `files:read`, Slack answers a file URL with its sign-in page, 200 OK.
        let page = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/html"));
        if page && !self.html {
            return Err(MediaError::NotAllowed(
                "Slack sent its sign-in page instead of the file: the app needs the files:read scope (add it under OAuth & Permissions and reinstall the app)".into(),
            ));
        }
        read_limited(response, limit).await
    }
}
