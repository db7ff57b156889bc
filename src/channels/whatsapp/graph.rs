//! The Graph API calls fanops makes for one business number: `POST
//! {api_url}/{phone_number_id}/messages` (text, interactive buttons and lists, templates,
//! media by id, read receipts) and `POST …/media` (uploads), each through the shared
//! per-chat queue that waits out 429s and Graph's rate-limit codes (130429 throughput,
//! 131056 pair rate, 4 and 80007 app limits) before sending again; and `GET
//! {api_url}/{media-id}` and its URL for the files people send.

use super::media::{DOCUMENT_LIMIT, IMAGE_LIMIT};
use crate::channels::outbox::{Attempt, ChatQueues, SendFailure};
use crate::chat::{answered, read_limited, Attachment, AttachmentKind, MediaError};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Graph error codes that ask to slow down: nothing was sent.
const SLOW_DOWN: [i64; 4] = [130429, 131056, 4, 80007];
/// Graph's code for a message outside the 24-hour customer-service window.
pub const OUTSIDE_WINDOW: i64 = 131047;
/// Graph's code for an access token it does not take.
const TOKEN_REFUSED: i64 = 190;
/// How long to wait when Graph asks to slow down without saying how long.
const DEFAULT_WAIT: Duration = Duration::from_secs(2);

/// One business number's Graph API client.
pub struct Graph {
    http: reqwest::Client,
    /// `{api_url}`, where media ids are looked up.
    root: String,
    /// `{api_url}/{phone_number_id}`.
    base: String,
    phone_number_id: String,
    /// Never logged.
    token: String,
    queues: ChatQueues,
    /// Where a refused token is said: the connection's `/readyz` entry.
    health: crate::health::Health,
    connection: String,
    /// The variable the token is read from, for that sentence.
    token_var: String,
    /// Graph refused the token: nothing can be sent until it is replaced.
    refused: AtomicBool,
}

/// A refusal Graph gave, in its words.
#[derive(Debug, Clone)]
struct Refusal {
    code: i64,
    message: String,
}

impl Graph {
    /// `token` is read from `token_var`; a refusal of it is reported on `health` as
    /// `connection`'s.
    pub fn new(
        api_url: &str,
        phone_number_id: &str,
        token: &str,
        token_var: &str,
        health: crate::health::Health,
        connection: &str,
    ) -> anyhow::Result<Graph> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let root = api_url.trim_end_matches('/').to_string();
        Ok(Graph {
            http,
            base: format!("{root}/{phone_number_id}"),
            root,
            phone_number_id: phone_number_id.to_string(),
            token: token.to_string(),
            queues: ChatQueues::new("WhatsApp"),
            health,
            connection: connection.to_string(),
            token_var: token_var.to_string(),
            refused: AtomicBool::new(false),
        })
    }

    /// Whether Graph refused the access token (said once, on `/readyz` and in the log).
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    /// Asks Graph about the number (`GET /{phone_number_id}`), so a token it refuses is
    /// known before anyone writes.
    pub async fn check(&self) -> Result<(), String> {
        let request = self
            .http
            .get(&self.base)
            .query(&[("fields", "verified_name,display_phone_number")])
            .bearer_auth(&self.token)
            .send();
        match self.attempt(request).await {
            Attempt::Sent(_) => Ok(()),
            Attempt::Wait(_) => Err("WhatsApp asked to wait".into()),
            Attempt::Unreachable(e) | Attempt::Refused(e) | Attempt::Lost(e) => Err(e),
        }
    }

    /// Held while a turn of this conversation runs.
    pub async fn lock_turn(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.queues.turn(key).await
    }

    /// Sends `message` (its `type` and content) to `to`; the message's id (`wamid.…`).
    pub async fn send(&self, to: &str, message: Value) -> Result<String, SendFailure> {
        let mut body = json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
        });
        if let (Some(body), Value::Object(fields)) = (body.as_object_mut(), message) {
            body.extend(fields);
        }
        let body = &body;
        let answer = self
            .queues
            .send(
                to,
                || async move { self.attempt(self.post_json(body)).await },
            )
            .await?;
        answer["messages"][0]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendFailure::Unknown("WhatsApp did not say the message's id".into()))
    }

    /// Marks message `id` from `to` read and shows them the typing indicator (until the
    /// answer is sent, or 25 seconds). Best effort: a failure is only logged.
    pub async fn typing(&self, to: &str, id: &str) {
        let body = json!({
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": id,
            "typing_indicator": { "type": "text" },
        });
        let body = &body;
        let sent = self
            .queues
            .send(
                to,
                || async move { self.attempt(self.post_json(body)).await },
            )
            .await;
        if let Err(e) = sent {
            tracing::debug!(error = %e.message(), "WhatsApp did not take a read receipt");
        }
    }

    /// Uploads `file` for a message to `to`; its media id. A file over WhatsApp's limit
    /// for its kind is refused here, with a sentence saying so.
    pub async fn upload(&self, to: &str, file: &Attachment) -> Result<String, SendFailure> {
        let limit = match file.kind {
            AttachmentKind::Image => IMAGE_LIMIT,
            AttachmentKind::Document => DOCUMENT_LIMIT,
        };
        if file.bytes.len() as u64 > limit {
            return Err(SendFailure::Refused(format!(
                "{} is {} MB, over WhatsApp's {} MB limit for such files",
                file.name,
                file.bytes.len().div_ceil(1024 * 1024),
                limit / (1024 * 1024)
            )));
        }
        let answer = self
            .queues
            .send(to, || async move {
                let part = reqwest::multipart::Part::bytes(file.bytes.clone())
                    .file_name(file.name.clone())
                    .mime_str(file.mime);
                let part = match part {
                    Ok(part) => part,
                    Err(e) => return Attempt::Refused(e.to_string()),
                };
                let form = reqwest::multipart::Form::new()
                    .text("messaging_product", "whatsapp")
                    .text("type", file.mime)
                    .part("file", part);
                let request = self
                    .http
                    .post(format!("{}/media", self.base))
                    .bearer_auth(&self.token)
                    .multipart(form);
                self.attempt(request.send()).await
            })
            .await;
        // Until a message names it nobody sees an upload: a lost answer is worth
        // trying again.
        let answer = answer.map_err(|failure| match failure {
            SendFailure::Unknown(m) => SendFailure::Later(m),
            other => other,
        })?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendFailure::Later("WhatsApp did not say the upload's id".into()))
    }

    /// Where a file a person sent can be downloaded, and its size: `GET
    /// {api_url}/{media-id}` (for this number's messages only). The sentence of a failure
    /// never holds a URL.
    pub async fn media(&self, media_id: &str) -> Result<Located, MediaError> {
        let mut url = url::Url::parse(&self.root)
            .map_err(|_| MediaError::Download("the Graph API address is not a URL".into()))?;
        url.path_segments_mut()
            .map_err(|_| MediaError::Download("the Graph API address is not a URL".into()))?
            .push(media_id);
        let request = self
            .http
            .get(url)
            .query(&[("phone_number_id", self.phone_number_id.as_str())])
            .bearer_auth(&self.token)
            .send();
        let body = match self.attempt(request).await {
            Attempt::Sent(body) => body,
            Attempt::Wait(_) => return Err(MediaError::Download("WhatsApp asked to wait".into())),
            Attempt::Unreachable(_) => {
                return Err(MediaError::Download("WhatsApp could not be reached".into()))
            }
            Attempt::Lost(_) => {
                return Err(MediaError::Download("WhatsApp's answer was lost".into()))
            }
            Attempt::Refused(said) => {
                return Err(MediaError::Download(format!("WhatsApp answered: {said}")))
            }
        };
        let url = body["url"]
            .as_str()
            .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
            .ok_or_else(|| MediaError::Download("WhatsApp did not say where the file is".into()))?;
        let size = body["file_size"]
            .as_u64()
            .or_else(|| body["file_size"].as_str().and_then(|s| s.parse().ok()));
        Ok(Located {
            url: url.to_string(),
            size,
        })
    }

    /// The bytes at a media URL Graph gave, fetched with the access token; stops once more
    /// than `limit` bytes arrive.
    pub async fn download(&self, url: &str, limit: u64) -> Result<Vec<u8>, MediaError> {
        let sent = self.http.get(url).bearer_auth(&self.token).send().await;
        read_limited(answered(sent, "WhatsApp")?, limit).await
    }

    fn post_json(
        &self,
        body: &Value,
    ) -> impl std::future::Future<Output = reqwest::Result<reqwest::Response>> {
        self.http
            .post(format!("{}/messages", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
    }

    /// One answer of Graph's, in the shared queue's terms.
    async fn attempt(
        &self,
        sent: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Attempt<Value> {
        let response = match sent.await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Attempt::Unreachable(e.to_string()),
            Err(e) => return Attempt::Lost(e.without_url().to_string()),
        };
        let status = response.status();
        let wait = crate::retry_after::from_headers(response.headers());
        let body: Value = match response.bytes().await {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            Err(e) => return Attempt::Lost(e.without_url().to_string()),
        };
        if status.is_success() {
            return Attempt::Sent(body);
        }
        let refusal = refusal_of(&body);
        let slow_down = refusal
            .as_ref()
            .is_some_and(|r| SLOW_DOWN.contains(&r.code));
        if status.as_u16() == 429 || slow_down {
            return Attempt::Wait(wait.unwrap_or(DEFAULT_WAIT));
        }
        if status.is_server_error() {
            return Attempt::Lost(format!("HTTP {status}"));
        }
        let said = match refusal {
            Some(r) if r.code == OUTSIDE_WINDOW => {
                "outside WhatsApp's 24-hour window (code 131047)".to_string()
            }
            Some(r) if r.code == TOKEN_REFUSED => {
                let var = &self.token_var;
                let sentence = format!("WhatsApp refused the access token in `{var}` ({}): put a system user's token with whatsapp_business_messaging in `{var}` and restart fanops", r.message);
                self.refused.store(true, Ordering::SeqCst);
                self.health.failing(&self.connection, &sentence);
                tracing::error!(connection = %self.connection, "{sentence}");
                format!("{} (code {})", r.message, r.code)
            }
            Some(r) => format!("{} (code {})", r.message, r.code),
            None => format!("HTTP {status}"),
        };
        tracing::warn!(error = %said, "WhatsApp refused a request");
        Attempt::Refused(said)
    }
}

/// Where a file a person sent is, as Graph says (the URL lives a few minutes and is
/// fetched with the access token; never logged).
pub struct Located {
    pub url: String,
    pub size: Option<u64>,
}

/// Graph's `{"error": {"message", "code"}}`.
fn refusal_of(body: &Value) -> Option<Refusal> {
    let error = body.get("error")?;
    Some(Refusal {
        code: error["code"].as_i64().unwrap_or(0),
        message: error["message"]
            .as_str()
            .unwrap_or("no reason given")
            .chars()
            .take(300)
            .collect(),
    })
}
