//! Files people attach in the fake Bot Framework, as Teams hands them to a bot: an inline
//! image or audio clip is at `{serviceUrl}v3/attachments/{id}/views/original`, which
//! answers only with a token the fake issued (401 without); a file shared in a personal
//! chat comes as `application/vnd.microsoft.teams.file.download.info` with a
//! pre-authenticated `downloadUrl` (`/files/{id}?tempauth=…`) that needs no token. Each
//! message with attachments carries the `text/html` copy Teams adds. Every fetch is
//! recorded with the token it carried, if any.

use super::{issued, Person, TeamsState};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One download of a file fanops made.
#[derive(Debug, Clone)]
pub struct FileFetch {
    /// `inline` (a connector attachment) or `shared` (a pre-authenticated file URL).
    pub how: String,
    pub id: String,
    /// The `Authorization` bearer token, if one was sent (issued by the fake or not).
    pub token: Option<String>,
}

impl super::FakeTeams {
    fn keep(&self, bytes: &[u8]) -> String {
        let mut files = self.state.files.lock().unwrap();
        let id = format!("0-file-{}", files.len() + 1);
        files.insert(id.clone(), bytes.to_vec());
        id
    }

    /// An inline image or audio clip of type `content_type`, on the connector.
    pub fn inline(&self, content_type: &str, bytes: &[u8]) -> Value {
        let id = self.keep(bytes);
        json!({
            "contentType": content_type,
            "contentUrl": format!("{}v3/attachments/{id}/views/original", self.service_url()),
        })
    }

    /// A file `name` shared in a personal chat, behind a pre-authenticated URL.
    pub fn shared_file(&self, name: &str, bytes: &[u8]) -> Value {
        let id = self.keep(bytes);
        let kind = name.rsplit_once('.').map_or("", |(_, e)| e);
        json!({
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "contentUrl": format!("https://contoso.sharepoint.com/personal/olive/Documents/{name}"),
            "name": name,
            "content": {
                "downloadUrl": format!("{}/files/{id}?tempauth=pre-{id}", self.url()),
                "uniqueId": format!("unique-{id}"),
                "fileType": kind,
            },
        })
    }

    /// A person's message in personal chat `conversation` carrying `attachments`, after
    /// the `text/html` copy of the message Teams adds.
    pub fn personal_with(
        &self,
        from: Person,
        conversation: &str,
        id: &str,
        text: &str,
        attachments: Vec<Value>,
    ) -> Value {
        let mut activity = self.personal(from, conversation, id, text);
        let mut all =
            vec![json!({"contentType": "text/html", "content": format!("<p>{text}</p>")})];
        all.extend(attachments);
        activity["attachments"] = Value::Array(all);
        activity
    }

    /// Every download of an attached file, in order.
    pub fn file_fetches(&self) -> Vec<FileFetch> {
        self.state.fetches.lock().unwrap().clone()
    }
}

fn record(state: &TeamsState, how: &str, id: &str, headers: &HeaderMap) {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    state.fetches.lock().unwrap().push(FileFetch {
        how: how.to_string(),
        id: id.to_string(),
        token,
    });
}

fn bytes_of(state: &TeamsState, id: &str) -> Response {
    match state.files.lock().unwrap().get(id) {
        Some(bytes) => bytes.clone().into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}

/// `GET /v3/attachments/{id}/views/original`: the bytes, for a token the fake issued.
pub(super) async fn attachment(
    State(state): State<Arc<TeamsState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&state, "inline", &id, &headers);
    if issued(&state, &headers).is_none() {
        let refusal = json!({"error": {"code": "Unauthorized", "message": "Authorization has been denied for this request."}});
        return super::super::json_response(401, &refusal);
    }
    bytes_of(&state, &id)
}

/// `GET /files/{id}?tempauth=…`: the bytes for the right `tempauth`, token or not.
pub(super) async fn shared(
    State(state): State<Arc<TeamsState>>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    record(&state, "shared", &id, &headers);
    if query.get("tempauth") != Some(&format!("pre-{id}")) {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    bytes_of(&state, &id)
}
