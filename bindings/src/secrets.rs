//! The app's secret store as a foreign trait: Kotlin implements it over the
//! Android Keystore, Swift over the Keychain, Python over a file for tests.
//!
//! [`SecretStoreBridge`] adapts it to the core's trait and makes sure nothing
//! the foreign code does becomes a crash: a declared error, an undeclared
//! exception (UniFFI's `UnexpectedUniFFICallbackError`) and a Rust panic all
//! become a typed [`postcso_core::secrets::SecretStoreError`], which the core
//! raises as a typed [`crate::PostError`].

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use postcso_core::secrets::{SecretStoreError as CoreError, Zeroizing};

/// Small named secrets kept by the platform: the device token and the queue's
/// data key. Names are short ASCII (`[a-z0-9._]`), safe as file names and
/// Keychain accounts. Called rarely (open, enrolment, credential changes), from
/// any thread; it may block.
#[uniffi::export(with_foreign)]
pub trait SecretStore: Send + Sync {
    /// The value stored under `name`, or `None` when there is none.
    fn get(&self, name: String) -> Result<Option<Vec<u8>>, SecretStoreError>;
    /// Stores `value` under `name`, replacing any earlier value; durable when it returns.
    fn put(&self, name: String, value: Vec<u8>) -> Result<(), SecretStoreError>;
    /// Removes `name`; removing a name that is not there is not an error.
    fn delete(&self, name: String) -> Result<(), SecretStoreError>;
}

/// What a foreign [`SecretStore`] may throw. Not flat: the foreign side
/// constructs and throws it.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum SecretStoreError {
    /// The store cannot be used now (the Keychain before the first unlock after
    /// a reboot, a Keystore that is busy): try again later. Raised to the app as
    /// `PostError.SecretsUnavailable`.
    #[error("the secret store is not available now: {reason}")]
    Unavailable {
        /// The platform's explanation, without the secret.
        reason: String,
    },
    /// The store failed. Raised to the app as `PostError.SecretStoreFailed`.
    #[error("the secret store failed: {reason}")]
    Failed {
        /// The platform's explanation, without the secret.
        reason: String,
    },
    /// The foreign code threw an exception the interface does not declare
    /// (UniFFI's `UnexpectedUniFFICallbackError`). Raised to the app as
    /// `PostError.SecretStoreFailed`.
    #[error("the secret store threw unexpectedly: {reason}")]
    Unexpected {
        /// What the foreign runtime said.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for SecretStoreError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unexpected { reason: e.reason }
    }
}

impl From<SecretStoreError> for CoreError {
    fn from(e: SecretStoreError) -> Self {
        match e {
            SecretStoreError::Unavailable { reason } => Self::Unavailable(reason),
            other => Self::Failed(other.to_string()),
        }
    }
}

/// The core's plain-file store, for Rust callers of the bindings (benchmarks,
/// tools): it protects nothing, see [`postcso_core::secrets::FileSecretStore`].
impl SecretStore for postcso_core::secrets::FileSecretStore {
    fn get(&self, name: String) -> Result<Option<Vec<u8>>, SecretStoreError> {
        postcso_core::secrets::SecretStore::get(self, &name)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(foreign)
    }
    fn put(&self, name: String, value: Vec<u8>) -> Result<(), SecretStoreError> {
        postcso_core::secrets::SecretStore::put(self, &name, &value).map_err(foreign)
    }
    fn delete(&self, name: String) -> Result<(), SecretStoreError> {
        postcso_core::secrets::SecretStore::delete(self, &name).map_err(foreign)
    }
}

fn foreign(e: CoreError) -> SecretStoreError {
    match e {
        CoreError::Unavailable(reason) => SecretStoreError::Unavailable { reason },
        CoreError::Failed(reason) => SecretStoreError::Failed { reason },
    }
}

/// Adapts a foreign [`SecretStore`] to the core's trait.
pub(crate) struct SecretStoreBridge(pub(crate) Arc<dyn SecretStore>);

impl SecretStoreBridge {
    /// Calls the foreign store, turning a panic on the Rust side of the call
    /// into a store failure.
    fn call<T>(
        &self,
        what: &str,
        f: impl FnOnce(&dyn SecretStore) -> Result<T, SecretStoreError>,
    ) -> Result<T, CoreError> {
        match catch_unwind(AssertUnwindSafe(|| f(self.0.as_ref()))) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, operation = what, "secret store failed");
                Err(e.into())
            }
            Err(_) => {
                tracing::error!(operation = what, "secret store panicked");
                Err(CoreError::Failed(format!(
                    "the secret store panicked in {what}"
                )))
            }
        }
    }
}

impl postcso_core::secrets::SecretStore for SecretStoreBridge {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, CoreError> {
        self.call("get", |s| s.get(name.to_owned()))
            .map(|v| v.map(Zeroizing::new))
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<(), CoreError> {
        self.call("put", |s| s.put(name.to_owned(), value.to_vec()))
    }

    fn delete(&self, name: &str) -> Result<(), CoreError> {
        self.call("delete", |s| s.delete(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use postcso_core::secrets::SecretStore as CoreStore;

    use super::*;

    /// Fails in each way a foreign store can, one per call.
    struct Throwing(std::sync::atomic::AtomicUsize);

    impl SecretStore for Throwing {
        fn get(&self, _name: String) -> Result<Option<Vec<u8>>, SecretStoreError> {
            match self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(SecretStoreError::Unavailable {
                    reason: "before first unlock".into(),
                }),
                1 => Err(SecretStoreError::Failed {
                    reason: "keystore error -25300".into(),
                }),
                2 => Err(uniffi::UnexpectedUniFFICallbackError::new("NullPointerException").into()),
                _ => panic!("store bug"),
            }
        }
        fn put(&self, _name: String, _value: Vec<u8>) -> Result<(), SecretStoreError> {
            Ok(())
        }
        fn delete(&self, _name: String) -> Result<(), SecretStoreError> {
            Ok(())
        }
    }

    #[test]
    fn every_foreign_failure_becomes_a_typed_store_error() {
        let bridge = SecretStoreBridge(Arc::new(Throwing(Default::default())));
        assert_eq!(
            bridge.get("x").unwrap_err(),
            CoreError::Unavailable("before first unlock".into())
        );
        assert!(matches!(bridge.get("x"), Err(CoreError::Failed(m)) if m.contains("-25300")));
        assert!(
            matches!(bridge.get("x"), Err(CoreError::Failed(m)) if m.contains("unexpectedly") && m.contains("NullPointerException"))
        );
        assert!(matches!(bridge.get("x"), Err(CoreError::Failed(m)) if m.contains("panicked")));
    }
}
