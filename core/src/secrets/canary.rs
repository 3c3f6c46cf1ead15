//! The key canary: a known text sealed with the data key and kept in the queue
//! database (`key_canary`, schema version 7), with a SHA-256 of the sealed bytes.
//!
//! At open the checksum comes first: bytes that no longer match it are damage;
//! bytes that match it but do not open are a wrong key. Without the checksum a
//! flipped bit and another key would look the same (an AEAD only says "no").

use rusqlite::{OptionalExtension, Transaction, params};
use sha2::{Digest, Sha256};

use super::{DataKey, SecretsError};
use crate::store::StoreError;

/// The text sealed in the canary.
const TEXT: &[u8] = b"POST-CSO queue data key canary v1";

/// The canary of one key, as stored.
pub(super) struct Canary {
    sealed: Vec<u8>,
    sealed_sha256: Vec<u8>,
}

/// Binds the canary to its table and key name, so a sealed value copied from
/// elsewhere in the database never passes as the canary.
fn aad(key_name: &str) -> Vec<u8> {
    format!("postcso/key_canary/{key_name}").into_bytes()
}

/// The stored canary of `key_name`, if there is one.
pub(super) fn load(tx: &Transaction<'_>, key_name: &str) -> Result<Option<Canary>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT sealed, sealed_sha256 FROM key_canary WHERE key_name = ?1",
            [key_name],
            |r| {
                Ok(Canary {
                    sealed: r.get(0)?,
                    sealed_sha256: r.get(1)?,
                })
            },
        )
        .optional()?)
}

impl Canary {
    /// A new canary of `key`.
    pub(super) fn seal(key_name: &str, key: &DataKey) -> Result<Self, SecretsError> {
        let sealed = key.seal(&aad(key_name), TEXT)?;
        let sealed_sha256 = Sha256::digest(&sealed).to_vec();
        Ok(Self {
            sealed,
            sealed_sha256,
        })
    }

    /// Writes the canary (replacing none: a key's canary is written once).
    pub(super) fn save(&self, tx: &Transaction<'_>, key_name: &str) -> Result<(), StoreError> {
        tx.execute(
            "INSERT INTO key_canary (key_name, sealed, sealed_sha256, created_at_ms) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                key_name,
                self.sealed,
                self.sealed_sha256,
                chrono::Utc::now().timestamp_millis()
            ],
        )?;
        Ok(())
    }

    /// Whether `key` is the key this canary was sealed with.
    pub(super) fn check(&self, key_name: &str, key: &DataKey) -> Result<(), SecretsError> {
        if Sha256::digest(&self.sealed)[..] != self.sealed_sha256[..] {
            return Err(SecretsError::KeyCheckDamaged(
                "its bytes do not match their checksum",
            ));
        }
        match key.open(&aad(key_name), &self.sealed) {
            Ok(text) if text[..] == *TEXT => Ok(()),
            // Intact bytes that open to another text were written by something
            // other than this code: damage, not a key question.
            Ok(_) => Err(SecretsError::KeyCheckDamaged("it holds an unknown text")),
            Err(_) => Err(SecretsError::KeyWrong),
        }
    }
}
