//! Secret and signature checks for whatever calls fanops over HTTP (a platform's webhook
//! secret, OnlyFansAPI and OFAuth webhook signatures), in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Whether `given` equals `expected`, in time that does not depend on where they differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
}

/// HMAC-SHA256 of `message` under `key`.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Whether `signature_hex` (any case) is the HMAC-SHA256 of `message` under `key`,
/// checked in constant time.
pub fn verify_hmac_sha256_hex(key: &[u8], message: &[u8], signature_hex: &str) -> bool {
    let Ok(given) = ::hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.verify_slice(&given).is_ok()
}

/// Whether `signature` is the HMAC-SHA256 of `message` under `key`, written as hex (any
/// case) or base64 (standard or URL-safe, padded or not); checked in constant time.
pub fn verify_hmac_sha256_hex_or_base64(key: &[u8], message: &[u8], signature: &str) -> bool {
    use base64::Engine as _;
    let signature = signature.trim();
    if verify_hmac_sha256_hex(key, message, signature) {
        return true;
    }
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let Some(given) = engines.iter().find_map(|e| e.decode(signature).ok()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(message);
    mac.verify_slice(&given).is_ok()
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"abc"));
    }

    #[test]
    fn hmac_matches_the_rfc_4231_vector_and_checks_signatures() {
        // RFC 4231, test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let upper = hex(&mac).to_uppercase();
        assert!(verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for nothing?",
            &upper
        ));
        assert!(!verify_hmac_sha256_hex(
            b"Jefe",
            b"what do ya want for something?",
            &upper
        ));
        assert!(!verify_hmac_sha256_hex(b"Jefe", b"x", "not hex"));
        assert!(!verify_hmac_sha256_hex(b"Jefe", b"x", "abc"));
    }

    #[test]
    fn a_signature_may_be_hex_or_base64() {
        use base64::Engine as _;
        let mac = hmac_sha256(b"k", b"body");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&mac);
        assert!(verify_hmac_sha256_hex_or_base64(b"k", b"body", &hex(&mac)));
        assert!(verify_hmac_sha256_hex_or_base64(b"k", b"body", &b64));
        assert!(!verify_hmac_sha256_hex_or_base64(b"k", b"body!", &b64));
        assert!(!verify_hmac_sha256_hex_or_base64(b"k", b"body", ""));
    }
}
