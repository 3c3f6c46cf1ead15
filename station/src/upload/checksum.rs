//! The tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>`
//! over one request's body.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Algorithms offered in `Tus-Checksum-Algorithm` (sha1 is required by the spec).
pub const ALGORITHMS: &str = "sha1,sha256";

/// Why an `Upload-Checksum` header is unusable (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecksumHeaderError {
    /// Not `<algorithm> <base64>`.
    #[error("Upload-Checksum must be `<algorithm> <base64 digest>`")]
    Malformed,
    /// An algorithm not in [`ALGORITHMS`].
    #[error("unsupported checksum algorithm; use one of {ALGORITHMS}")]
    Unsupported,
}

/// A checksum to verify one request body against.
pub struct Checksum {
    hasher: Hasher,
    expected: Vec<u8>,
}

enum Hasher {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Checksum {
    /// Parses the header value.
    pub fn parse(value: &str) -> Result<Self, ChecksumHeaderError> {
        let (algorithm, digest) = value
            .trim()
            .split_once(' ')
            .ok_or(ChecksumHeaderError::Malformed)?;
        let expected = STANDARD
            .decode(digest.trim())
            .map_err(|_| ChecksumHeaderError::Malformed)?;
        let (hasher, size) = match algorithm {
            "sha1" => (Hasher::Sha1(Sha1::new()), 20),
            "sha256" => (Hasher::Sha256(Sha256::new()), 32),
            _ => return Err(ChecksumHeaderError::Unsupported),
        };
        if expected.len() != size {
            return Err(ChecksumHeaderError::Malformed);
        }
        Ok(Self { hasher, expected })
    }

    /// Feeds body bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.hasher {
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    /// Whether the body matched.
    pub fn matches(self) -> bool {
        let actual: Vec<u8> = match self.hasher {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
        };
        actual == self.expected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies_sha1_and_sha256_and_refuses_others() {
        let body = b"hello tus";
        let sha1 = STANDARD.encode(Sha1::digest(body));
        let mut c = Checksum::parse(&format!("sha1 {sha1}")).expect("sha1");
        c.update(body);
        assert!(c.matches());
        let sha256 = STANDARD.encode(Sha256::digest(body));
        let mut c = Checksum::parse(&format!("sha256 {sha256}")).expect("sha256");
        c.update(b"hello tuS");
        assert!(!c.matches());
        assert_eq!(
            Checksum::parse("md5 AAAA").err(),
            Some(ChecksumHeaderError::Unsupported)
        );
        assert_eq!(
            Checksum::parse("sha1").err(),
            Some(ChecksumHeaderError::Malformed)
        );
        assert_eq!(
            Checksum::parse("sha1 AAAA").err(),
            Some(ChecksumHeaderError::Malformed)
        );
    }
}
