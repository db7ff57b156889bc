//! Files people share in the fake Slack: hosted at `url_private_download`, which needs the
//! bot token as a bearer and, like Slack's, answers a request without one with the
//! sign-in page (HTML, 200 OK) rather than an error; `file_share` message events that
//! carry them.

use super::{callback, SlackState};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;

/// A download of a hosted file: its id and the bearer token sent ("" for none).
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    pub id: String,
    pub token: String,
}

impl super::FakeSlack {
    /// Hosts `bytes` as a file named `name` of type `mime`; returns the file object a
    /// `file_share` event carries.
    pub fn host_file(&self, bytes: &[u8], name: &str, mime: &str) -> Value {
        let mut hosted = self.state.hosted.lock().unwrap();
        let id = format!("F{:04}", hosted.len() + 1);
        hosted.insert(id.clone(), bytes.to_vec());
        let base = &self.state.base;
        json!({
            "id": id,
            "name": name,
            "title": name,
            "mimetype": mime,
            "filetype": name.rsplit('.').next().unwrap_or("binary"),
            "size": bytes.len(),
            "url_private": format!("{base}/files-pri/T0FAKE-{id}/{name}"),
            "url_private_download": format!("{base}/files-pri/T0FAKE-{id}/download/{name}"),
        })
    }

    /// Every download of a hosted file, in order.
    pub fn downloads(&self) -> Vec<Download> {
        self.state.downloads.lock().unwrap().clone()
    }
}

/// A person's message sharing `files` (subtype `file_share`), with `text` beside them.
pub fn file_share_event(
    user: &str,
    channel: &str,
    text: &str,
    ts: &str,
    files: Vec<Value>,
) -> Value {
    let channel_type = if channel.starts_with('D') {
        "im"
    } else {
        "channel"
    };
    let event = json!({
        "type": "message",
        "subtype": "file_share",
        "user": user,
        "text": text,
        "files": files,
        "upload": false,
        "ts": ts,
        "channel": channel,
        "channel_type": channel_type,
        "event_ts": ts,
    });
    callback(event, ts)
}

/// `GET /files-pri/{team}-{id}/…`: the bytes for the bot token, the sign-in page otherwise.
pub(super) async fn download(
    State(state): State<Arc<SlackState>>,
    Path((file, _rest)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    let id = file.rsplit('-').next().unwrap_or_default().to_string();
    state.downloads.lock().unwrap().push(Download {
        id: id.clone(),
        token: token.clone(),
    });
    let valid = match &state.tokens {
        Some((bot, _)) => token == *bot,
        None => token.starts_with("xoxb-"),
    };
    let bytes = state.hosted.lock().unwrap().get(&id).cloned();
    match (valid, bytes) {
        (true, Some(bytes)) => Response::new(axum::body::Body::from(bytes)),
        (true, None) => {
            axum::response::IntoResponse::into_response(axum::http::StatusCode::NOT_FOUND)
        }
        (false, _) => {
            let mut page = Response::new(axum::body::Body::from(
                "<!DOCTYPE html><html><body>Sign in to Slack</body></html>",
            ));
            page.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                "text/html; charset=utf-8".parse().unwrap(),
            );
            page
        }
    }
}
