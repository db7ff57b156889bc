//! The Bot Connector REST API at a conversation's `serviceUrl`: post an activity, update
//! one, open a personal conversation. Every call goes through the conversation's queue in
//! the shared outbox, which waits out a 429's `Retry-After`; a call whose answer was lost
//! is never repeated, so nothing is posted twice. Files people attach are downloaded here
//! too, with the bot's token only when asked.

use super::auth::{TokenFailure, Tokens};
use crate::channels::outbox::{Attempt, ChatQueues, SendFailure};
use crate::chat::{answered, read_limited, MediaError};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// The connector's calls for one bot.
#[derive(Clone)]
pub struct Connector(Arc<Inner>);

struct Inner {
    http: reqwest::Client,
    tokens: Tokens,
    queues: ChatQueues,
}

/// How long a 429 asks to wait (1 s when it does not say).
pub(super) fn retry_after(headers: &HeaderMap) -> Duration {
    crate::retry_after::from_headers(headers).unwrap_or(Duration::from_secs(1))
}

/// The start of an error body, for the log and sentences.
pub(super) fn snippet(body: &str) -> String {
    body.chars().take(200).collect()
}

/// `{service_url}/v3/conversations/{conversation}/…`, each id a path segment of its own.
fn url_of(service_url: &str, segments: &[&str]) -> Result<url::Url, SendFailure> {
    let mut url = url::Url::parse(service_url)
        .map_err(|e| SendFailure::Refused(format!("the service URL `{service_url}`: {e}")))?;
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|_| SendFailure::Refused(format!("the service URL `{service_url}`")))?;
        path.pop_if_empty().push("v3").push("conversations");
        path.extend(segments);
    }
    Ok(url)
}

impl Connector {
    pub fn new(http: reqwest::Client, tokens: Tokens) -> Connector {
        Connector(Arc::new(Inner {
            http,
            tokens,
            queues: ChatQueues::new("Microsoft Teams"),
        }))
    }

    pub fn tokens(&self) -> &Tokens {
        &self.0.tokens
    }

    /// Held while a turn of this conversation runs.
    pub async fn lock_turn(&self, key: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.0.queues.turn(key).await
    }

    /// Posts `activity` into `conversation`; the new activity's id.
    pub async fn post(
        &self,
        service_url: &str,
        conversation: &str,
        activity: &Value,
    ) -> Result<String, SendFailure> {
        let url = url_of(service_url, &[conversation, "activities"])?;
        let answer = self.call(conversation, Method::POST, url, activity).await?;
        Ok(answer["id"].as_str().unwrap_or_default().to_string())
    }

    /// Replaces activity `id` of `conversation` with `activity`; false when it could not.
    pub async fn update(
        &self,
        service_url: &str,
        conversation: &str,
        id: &str,
        activity: &Value,
    ) -> bool {
        let Ok(url) = url_of(service_url, &[conversation, "activities", id]) else {
            return false;
        };
        let mut activity = activity.clone();
        activity["id"] = Value::String(id.to_string());
        self.call(conversation, Method::PUT, url, &activity)
            .await
            .is_ok()
    }

    /// Opens (or finds) the personal conversation of the bot with member `member` (their
    /// `29:` id) in `tenant`; its id.
    pub async fn open_personal(
        &self,
        service_url: &str,
        bot: &str,
        member: &str,
        tenant: Option<&str>,
    ) -> Result<String, SendFailure> {
        let url = url_of(service_url, &[])?;
        let mut body = serde_json::json!({
            "bot": { "id": bot },
            "members": [{ "id": member }],
            "isGroup": false,
        });
        if let Some(tenant) = tenant {
            body["tenantId"] = Value::String(tenant.to_string());
            body["channelData"] = serde_json::json!({ "tenant": { "id": tenant } });
        }
        // Opening one twice finds the same conversation: safe to repeat.
        let answer = self
            .call(member, Method::POST, url, &body)
            .await
            .map_err(|failure| match failure {
                SendFailure::Unknown(m) => SendFailure::Later(m),
                other => other,
            })?;
        answer["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| SendFailure::Refused("no conversation id in the answer".into()))
    }

    /// The bytes at `url` (an attachment a person sent), with the bot's token when
    /// `with_token`; stops once more than `limit` bytes arrive. The sentence of a failure
    /// never holds the URL.
    pub async fn download(
        &self,
        url: &str,
        with_token: bool,
        limit: u64,
    ) -> Result<Vec<u8>, MediaError> {
        let mut request = self.0.http.get(url);
        if with_token {
            let token = self.0.tokens.token().await.map_err(|_| {
                MediaError::Download("Microsoft gave no token to download it with".into())
            })?;
            request = request.bearer_auth(token);
        }
        let response = answered(request.send().await, "Microsoft Teams")?;
        if response.status() == StatusCode::UNAUTHORIZED && with_token {
            // The next download asks for a fresh token.
            self.0.tokens.forget().await;
        }
        read_limited(response, limit).await
    }

    /// One call in `queue`'s turn, tried again while the connector asks to wait.
    async fn call(
        &self,
        queue: &str,
        method: Method,
        url: url::Url,
        body: &Value,
    ) -> Result<Value, SendFailure> {
        let (method, url) = (&method, &url);
        self.0
            .queues
            .send(
                queue,
                || async move { self.attempt(method, url, body).await },
            )
            .await
    }

    async fn attempt(&self, method: &Method, url: &url::Url, body: &Value) -> Attempt<Value> {
        let token = match self.0.tokens.token().await {
            Ok(token) => token,
            Err(TokenFailure::Wait(wait)) => return Attempt::Wait(wait),
            Err(TokenFailure::Refused(why)) => {
                return Attempt::Refused(format!("the app id or password was refused ({why})"))
            }
            Err(TokenFailure::Later(why)) => return Attempt::Unreachable(why),
        };
        let request = self
            .0
            .http
            .request(method.clone(), url.clone())
            .bearer_auth(token)
            .json(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) if e.is_connect() => return Attempt::Unreachable(e.without_url().to_string()),
            Err(e) => return Attempt::Lost(e.without_url().to_string()),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Attempt::Sent(serde_json::from_str(&text).unwrap_or(Value::Null));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&headers);
            tracing::info!(?wait, "the Bot Connector asked to slow down");
            return Attempt::Wait(wait);
        }
        if status == StatusCode::UNAUTHORIZED {
            // The next attempt (at a later send) asks for a fresh token.
            self.0.tokens.forget().await;
        }
        let why = format!("{} {}", status.as_u16(), snippet(&text));
        if status.is_client_error() {
            tracing::warn!(
                status = status.as_u16(),
                "the Bot Connector refused a request"
            );
            Attempt::Refused(why)
        } else {
            // A server error on a post may still have posted it.
            Attempt::Lost(why)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_are_one_path_segment() {
        let url = url_of(
            "https://smba.example/amer/",
            &["19:abc@thread.tacv2;messageid=17", "activities"],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://smba.example/amer/v3/conversations/19:abc@thread.tacv2;messageid=17/activities"
        );
        let url = url_of("http://127.0.0.1:9", &["a:1/x", "activities", "5"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/v3/conversations/a:1%2Fx/activities/5"
        );
    }
}
