//! Attachments on the fake Discord: a MESSAGE_CREATE carrying them (id, filename, size,
//! content type, a voice message's `duration_secs`) and the CDN that serves them at a
//! signed URL (`?ex=…&is=…&hm=…`), refusing an unsigned one with 404 as Discord's does.

use super::{message, DcState, FakeDiscord, BOT_ID};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// One attachment to push: bytes, file name, content type, length in seconds.
pub struct Attached<'a> {
    pub bytes: &'a [u8],
    pub filename: &'a str,
    pub content_type: &'a str,
    pub seconds: Option<f64>,
}

impl FakeDiscord {
    /// A mention of the bot by `author` in `channel` with `files` attached; returns its id.
    pub fn mention_with(&self, channel: u64, author: u64, text: &str, files: &[Attached]) -> u64 {
        let id = self.next_id();
        let content = format!("<@{BOT_ID}> {text}");
        let mut data = message(id, channel, author, false, &content, &[BOT_ID]);
        let attachments: Vec<_> = files
            .iter()
            .map(|file| {
                let file_id = self.next_id();
                self.state
                    .cdn
                    .lock()
                    .unwrap()
                    .insert(file_id, file.bytes.to_vec());
                let url = format!(
                    "{}/attachments/{channel}/{file_id}/{}?ex=6750a1b2&is=674f5032&hm=0f1e2d",
                    self.base, file.filename
                );
                let mut attachment = json!({
                    "id": file_id.to_string(),
                    "filename": file.filename,
                    "size": file.bytes.len(),
                    "url": url,
                    "proxy_url": url,
                    "content_type": file.content_type,
                });
                if let Some(seconds) = file.seconds {
                    attachment["duration_secs"] = json!(seconds);
                }
                attachment
            })
            .collect();
        data["attachments"] = json!(attachments);
        self.dispatch("MESSAGE_CREATE", data);
        id
    }

    /// How many attachment downloads the CDN served or refused.
    pub fn cdn_downloads(&self) -> usize {
        *self.state.cdn_downloads.lock().unwrap()
    }
}

/// `GET /attachments/{channel}/{id}/{name}`: the bytes at a signed URL.
pub(super) fn serve(state: &DcState, uri: &Uri) -> Response {
    *state.cdn_downloads.lock().unwrap() += 1;
    let signed = uri.query().is_some_and(|q| q.contains("hm="));
    let id = uri
        .path()
        .split('/')
        .nth(3)
        .and_then(|id| id.parse::<u64>().ok());
    let bytes = id.and_then(|id| state.cdn.lock().unwrap().get(&id).cloned());
    match (signed, bytes) {
        (true, Some(bytes)) => Response::new(axum::body::Body::from(bytes)),
        _ => (
            StatusCode::NOT_FOUND,
            "This content is no longer available.",
        )
            .into_response(),
    }
}
