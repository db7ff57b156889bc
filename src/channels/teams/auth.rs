//! Both directions of the Bot Framework's authentication.
//!
//! Inbound: each request carries `Authorization: Bearer <JWT>` signed (RS256) by a key
//! the Bot Framework publishes as a JWKS, found through its OpenID metadata. The keys are
//! cached and fetched again when a token names a key not in the cache (Microsoft rotates
//! them), at most once a minute so that forged key ids cannot make fanops hammer the
//! metadata. Issuer, audience (the app id), expiry and the `serviceurl` claim are checked
//! against the clock fanops judges time by.
//!
//! Outbound: a client-credentials token (app id + password), cached until shortly before
//! it expires.

use crate::clock::Clock;
use crate::config::Secret;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// The only issuer of Bot Framework service tokens.
pub const ISSUER: &str = "https://api.botframework.com";
/// The scope of tokens for the Bot Connector API.
const SCOPE: &str = "https://api.botframework.com/.default";
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: i64 = 5 * 60;
/// The least time between two fetches of the keys prompted by an unknown key id.
const REFETCH_EVERY: chrono::Duration = chrono::Duration::minutes(1);
/// Cached keys are fetched again after this long even when every key id is known.
const KEYS_FOR: chrono::Duration = chrono::Duration::hours(24);
/// An outbound token is renewed this long before it expires.
const RENEW_BEFORE: chrono::Duration = chrono::Duration::minutes(5);

/// Why a request's token was refused (for the log; the caller answers 401).
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not a JWT: {0}")]
    Malformed(String),
    #[error("the token is signed with {0:?}, not RS256")]
    Algorithm(Algorithm),
    #[error("no published key has id `{0}`")]
    UnknownKey(String),
    #[error("the keys could not be fetched: {0}")]
    Keys(String),
    #[error("the token is not valid: {0}")]
    Invalid(String),
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYet,
    #[error("the token was not issued for the activity's service URL")]
    ServiceUrl,
    #[error("the signing key is not endorsed for channel `{0}`")]
    Endorsement(String),
}

/// A published key, ready to check signatures.
struct Key {
    decoding: DecodingKey,
    /// The channels the key may sign for (`msteams`, …); empty when the JWKS says none.
    endorsements: Vec<String>,
}

#[derive(Default)]
struct KeySet {
    keys: HashMap<String, Key>,
    fetched_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct Metadata {
    jwks_uri: String,
}

#[derive(Deserialize)]
struct Jwks {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    n: Option<String>,
    e: Option<String>,
    #[serde(default)]
    endorsements: Vec<String>,
}

#[derive(Deserialize)]
struct Claims {
    exp: i64,
    nbf: Option<i64>,
    serviceurl: Option<String>,
}

/// Checks the tokens of inbound requests.
pub struct Verifier {
    http: reqwest::Client,
    openid_url: String,
    app_id: String,
    clock: Clock,
    keys: tokio::sync::Mutex<KeySet>,
}

impl Verifier {
    pub fn new(http: reqwest::Client, openid_url: &str, app_id: &str, clock: Clock) -> Verifier {
        Verifier {
            http,
            openid_url: openid_url.to_string(),
            app_id: app_id.to_string(),
            clock,
            keys: tokio::sync::Mutex::default(),
        }
    }

    /// Checks `authorization` (the header's value) on an activity for `channel` that
    /// names `service_url`.
    pub async fn verify(
        &self,
        authorization: Option<&str>,
        service_url: &str,
        channel: &str,
    ) -> Result<(), Refusal> {
        let token = authorization
            .and_then(|h| {
                let (scheme, token) = h.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then_some(token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or(Refusal::Missing)?;
        let header =
            jsonwebtoken::decode_header(token).map_err(|e| Refusal::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(Refusal::Algorithm(header.alg));
        }
        let kid = header
            .kid
            .ok_or_else(|| Refusal::Malformed("no key id".into()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[&self.app_id]);
        // Expiry is judged below by fanops's clock.
        validation.validate_exp = false;
        validation.required_spec_claims = HashSet::from(["exp", "iss", "aud"].map(String::from));
        let claims = {
            let keys = self.keys_with(&kid).await?;
            let key = keys
                .keys
                .get(&kid)
                .ok_or(Refusal::UnknownKey(kid.clone()))?;
            if !key.endorsements.is_empty() && !key.endorsements.iter().any(|e| e == channel) {
                return Err(Refusal::Endorsement(channel.to_string()));
            }
            jsonwebtoken::decode::<Claims>(token, &key.decoding, &validation)
                .map_err(|e| Refusal::Invalid(e.to_string()))?
                .claims
        };
        let now = self.clock.now().timestamp();
        if claims.exp + LEEWAY_SECS < now {
            return Err(Refusal::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf - LEEWAY_SECS > now) {
            return Err(Refusal::NotYet);
        }
        // Replies go to the activity's service URL with fanops's own token: only the one
        // the Bot Framework signed for is trusted.
        let claimed = claims.serviceurl.as_deref().unwrap_or_default();
        if claimed.is_empty() || claimed.trim_end_matches('/') != service_url.trim_end_matches('/')
        {
            return Err(Refusal::ServiceUrl);
        }
        Ok(())
    }

    /// The cached keys, fetched first when `kid` is not among them (and the last fetch
    /// is not too recent) or when they are old.
    async fn keys_with(&self, kid: &str) -> Result<tokio::sync::MutexGuard<'_, KeySet>, Refusal> {
        let mut keys = self.keys.lock().await;
        let now = self.clock.now();
        let due = match keys.fetched_at {
            None => true,
            Some(at) if at + KEYS_FOR < now => true,
            Some(at) => !keys.keys.contains_key(kid) && at + REFETCH_EVERY <= now,
        };
        if due {
            match self.fetch().await {
                Ok(fresh) => {
                    *keys = KeySet {
                        keys: fresh,
                        fetched_at: Some(now),
                    };
                }
                // Keep what was cached: a key still known still verifies.
                Err(e) if !keys.keys.is_empty() => {
                    tracing::warn!(error = %e, "could not fetch the Bot Framework's keys again; using the cached ones");
                }
                Err(e) => return Err(Refusal::Keys(e.to_string())),
            }
        }
        Ok(keys)
    }

    /// Fetches the keys now (also at start, so the first request need not wait for them).
    pub async fn prefetch(&self) {
        let _ = self.keys_with("").await;
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, Key>> {
        let metadata: Metadata = self
            .http
            .get(&self.openid_url)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let jwks: Jwks = self
            .http
            .get(&metadata.jwks_uri)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
                continue;
            };
            if jwk.kty != "RSA" {
                continue;
            }
            match DecodingKey::from_rsa_components(&n, &e) {
                Ok(decoding) => {
                    let endorsements = jwk.endorsements;
                    keys.insert(
                        kid,
                        Key {
                            decoding,
                            endorsements,
                        },
                    );
                }
                Err(e) => {
                    tracing::warn!(kid = %kid, error = %e, "a published key is not an RSA key fanops can read")
                }
            }
        }
        Ok(keys)
    }
}

/// Why no outbound token could be had.
#[derive(Debug)]
pub enum TokenFailure {
    /// The token endpoint refused the app id or password: waiting will not help.
    Refused(String),
    /// Asked to wait this long (429).
    Wait(Duration),
    /// Unreachable, or an answer fanops cannot read: worth trying again.
    Later(String),
}

#[derive(Deserialize)]
struct Granted {
    access_token: String,
    expires_in: i64,
}

/// The bot's client-credentials token, cached.
pub struct Tokens {
    http: reqwest::Client,
    token_url: String,
    app_id: String,
    password: Secret,
    clock: Clock,
    cached: tokio::sync::Mutex<Option<(String, DateTime<Utc>)>>,
}

impl Tokens {
    pub fn new(
        http: reqwest::Client,
        token_url: &str,
        app_id: &str,
        password: Secret,
        clock: Clock,
    ) -> Tokens {
        Tokens {
            http,
            token_url: token_url.to_string(),
            app_id: app_id.to_string(),
            password,
            clock,
            cached: tokio::sync::Mutex::default(),
        }
    }

    /// A token valid for a while yet: the cached one, or a new one.
    pub async fn token(&self) -> Result<String, TokenFailure> {
        let mut cached = self.cached.lock().await;
        let now = self.clock.now();
        if let Some((token, until)) = cached.as_ref() {
            if *until > now + RENEW_BEFORE {
                return Ok(token.clone());
            }
        }
        let granted = self.request().await?;
        let until = now + chrono::Duration::seconds(granted.expires_in.max(0));
        *cached = Some((granted.access_token.clone(), until));
        Ok(granted.access_token)
    }

    /// Drops the cached token (the connector refused it).
    pub async fn forget(&self) {
        *self.cached.lock().await = None;
    }

    async fn request(&self) -> Result<Granted, TokenFailure> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.app_id.as_str()),
            ("client_secret", self.password.expose().unwrap_or("")),
            ("scope", SCOPE),
        ];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let answer = self
            .http
            .post(&self.token_url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| TokenFailure::Later(e.to_string()))?;
        let status = answer.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(TokenFailure::Wait(super::connector::retry_after(
                answer.headers(),
            )));
        }
        if matches!(status.as_u16(), 400 | 401 | 403) {
            let body = answer.text().await.unwrap_or_default();
            return Err(TokenFailure::Refused(format!(
                "{status}: {}",
                super::connector::snippet(&body)
            )));
        }
        if !status.is_success() {
            return Err(TokenFailure::Later(format!(
                "the token endpoint answered {status}"
            )));
        }
        answer
            .json::<Granted>()
            .await
            .map_err(|e| TokenFailure::Later(format!("an unreadable token: {e}")))
    }
}
