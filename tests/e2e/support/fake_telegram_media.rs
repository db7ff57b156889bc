//! Files in the fake Bot API: messages carrying a voice note, a photo or a document
//! (as Telegram sends them: a `file_id` and the size, never the bytes), `getFile` (which
//! refuses files past 20 MB as Telegram does) and the download URL
//! `/file/bot<token>/<file_path>`.

use super::{user_message_of, TgCall, TgState};
use axum::response::Response;
use serde_json::{json, Value};

/// The most `getFile` hands out.
const GET_FILE_LIMIT: usize = 20 * 1024 * 1024;

impl super::FakeTelegram {
    /// Keeps `bytes` as a file and returns its file object (`file_id`, `file_size`).
    pub fn add_file(&self, bytes: &[u8]) -> Value {
        let mut files = self.state.files.lock().unwrap();
        let id = format!("file-{}", files.len() + 1);
        files.insert(id.clone(), bytes.to_vec());
        json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": bytes.len()})
    }

    /// Queues a voice note of `seconds` from `User{user_id}` in `chat_id`.
    pub fn push_voice(&self, user_id: i64, chat_id: i64, audio: &[u8], seconds: u32) -> i64 {
        let mut voice = self.add_file(audio);
        voice["duration"] = json!(seconds);
        voice["mime_type"] = json!("audio/ogg");
        self.push_with(user_id, chat_id, None, "voice", voice)
    }

    /// Queues a photo (its sizes: a thumbnail and the full picture) with `caption`.
    pub fn push_photo(&self, user_id: i64, chat_id: i64, image: &[u8], caption: &str) -> i64 {
        let mut thumb = self.add_file(&image[..image.len().min(16)]);
        thumb["width"] = json!(1);
        thumb["height"] = json!(1);
        let mut full = self.add_file(image);
        full["width"] = json!(4);
        full["height"] = json!(3);
        self.push_with(
            user_id,
            chat_id,
            Some(caption),
            "photo",
            json!([thumb, full]),
        )
    }

    /// Queues a document named `name` of type `mime` with `caption`.
    pub fn push_document(
        &self,
        user_id: i64,
        chat_id: i64,
        bytes: &[u8],
        name: &str,
        mime: &str,
        caption: &str,
    ) -> i64 {
        let mut document = self.add_file(bytes);
        document["file_name"] = json!(name);
        document["mime_type"] = json!(mime);
        self.push_with(user_id, chat_id, Some(caption), "document", document)
    }

    /// The downloads of file bytes made (not `getFile`).
    pub fn downloads(&self) -> Vec<TgCall> {
        self.calls_of("file")
    }

    fn push_with(
        &self,
        user_id: i64,
        chat_id: i64,
        caption: Option<&str>,
        field: &str,
        value: Value,
    ) -> i64 {
        let mut message = user_message_of(&self.state, user_id, chat_id, "");
        let object = message.as_object_mut().unwrap();
        object.remove("text");
        if let Some(caption) = caption.filter(|c| !c.is_empty()) {
            object.insert("caption".into(), json!(caption));
        }
        object.insert(field.into(), value);
        self.push_update(json!({ "message": message }))
    }
}

/// `getFile`: the file's path, or Telegram's refusals.
pub(super) fn get_file(state: &TgState, body: &Value) -> Result<Value, String> {
    let id = body["file_id"].as_str().unwrap_or_default();
    let files = state.files.lock().unwrap();
    let Some(bytes) = files.get(id) else {
        return Err("Bad Request: invalid file_id".into());
    };
    if bytes.len() > GET_FILE_LIMIT {
        return Err("Bad Request: file is too big".into());
    }
    Ok(json!({
        "file_id": id,
        "file_unique_id": format!("u{id}"),
        "file_size": bytes.len(),
        "file_path": format!("documents/{id}"),
    }))
}

/// `GET /file/bot<token>/<file_path>`: the bytes, recorded as a call named `file`.
pub(super) fn serve_file(state: &TgState, token: &str, path: &str) -> Response {
    state.calls.lock().unwrap().push(TgCall {
        method: "file".into(),
        token: token.to_string(),
        body: json!({ "path": path }),
    });
    // teloxide sends the path as one segment (`documents%2Ffile-1`); Telegram takes both.
    let path = path.replace("%2F", "/").replace("%2f", "/");
    let id = path.rsplit('/').next().unwrap_or_default();
    match state.files.lock().unwrap().get(id) {
        Some(bytes) => Response::new(axum::body::Body::from(bytes.clone())),
        None => super::not_found(),
    }
}
