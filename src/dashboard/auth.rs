//! Who may see the operations page: the bearer of `FANOPS_DASHBOARD_TOKEN`, or a browser
//! holding a session cookie the login form set.
//!
//! A login makes a random session id; the cookie holds it and the store keeps only its
//! SHA-256, with a fingerprint of the token (an HMAC keyed by the token over the id), so
//! every replica agrees, `POST /logout` ends the session everywhere, and changing the
//! token ends every session. Sign-ins are throttled per client address.

use crate::clock::Clock;
use crate::config::Secret;
use crate::store::{DashboardSession, SharedStore, StoreResult};
use axum::http::{header, HeaderMap};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// The cookie the login form sets.
pub const COOKIE: &str = "fanops_dashboard";

/// How long a login lasts.
const SESSION_DAYS: i64 = 30;

/// Sign-ins one client address may make at once, and how often one more is allowed.
const SIGN_IN_BURST: u32 = 10;
const SIGN_IN_EVERY: Duration = Duration::from_secs(60);

/// Client addresses the throttle remembers before it forgets the ones that have recovered.
const THROTTLE_KEYS: usize = 10_000;

/// How a request got in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    /// No token is configured: the page is served on loopback only, to anyone there.
    Open,
    Bearer,
    /// Through a login's session cookie (the page offers to sign out).
    Session,
}

/// The token, when one is configured, and where sessions are kept.
#[derive(Clone)]
pub struct Gate {
    token: Secret,
    store: SharedStore,
    clock: Clock,
    sign_ins: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gate(token set: {})", self.token.is_set())
    }
}

impl Gate {
    pub fn new(token: Secret, store: SharedStore, clock: Clock) -> Gate {
        let burst = NonZeroU32::new(SIGN_IN_BURST).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(SIGN_IN_EVERY)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(burst);
        Gate {
            token,
            store,
            clock,
            sign_ins: Arc::new(RateLimiter::keyed(quota)),
        }
    }

    /// How the request gets in, or None: it carries neither the token (bearer) nor the
    /// cookie of a session that is open, unexpired and opened with the current token.
    pub async fn admits(&self, headers: &HeaderMap) -> StoreResult<Option<Admitted>> {
        let Some(token) = self.token.expose() else {
            return Ok(Some(Admitted::Open));
        };
        if let Some(given) = bearer(headers) {
            return Ok(same_secret(given.as_bytes(), token.as_bytes()).then_some(Admitted::Bearer));
        }
        let Some(id) = cookie(headers, COOKIE).filter(|id| !id.is_empty()) else {
            return Ok(None);
        };
        let session = self.store.session(&id_hash(id), self.clock.now()).await?;
        Ok(session
            .filter(|s| {
                same_secret(
                    s.token_fingerprint.as_bytes(),
                    fingerprint(token, id).as_bytes(),
                )
            })
            .map(|_| Admitted::Session))
    }

    /// Counts one sign-in from `client`; Err with the wait when it has made too many.
    pub fn sign_in_allowed(&self, client: IpAddr) -> Result<(), Duration> {
        let key = throttle_key(client);
        if self.sign_ins.len() > THROTTLE_KEYS {
            self.sign_ins.retain_recent();
        }
        self.sign_ins.check_key(&key).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::Clock::now(self.sign_ins.clock()))
        })
    }

    /// Whether `given` (typed in the login form) is the token.
    pub fn accepts(&self, given: &str) -> bool {
        self.token
            .expose()
            .is_some_and(|token| same_secret(given.trim().as_bytes(), token.as_bytes()))
    }

    /// Opens a session and returns its `Set-Cookie` (HttpOnly, SameSite=Strict, Secure
    /// behind HTTPS); None when no token is configured (nobody signs in).
    pub async fn open_session(&self, headers: &HeaderMap) -> StoreResult<Option<String>> {
        let Some(token) = self.token.expose() else {
            return Ok(None);
        };
        let id = new_session_id();
        let now = self.clock.now();
        let expires = chrono::Duration::days(SESSION_DAYS);
        self.store.prune_sessions(now).await?;
        self.store
            .open_session(&DashboardSession {
                id_hash: id_hash(&id),
                token_fingerprint: fingerprint(token, &id),
                created_at: now,
                expires_at: now + expires,
            })
            .await?;
        Ok(Some(format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
            expires.num_seconds(),
            secure(headers)
        )))
    }

    /// Ends the session the request's cookie names, if any.
    pub async fn end_session(&self, headers: &HeaderMap) -> StoreResult<()> {
        if let Some(id) = cookie(headers, COOKIE).filter(|id| !id.is_empty()) {
            self.store.end_session(&id_hash(id)).await?;
        }
        Ok(())
    }
}

/// 32 random bytes from the operating system, hex.
fn new_session_id() -> String {
    let mut bytes = [0u8; 32];
    // The OS random source failing is not something to carry on from.
    getrandom::fill(&mut bytes).expect("the operating system's random source works");
    hex::encode(bytes)
}

/// What the store keeps of a session id.
fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// Ties a session to the token: useless without the cookie's id, and unlike for any
/// other token.
fn fingerprint(token: &str, id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(b"fanops dashboard session v2:");
    mac.update(id.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Addresses throttled together: one IPv4 address, or one IPv6 /64 (what one client is
/// usually given).
fn throttle_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Whether `given` equals `expected`, in time that does not depend on where they differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// `Set-Cookie` that ends a login.
pub fn logout_cookie(headers: &HeaderMap) -> String {
    format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        secure(headers)
    )
}

/// Behind a TLS-terminating proxy the cookie is marked Secure.
fn secure(headers: &HeaderMap) -> &'static str {
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    if https {
        "; Secure"
    } else {
        ""
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn reads_the_bearer_and_the_cookie() {
        let h = headers(&[
            ("authorization", "Bearer  s3cret "),
            ("cookie", "a=b; fanops_dashboard=abc"),
        ]);
        assert_eq!(bearer(&h), Some("s3cret"));
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "other"), None);
        assert!(secure(&headers(&[("x-forwarded-proto", "https")])).contains("Secure"));
    }

    #[test]
    fn sessions_are_random_and_tied_to_the_token() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(id_hash(&a), a);
        assert_ne!(fingerprint("one", &a), fingerprint("two", &a));
        assert_ne!(fingerprint("one", &a), fingerprint("one", &b));
        assert!(!fingerprint("s3cret", &a).contains("s3cret"));
    }

    #[test]
    fn an_ipv6_client_is_throttled_by_its_64() {
        let one: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(throttle_key(one), throttle_key(two));
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(throttle_key(mapped), "10.0.0.7".parse::<IpAddr>().unwrap());
    }
}
