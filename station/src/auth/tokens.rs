//! Random secrets and their storage hashes.
//!
//! Device tokens, session tokens and enrolment codes carry at least 100 bits of
//! randomness, so a plain SHA-256 is enough to store them: nothing can be
//! guessed from the hash, and lookup by hash stays a single indexed query.
//! Tokens carry a prefix so a leaked one is recognisable (and so the
//! extractor knows which table to look in).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

/// Prefix of device credentials.
pub const DEVICE_TOKEN_PREFIX: &str = "pcd_";
/// Prefix of staff session tokens.
pub const SESSION_TOKEN_PREFIX: &str = "pcs_";

/// Crockford base32: no I, L, O, U, so codes read aloud or typed are unambiguous.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in an enrolment code: 20 × 5 bits = 100 bits.
const CODE_CHARS: usize = 20;

/// A fresh 256-bit token, base64url without padding, behind `prefix`.
pub fn new_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// SHA-256 of a secret, lowercase hex: the only form stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A fresh one-time enrolment code, printed in groups of five: `XXXXX-XXXXX-XXXXX-XXXXX`.
pub fn new_enrolment_code() -> String {
    let mut rng = rand::rng();
    let mut out = String::with_capacity(CODE_CHARS + 3);
    for i in 0..CODE_CHARS {
        if i > 0 && i % 5 == 0 {
            out.push('-');
        }
        out.push(char::from(CROCKFORD[rng.random_range(0..CROCKFORD.len())]));
    }
    out
}

/// The canonical form of a typed or scanned code, the one that is hashed:
/// upper case, separators dropped, Crockford's look-alikes folded (O→0, I/L→1).
pub fn normalise_enrolment_code(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_256_bit_and_distinct() {
        let a = new_token(DEVICE_TOKEN_PREFIX);
        let b = new_token(DEVICE_TOKEN_PREFIX);
        assert_ne!(a, b);
        let body = a.strip_prefix(DEVICE_TOKEN_PREFIX).expect("prefix");
        assert_eq!(URL_SAFE_NO_PAD.decode(body).expect("base64url").len(), 32);
    }

    #[test]
    fn codes_survive_retyping() {
        let code = new_enrolment_code();
        assert_eq!(code.len(), CODE_CHARS + 3);
        let typed = code.to_lowercase().replace('-', " ");
        assert_eq!(
            hash_secret(&normalise_enrolment_code(&typed)),
            hash_secret(&normalise_enrolment_code(&code))
        );
        assert_eq!(normalise_enrolment_code("o1-il"), "0111");
    }
}
