//! [`FileSecretStore`]: secrets as plain files in a directory.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::{SecretStore, SecretStoreError};

/// A [`SecretStore`] that keeps each secret in a file of its own, written
/// crash-safely (temporary file, fsync, rename, directory fsync).
///
/// **It protects nothing**: anyone who can read the directory reads the keys.
/// It exists for tests, the demo and desktop tools; the phone apps use the
/// Keystore (Android) and Keychain (iOS) implementations of their wrappers.
#[derive(Debug, Clone)]
pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    /// A store in `dir`, created on first write.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// A store in `data_dir/secrets`, shared as the queue takes it: the short
    /// way for tests and the demo to give a queue its secrets.
    pub fn in_data_dir(data_dir: impl AsRef<std::path::Path>) -> std::sync::Arc<dyn SecretStore> {
        std::sync::Arc::new(Self::new(data_dir.as_ref().join("secrets")))
    }

    fn path(&self, name: &str) -> Result<PathBuf, SecretStoreError> {
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if plain {
            Ok(self.dir.join(name))
        } else {
            Err(SecretStoreError::Failed(format!(
                "not a secret name: {name:?}"
            )))
        }
    }
}

fn failed(e: std::io::Error) -> SecretStoreError {
    SecretStoreError::Failed(e.to_string())
}

impl SecretStore for FileSecretStore {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretStoreError> {
        match fs::read(self.path(name)?) {
            Ok(bytes) => Ok(Some(Zeroizing::new(bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(failed(e)),
        }
    }

    fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretStoreError> {
        let path = self.path(name)?;
        fs::create_dir_all(&self.dir).map_err(failed)?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(failed)?;
        file.write_all(value).map_err(failed)?;
        file.sync_all().map_err(failed)?;
        fs::rename(&tmp, &path).map_err(failed)?;
        crate::fsutil::sync_dir(&self.dir).map_err(failed)
    }

    fn delete(&self, name: &str) -> Result<(), SecretStoreError> {
        match fs::remove_file(self.path(name)?) {
            Ok(()) => crate::fsutil::sync_dir(&self.dir).map_err(failed),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(failed(e)),
        }
    }
}
