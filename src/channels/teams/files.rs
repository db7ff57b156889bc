//! Files in a personal chat, the way Teams lets a bot send them: fanops posts a file
//! consent card and keeps the file in the store; when the person accepts, Teams sends an
//! invoke with an upload URL in their OneDrive, fanops puts the bytes there and posts the
//! file's card. The file waits in the store, so whichever replica gets the invoke (or a
//! restarted process) can upload it; a declined one is dropped.

use super::connector::Connector;
use crate::channels::outbox::SendFailure;
use crate::chat::{decode_attachments, encode_attachments, Attachment};
use crate::store::SharedStore;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What Teams says about the upload once the person accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Upload {
    pub upload_url: String,
    pub content_url: String,
    pub name: String,
    pub unique_id: Option<String>,
    pub file_type: Option<String>,
}

/// The files waiting for a person's consent, in the store.
pub(super) struct Shelf {
    store: SharedStore,
    /// `teams.` or `teams:<account>.`.
    prefix: String,
    http: reqwest::Client,
}

impl Shelf {
    pub fn new(store: SharedStore, prefix: String, http: reqwest::Client) -> Shelf {
        Shelf {
            store,
            prefix,
            http,
        }
    }

    fn key(&self, id: &str) -> String {
        format!("{}file.{id}", self.prefix)
    }

    /// Keeps `file` and returns the consent card that offers it.
    pub async fn offer(&self, file: &Attachment) -> Result<Value, SendFailure> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let kept = encode_attachments(std::slice::from_ref(file));
        self.store
            .set_state(&self.key(&id), &kept)
            .await
            .map_err(|e| SendFailure::Later(format!("could not keep the file: {e}")))?;
        Ok(json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.teams.card.file.consent",
                "name": file.name,
                "content": {
                    "description": format!("{} from fanops", file.name),
                    "sizeInBytes": file.bytes.len(),
                    "acceptContext": { "fo_file": id },
                    "declineContext": { "fo_file": id },
                },
            }],
        }))
    }

    /// The person accepted file `id`: its bytes go to `upload`, then its card to the chat.
    pub async fn accepted(
        &self,
        id: &str,
        upload: &Upload,
        connector: &Connector,
        service_url: &str,
        conversation: &str,
    ) {
        let Some(file) = self.take(id).await else {
            tracing::info!(
                file = id,
                "a Teams file was accepted that is no longer waiting"
            );
            return;
        };
        let size = file.bytes.len();
        let put = self
            .http
            .put(&upload.upload_url)
            .header(reqwest::header::CONTENT_LENGTH, size)
            .header(
                reqwest::header::CONTENT_RANGE,
                format!("bytes 0-{}/{size}", size.saturating_sub(1)),
            )
            .body(file.bytes.clone())
            .send()
            .await;
        match put {
            Ok(answer) if answer.status().is_success() => {}
            Ok(answer) => {
                tracing::warn!(status = answer.status().as_u16(), file = %file.name, "OneDrive refused a Teams file upload");
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e.without_url(), file = %file.name, "could not upload a Teams file");
                return;
            }
        }
        let card = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.teams.card.file.info",
                "contentUrl": upload.content_url,
                "name": upload.name,
                "content": {
                    "uniqueId": upload.unique_id,
                    "fileType": upload.file_type,
                },
            }],
        });
        if let Err(e) = connector.post(service_url, conversation, &card).await {
            tracing::warn!(error = %e.message(), "could not post a Teams file's card");
        }
    }

    /// The person declined file `id`: it is dropped.
    pub async fn declined(&self, id: &str) {
        let _ = self.take(id).await;
    }

    /// The waiting file, no longer waiting.
    async fn take(&self, id: &str) -> Option<Attachment> {
        let key = self.key(id);
        let kept = self.store.state(&key).await.ok().flatten()?;
        if kept.is_empty() {
            return None;
        }
        if let Err(e) = self.store.set_state(&key, "").await {
            tracing::warn!(error = %e, "could not drop a Teams file that was answered");
        }
        decode_attachments(&kept).ok()?.into_iter().next()
    }
}
