//! The one place a model request is retried.
//!
//! async-openai's default HTTP executor wraps every request in its own retry layer
//! (`OpenAIRetryLayer`: three retries on 429/5xx). Stacked under a retry of our own that
//! made one call up to sixteen requests. Instead, the client is given this service
//! (`Client::with_http_service`, feature `middleware`), which sends each request with
//! plain reqwest and retries here only: on 429, 5xx and connection failures, at most
//! [`MAX_ATTEMPTS`] requests, waiting what the provider asks for (`retry-after-ms`,
//! `Retry-After`) or else an exponential backoff with jitter.

use super::error::Refusal;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures::future::BoxFuture;
use reqwest::header::HeaderMap;
use reqwest::{Response, StatusCode};
use std::task::{Context, Poll};
use std::time::Duration;

/// Requests made for one model call, the first included.
pub const MAX_ATTEMPTS: usize = 4;
/// The first backoff when the provider does not say how long to wait; it doubles.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// A person is waiting: a provider that asks for a longer pause gets an answer instead.
const LONGEST_WAIT: Duration = Duration::from_secs(30);

/// A tower service that sends async-openai's requests and retries them.
#[derive(Clone)]
pub(super) struct RetryingHttp {
    http: reqwest::Client,
}

impl RetryingHttp {
    pub(super) fn new(http: reqwest::Client) -> Self {
        RetryingHttp { http }
    }
}

impl tower::Service<HttpRequestFactory> for RetryingHttp {
    type Response = Response;
    type Error = OpenAIError;
    type Future = BoxFuture<'static, Result<Response, OpenAIError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: HttpRequestFactory) -> Self::Future {
        let http = self.http.clone();
        Box::pin(async move { send(&http, &request).await })
    }
}

/// Sends `request` until it succeeds, fails for good, or the attempts run out. A final
/// refusal comes back as a [`Refusal`], so its status is known whatever its body says.
async fn send(
    http: &reqwest::Client,
    request: &HttpRequestFactory,
) -> Result<Response, OpenAIError> {
    let mut backoff = ExponentialBuilder::default()
        .with_min_delay(FIRST_BACKOFF)
        .with_max_times(MAX_ATTEMPTS - 1)
        .with_jitter()
        .build();
    loop {
        let outcome = http.execute(request.build().await?).await;
        let (last, asked) = match outcome {
            Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => {
                let asked = retry_hint(response.headers());
                let (response, quota_spent) = read_rate_limit(response).await?;
                if quota_spent {
                    return Err(refusal(response).await);
                }
                (Ok(response), asked)
            }
            Ok(response) if response.status().is_server_error() => {
                let asked = retry_hint(response.headers());
                (Ok(response), asked)
            }
            Err(e) if e.is_connect() => (Err(OpenAIError::Reqwest(e)), None),
            Ok(response) if !response.status().is_success() => return Err(refusal(response).await),
            done => return done.map_err(OpenAIError::Reqwest),
        };
        let Some(wait) = backoff.next().map(|ours| asked.unwrap_or(ours)) else {
            return given_up(last).await;
        };
        if wait > LONGEST_WAIT {
            tracing::warn!(
                wait_s = wait.as_secs(),
                "the model provider asks for a longer pause than a turn waits; not retrying"
            );
            return given_up(last).await;
        }
        let status = last.as_ref().map(|r| r.status().as_u16()).ok();
        tracing::debug!(
            ?status,
            wait_ms = wait.as_millis() as u64,
            "retrying the model request"
        );
        tokio::time::sleep(wait).await;
    }
}

/// The last answer once retrying stops: a refusal keeps its status and body.
async fn given_up(last: Result<Response, OpenAIError>) -> Result<Response, OpenAIError> {
    match last {
        Ok(response) if !response.status().is_success() => Err(refusal(response).await),
        other => other,
    }
}

/// A response that is not a success, as an error that keeps its status whatever the
/// body is (OpenAI's error JSON, a proxy's HTML, a plain-text 404).
async fn refusal(response: Response) -> OpenAIError {
    let status = response.status().as_u16();
    match response.text().await {
        Ok(body) => OpenAIError::Boxed(Box::new(Refusal { status, body })),
        Err(e) => OpenAIError::Reqwest(e),
    }
}

/// How long a 429 or 5xx asks us to wait: `retry-after-ms` (OpenAI, Azure), else
/// `Retry-After` in seconds or as an HTTP date.
fn retry_hint(headers: &HeaderMap) -> Option<Duration> {
    let ms = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok());
    if let Some(ms) = ms {
        return Duration::try_from_secs_f64(ms / 1000.0).ok();
    }
    crate::retry_after::from_headers(headers)
}

/// Reads a 429's body, which tells a rate limit (worth waiting for) from a spent quota
/// (not: OpenAI's `insufficient_quota`), and hands back the same response.
async fn read_rate_limit(response: Response) -> Result<(Response, bool), OpenAIError> {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await.map_err(OpenAIError::Reqwest)?;
    let quota_spent = String::from_utf8_lossy(&body).contains("insufficient_quota");
    let mut same = http::Response::new(reqwest::Body::from(body));
    *same.status_mut() = status;
    *same.headers_mut() = headers;
    Ok((Response::from(same), quota_spent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn reads_every_form_of_retry_after() {
        let ms = Duration::from_millis;
        assert_eq!(
            retry_hint(&headers(&[("retry-after-ms", "250")])),
            Some(ms(250))
        );
        assert_eq!(
            retry_hint(&headers(&[("retry-after", "2")])),
            Some(ms(2000))
        );
        assert_eq!(
            retry_hint(&headers(&[("retry-after", "0.5")])),
            Some(ms(500))
        );
        assert_eq!(
            retry_hint(&headers(&[("retry-after-ms", "20"), ("retry-after", "1")])),
            Some(ms(20)),
            "the finer header wins"
        );
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(90)).to_rfc2822();
        let wait = retry_hint(&headers(&[("retry-after", &soon)])).unwrap();
        assert!(
            wait > Duration::from_secs(80) && wait <= Duration::from_secs(90),
            "{wait:?}"
        );
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(
            retry_hint(&headers(&[("retry-after", past)])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_hint(&headers(&[("retry-after", "-1")])), None);
        assert_eq!(retry_hint(&headers(&[("retry-after", "1e300")])), None);
        assert_eq!(retry_hint(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_hint(&HeaderMap::new()), None);
    }
}
