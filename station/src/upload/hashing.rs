//! The running SHA-256 of an upload, carried across PATCH requests.
//!
//! After each durable write the hasher's internal state (sha2's
//! `SerializableState`: chaining value, block count and the partial block) is
//! stored in the upload row with the offset it covers, so resuming costs no
//! re-read, and every byte is hashed exactly once. If the state cannot be
//! restored (none stored, or a future sha2 changes its format), the part file's
//! first `offset` bytes are hashed again: slower, never wrong.

use std::io::Read;
use std::path::Path;

use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};

/// Serialises the hasher's state for the upload row.
pub fn save(hasher: &Sha256) -> Vec<u8> {
    hasher.serialize().to_vec()
}

fn restore_state(state: &[u8]) -> Option<Sha256> {
    let array = state.try_into().ok()?;
    Sha256::deserialize(array).ok()
}

/// The hasher over the first `offset` bytes of the part file at `path`.
pub fn restore(state: Option<&[u8]>, path: &Path, offset: u64) -> std::io::Result<Sha256> {
    if offset == 0 {
        return Ok(Sha256::new());
    }
    if let Some(hasher) = state.and_then(restore_state) {
        return Ok(hasher);
    }
    tracing::info!(offset, "re-hashing a part file to resume its upload");
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?.take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut seen = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        seen += n as u64;
    }
    if seen != offset {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "part file is shorter than the recorded offset",
        ));
    }
    Ok(hasher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_state_resumes_to_the_same_digest_as_rehashing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("x.part");
        let data: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let mut first = Sha256::new();
        first.update(&data[..70_001]);
        let saved = save(&first);
        let mut resumed = restore(Some(&saved), &path, 70_001).expect("restore");
        let mut rehashed = restore(None, &path, 70_001).expect("rehash");
        let mut garbage = restore(Some(b"not a state"), &path, 70_001).expect("fallback");
        for h in [&mut resumed, &mut rehashed, &mut garbage] {
            h.update(&data[70_001..]);
        }
        let whole = Sha256::digest(&data);
        assert_eq!(resumed.finalize(), whole);
        assert_eq!(rehashed.finalize(), whole);
        assert_eq!(garbage.finalize(), whole);
        assert!(restore(None, &path, 200_000).is_err());
    }
}
