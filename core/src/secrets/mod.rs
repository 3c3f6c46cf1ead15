//! The phone's secrets: the device token and the queue's data key, kept only in
//! the platform's secret store (Android Keystore, iOS Keychain) through the
//! [`SecretStore`] trait the app implements, never in the queue database.
//!
//! - [`SecretStore`]: `get`, `put`, `delete` of small named byte strings.
//! - [`DataKey`]: the queue's 32-byte key, made by the core from the OS's
//!   CSPRNG, held in memory only in buffers zeroized on drop, sealing with
//!   XChaCha20-Poly1305 (docs/security.md says why).
//! - The canary (`canary.rs`): a known text sealed with the key in the queue
//!   database, so that opening tells "the key is gone", "the key is wrong" and
//!   "the data is damaged" apart ([`SecretsError`]).
//! - [`FileSecretStore`]: a directory of plain files, for tests, the demo and
//!   desktop tools; it protects nothing.

mod canary;
mod file;
mod key;
mod store;

use std::sync::Arc;

pub use file::FileSecretStore;
pub use key::{DataKey, OpenError};
pub use store::{SecretStore, SecretStoreError};
/// The buffer [`SecretStore::get`] returns, zeroized on drop (re-exported so
/// implementations need not depend on `zeroize` themselves).
pub use zeroize::Zeroizing;

use crate::store::{Store, StoreError};

/// The name of the queue's data key in the secret store. The number is the
/// key's generation: a later key rotation writes the next one.
pub const DATA_KEY: &str = "postcso.queue_key.1";

/// The name of the device token (the station's credential) in the secret store.
pub const DEVICE_TOKEN: &str = "postcso.device_token";

/// Why the queue's data key could not be made ready. Each variant asks for a
/// different action, so the app can tell the carrier the right thing.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The secret store has no data key, but the database was written with one
    /// (its canary is there): what the key protected cannot be read, by design.
    /// Typical after a restore of the app's files without the Keystore or
    /// Keychain, or after the platform dropped the key.
    #[error(
        "the queue's data key is gone from the platform's secret store, but the database was written with one; its protected contents cannot be read (remove the data directory and enrol again)"
    )]
    KeyLost,
    /// The secret store holds a key, but not the one the database was written
    /// with (the canary does not open under it), or one of the wrong length.
    #[error(
        "the secret store holds a different data key than the one this database was written with"
    )]
    KeyWrong,
    /// The database's key check is damaged: its stored bytes no longer match
    /// their checksum, so nothing can be said about the key.
    #[error("the database's key check is damaged ({0})")]
    KeyCheckDamaged(&'static str),
    /// The app's secret store failed or is not available now.
    #[error(transparent)]
    Store(#[from] SecretStoreError),
    /// The operating system's random number generator failed.
    #[error("the system's random number generator failed: {0}")]
    Random(String),
}

/// Why [`Secrets::unlock`] failed: the secrets themselves, or the database
/// that holds the key's canary (the queue turns each into its own error).
#[derive(Debug, thiserror::Error)]
pub(crate) enum UnlockError {
    /// The key is lost, wrong, its check damaged, or the store failed.
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    /// The queue database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The app's secret store, shared by the queue (data key) and the sync engine
/// (device token).
#[derive(Clone)]
pub struct Secrets(Arc<dyn SecretStore>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// Wraps the app's store.
    pub fn new(store: Arc<dyn SecretStore>) -> Self {
        Self(store)
    }

    /// The device token, if one is stored. A token that is not UTF-8 text was
    /// not written by the core and is reported as a store failure.
    pub fn device_token(&self) -> Result<Option<String>, SecretStoreError> {
        let Some(bytes) = self.0.get(DEVICE_TOKEN)? else {
            return Ok(None);
        };
        String::from_utf8(bytes.to_vec())
            .map(Some)
            .map_err(|_| SecretStoreError::Failed("the stored device token is not text".into()))
    }

    /// Saves the device token, or deletes it with `None`.
    pub fn set_device_token(&self, token: Option<&str>) -> Result<(), SecretStoreError> {
        match token {
            Some(token) => self.0.put(DEVICE_TOKEN, token.as_bytes()),
            None => self.0.delete(DEVICE_TOKEN),
        }
    }

    /// The queue's data key, made on first use, checked against the database's
    /// canary. See [`SecretsError`] for what each failure means.
    ///
    /// Order matters for crash safety: a new key is saved (and read back) before
    /// its canary is written, so a crash between the two leaves a key without a
    /// canary, which the next open completes, never a canary without its key.
    pub(crate) fn unlock(&self, store: &Store) -> Result<DataKey, UnlockError> {
        let stored = self.0.get(DATA_KEY).map_err(SecretsError::from)?;
        let canary = store.read(|tx| canary::load(tx, DATA_KEY))?;
        let key = match (stored, canary) {
            (None, Some(_)) => return Err(SecretsError::KeyLost.into()),
            (Some(bytes), Some(canary)) => {
                let key = DataKey::from_bytes(&bytes)?;
                canary.check(DATA_KEY, &key)?;
                return Ok(key);
            }
            (Some(bytes), None) => DataKey::from_bytes(&bytes)?,
            (None, None) => self.make_key()?,
        };
        let sealed = canary::Canary::seal(DATA_KEY, &key)?;
        store.write(|tx| sealed.save(tx, DATA_KEY))?;
        tracing::info!("queue data key canary written");
        Ok(key)
    }

    /// Makes a new data key and saves it, reading it back so that a store that
    /// silently drops writes is caught before anything depends on the key.
    fn make_key(&self) -> Result<DataKey, SecretsError> {
        let bytes = key::random_key()?;
        self.0.put(DATA_KEY, &bytes[..])?;
        match self.0.get(DATA_KEY)? {
            Some(back) if back[..] == bytes[..] => {}
            _ => {
                return Err(SecretStoreError::Failed(
                    "the secret store did not keep the data key it was given".into(),
                )
                .into());
            }
        }
        tracing::info!("queue data key made");
        DataKey::from_bytes(&bytes[..])
    }
}

#[cfg(test)]
mod tests;
