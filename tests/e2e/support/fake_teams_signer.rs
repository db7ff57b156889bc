//! The Bot Framework's side of inbound authentication, for the tests: [`Signer`] makes
//! the `Authorization` tokens (RS256 with a test key and its `kid`, issuer
//! `https://api.botframework.com`, the chosen audience and expiry), and [`TestKey`] is one
//! of the two fixed RSA keys kept as PEM fixtures under `fixtures/teams/` with their JWKs.

use super::fake_teams::{APP_ID, ISSUER};
use serde_json::{json, Value};

const KEY_A: &str = include_str!("fixtures/teams/key_a.pem");
const KEY_B: &str = include_str!("fixtures/teams/key_b.pem");
const JWK_A: &str = include_str!("fixtures/teams/jwk_a.json");
const JWK_B: &str = include_str!("fixtures/teams/jwk_b.json");

/// One of the two test keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    A,
    B,
}

impl TestKey {
    pub fn kid(self) -> &'static str {
        match self {
            TestKey::A => "test-key-a",
            TestKey::B => "test-key-b",
        }
    }

    fn pem(self) -> &'static str {
        match self {
            TestKey::A => KEY_A,
            TestKey::B => KEY_B,
        }
    }

    /// Its public half as the JWKS lists it.
    pub fn jwk(self) -> Value {
        let text = match self {
            TestKey::A => JWK_A,
            TestKey::B => JWK_B,
        };
        serde_json::from_str(text).expect("the JWK fixture is JSON")
    }
}

/// Signs Bot Framework tokens.
pub struct Signer;

impl Signer {
    /// A token signed by `key` under key id `kid`, for `audience`, expiring `expires_in`
    /// seconds from now (negative: already expired), naming `service_url`.
    pub fn token(
        key: TestKey,
        kid: &str,
        audience: &str,
        expires_in: i64,
        service_url: &str,
    ) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "iss": ISSUER,
            "aud": audience,
            "exp": now + expires_in,
            "nbf": now - 60,
            "serviceurl": service_url,
        });
        Signer::sign(key, kid, &claims)
    }

    /// `claims` as they are, signed by `key` under key id `kid`.
    pub fn sign(key: TestKey, kid: &str, claims: &Value) -> String {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_string());
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.pem().as_bytes())
            .expect("the test key is an RSA PEM");
        jsonwebtoken::encode(&header, claims, &key).expect("the token signs")
    }

    /// A good token: key A, for [`APP_ID`], an hour.
    pub fn good(service_url: &str) -> String {
        Signer::token(TestKey::A, TestKey::A.kid(), APP_ID, 3600, service_url)
    }
}
