//! Secret and signature checks for whatever calls fanops over HTTP (Telegram's webhook
//! secret today; Slack, OnlyFansAPI and OFAuth signatures next), in constant time.

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
}
