//! Who may see the operations page: the bearer of `FANOPS_DASHBOARD_TOKEN`, or a browser
//! holding the session cookie the login form sets. Both compared in constant time.

use axum::http::{header, HeaderMap};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie the login form sets.
pub const COOKIE: &str = "fanops_dashboard";

/// How long a login lasts.
const SESSION_SECONDS: u64 = 30 * 24 * 3600;

/// The token, when one is configured (none: loopback only, open to this machine).
#[derive(Clone)]
pub struct Gate {
    token: Option<String>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gate(token set: {})", self.token.is_some())
    }
}

impl Gate {
    pub fn new(token: Option<&str>) -> Gate {
        Gate {
            token: token.map(str::to_string),
        }
    }

    /// The cookie's value: derived from the token (so it is not the token, every replica
    /// agrees on it, and changing the token ends every login).
    fn session(token: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(b"fanops dashboard session v1");
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether the request carries the token (bearer) or a valid session cookie.
    pub fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        if let Some(given) = bearer(headers) {
            return same_secret(given.as_bytes(), token.as_bytes());
        }
        cookie(headers, COOKIE)
            .is_some_and(|given| same_secret(given.as_bytes(), Gate::session(token).as_bytes()))
    }

    /// Whether `given` (typed in the login form) is the token.
    pub fn accepts(&self, given: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|token| same_secret(given.trim().as_bytes(), token.as_bytes()))
    }

    /// `Set-Cookie` of a login: HttpOnly, SameSite=Strict, Secure behind HTTPS.
    pub fn login_cookie(&self, headers: &HeaderMap) -> Option<String> {
        let token = self.token.as_ref()?;
        Some(format!(
            "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECONDS}{}",
            Gate::session(token),
            secure(headers)
        ))
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
    fn bearer_or_cookie_admits_nothing_else_does() {
        let gate = Gate::new(Some("s3cret"));
        assert!(gate.admits(&headers(&[("authorization", "Bearer s3cret")])));
        assert!(!gate.admits(&headers(&[("authorization", "Bearer s3cre")])));
        assert!(!gate.admits(&headers(&[])));
        let set = gate.login_cookie(&headers(&[])).unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(!set.contains("s3cret"));
        let value = set.split(';').next().unwrap();
        assert!(gate.admits(&headers(&[("cookie", &format!("a=b; {value}"))])));
        assert!(!gate.admits(&headers(&[("cookie", "fanops_dashboard=s3cret")])));
        assert!(gate.accepts(" s3cret "));
        assert!(!gate.accepts("nope"));
        let behind_tls = gate
            .login_cookie(&headers(&[("x-forwarded-proto", "https")]))
            .unwrap();
        assert!(behind_tls.ends_with("; Secure"));
    }

    #[test]
    fn without_a_token_the_page_is_open_and_nobody_logs_in() {
        let gate = Gate::new(None);
        assert!(gate.admits(&headers(&[])));
        assert!(!gate.accepts(""));
        assert!(gate.login_cookie(&headers(&[])).is_none());
    }
}
