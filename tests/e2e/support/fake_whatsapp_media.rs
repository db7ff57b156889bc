//! Media in the fake Graph API, as the Cloud API hands them to a business: a webhook
//! message names a media id (never the bytes, no size); `GET /{media-id}` with the access
//! token answers `{url, mime_type, sha256, file_size, id}`; the URL
//! (`/media-download/{id}?hash=…`, on this fake) answers the bytes only with the same
//! bearer token (401 without, as Meta's does). Both are recorded, as endpoints
//! `media-info` and `media-download`.

use super::{bearer, change, contacts, graph_error, WaCall, WaState, TOKEN};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// A file kept by the fake: its bytes and MIME type.
pub(super) struct Held {
    bytes: Vec<u8>,
    mime: String,
}

impl super::FakeWhatsApp {
    /// Keeps `bytes` of type `mime`; its media id.
    pub fn add_media(&self, bytes: &[u8], mime: &str) -> String {
        let mut media = self.state.media.lock().unwrap();
        let id = format!("{}", 7_100_000_000_000u64 + media.len() as u64 + 1);
        let held = Held {
            bytes: bytes.to_vec(),
            mime: mime.to_string(),
        };
        media.insert(id.clone(), held);
        id
    }

    /// `from`'s voice note (recorded in WhatsApp: `voice: true`) as message `id`.
    pub fn voice_note(&self, from: &str, id: &str, at: i64, audio: &[u8]) -> Value {
        let mime = "audio/ogg; codecs=opus";
        let media = self.add_media(audio, mime);
        let audio = json!({"id": media, "mime_type": mime, "voice": true});
        media_message(from, id, at, "audio", audio)
    }

    /// `from`'s photo with `caption` as message `id` (WhatsApp sends photos as JPEG).
    pub fn photo(&self, from: &str, id: &str, at: i64, image: &[u8], caption: &str) -> Value {
        let mime = "image/jpeg";
        let media = self.add_media(image, mime);
        let mut image = json!({"id": media, "mime_type": mime, "sha256": "aGFzaA=="});
        if !caption.is_empty() {
            image["caption"] = json!(caption);
        }
        media_message(from, id, at, "image", image)
    }

    /// `from`'s document `filename` of type `mime` with `caption` as message `id`.
    pub fn document(
        &self,
        from: &str,
        (id, at): (&str, i64),
        bytes: &[u8],
        (filename, mime): (&str, &str),
        caption: &str,
    ) -> Value {
        let media = self.add_media(bytes, mime);
        let mut document = json!({"id": media, "mime_type": mime, "filename": filename});
        if !caption.is_empty() {
            document["caption"] = json!(caption);
        }
        media_message(from, id, at, "document", document)
    }

    /// `from`'s video as message `id`.
    pub fn video(&self, from: &str, id: &str, at: i64, bytes: &[u8]) -> Value {
        let media = self.add_media(bytes, "video/mp4");
        let video = json!({"id": media, "mime_type": "video/mp4"});
        media_message(from, id, at, "video", video)
    }

    /// The media id lookups (`GET /{media-id}`) made.
    pub fn media_lookups(&self) -> Vec<WaCall> {
        self.calls_to("media-info")
    }

    /// The downloads of media bytes made.
    pub fn media_downloads(&self) -> Vec<WaCall> {
        self.calls_to("media-download")
    }

    fn calls_to(&self, endpoint: &str) -> Vec<WaCall> {
        self.calls()
            .into_iter()
            .filter(|c| c.endpoint == endpoint)
            .collect()
    }
}

/// A message of `kind` (`audio`, `image`, …) carrying `object`.
fn media_message(from: &str, id: &str, at: i64, kind: &str, object: Value) -> Value {
    let mut message = json!({"from": from, "id": id, "timestamp": at.to_string(), "type": kind});
    message[kind] = object;
    change(json!({"contacts": contacts(from, "Kerry"), "messages": [message]}))
}

/// `GET /{media-id}` for a media id the fake holds; `None` when it holds none.
pub(super) fn lookup(
    state: &Arc<WaState>,
    id: &str,
    query: &HashMap<String, String>,
    token: &str,
) -> Option<Response> {
    let media = state.media.lock().unwrap();
    let held = media.get(id)?;
    state.calls.lock().unwrap().push(WaCall {
        endpoint: "media-info".into(),
        phone_number_id: query.get("phone_number_id").cloned().unwrap_or_default(),
        token: token.to_string(),
        body: json!({ "media_id": id }),
    });
    if token != TOKEN {
        return Some(graph_error(
            401,
            190,
            "Invalid OAuth access token - Cannot parse access token",
        ));
    }
    let number = query.get("phone_number_id").map(String::as_str);
    if number.is_some_and(|n| n != super::PHONE_NUMBER_ID && n != super::SECOND_NUMBER_ID) {
        return Some(graph_error(
            400,
            100,
            "Param phone_number_id is not the media's",
        ));
    }
    let url = format!("{}/media-download/{id}?hash=secret-{id}", state.base);
    Some(
        Json(json!({
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": held.mime,
            "sha256": "aGFzaA==",
            "file_size": held.bytes.len(),
            "id": id,
        }))
        .into_response(),
    )
}

/// `GET /media-download/{id}`: the bytes, with the access token only.
pub(super) async fn download(
    State(state): State<Arc<WaState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = bearer(&headers);
    state.calls.lock().unwrap().push(WaCall {
        endpoint: "media-download".into(),
        phone_number_id: String::new(),
        token: token.clone(),
        body: json!({ "media_id": id }),
    });
    if token != TOKEN {
        return (axum::http::StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let media = state.media.lock().unwrap();
    match media.get(&id) {
        Some(held) if query.get("hash") == Some(&format!("secret-{id}")) => (
            [(axum::http::header::CONTENT_TYPE, held.mime.clone())],
            held.bytes.clone(),
        )
            .into_response(),
        _ => (axum::http::StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
