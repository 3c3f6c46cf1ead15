//! The trait the app implements over its platform's secret store.

use zeroize::Zeroizing;

/// Small named secrets kept by the platform: the Android Keystore (a key that
/// never leaves it wraps the values), the iOS Keychain, or a file in tests.
///
/// Names are short ASCII (`[a-z0-9._]`), safe as file names and Keychain
/// accounts. Every method may be called from any thread, and is called rarely
/// (at open, enrolment and credential changes), so it may block on the platform.
pub trait SecretStore: Send + Sync {
    /// The value stored under `name`, or `None` when there is none.
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretStoreError>;
    /// Stores `value` under `name`, replacing any earlier value. Durable when it returns.
    fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretStoreError>;
    /// Removes `name`; removing a name that is not there is not an error.
    fn delete(&self, name: &str) -> Result<(), SecretStoreError>;
}

/// What a [`SecretStore`] may fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretStoreError {
    /// The store cannot be used now, e.g. the Keychain before the first unlock
    /// after a reboot: try again later; nothing was changed.
    #[error("the secret store is not available now: {0}")]
    Unavailable(String),
    /// The store failed.
    #[error("the secret store failed: {0}")]
    Failed(String),
}
