//! Photo blobs, content-addressed by SHA-256, behind one trait: a directory
//! (the data dir's by default) or S3-compatible object storage.

mod fs;
mod location;
mod s3;
mod spares;

use std::path::Path;
use std::pin::Pin;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncRead;

pub use fs::FsBlobStore;
pub use location::{BlobLocation, LocationError};
pub use s3::{S3BlobStore, S3Options};

/// Whether a put stored new bytes or found them already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPut {
    /// The blob was stored now.
    Stored,
    /// A blob with this hash existed; nothing was duplicated.
    AlreadyPresent,
}

/// A stored blob opened for reading.
pub struct Blob {
    /// Its size in bytes.
    pub len: u64,
    /// Its bytes.
    pub reader: Pin<Box<dyn AsyncRead + Send>>,
}

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not 64 lowercase hex digits (never touches storage).
    #[error("blob key is not a lowercase hex SHA-256")]
    InvalidKey,
    /// No space left: the client should retry later (HTTP 507).
    #[error("blob store is full: {0}")]
    Full(std::io::Error),
    /// Object storage is unreachable or refused for now: retry later (HTTP 503).
    #[error("object storage unavailable: {0}")]
    Unavailable(String),
    /// The store cannot be set up as configured.
    #[error("blob store configuration: {0}")]
    Config(String),
    /// Any other storage failure.
    #[error("blob store I/O error: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for BlobError {
    fn from(e: std::io::Error) -> Self {
        if crate::fsync::is_full(&e) {
            Self::Full(e)
        } else {
            Self::Io(e)
        }
    }
}

/// Where photo bytes live once verified.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Takes a complete, fsynced local file whose SHA-256 is `sha256` (already
    /// verified by the caller) into the store, and removes the local file.
    /// Storing a hash that is already present keeps one copy.
    async fn put_file(&self, sha256: &str, file: &Path) -> Result<BlobPut, BlobError>;
    /// Stores bytes already held in memory and verified by the caller: a
    /// photo that arrived whole in one request never becomes a part file.
    /// Durable when it returns; storing a hash already present keeps one copy.
    async fn put_bytes(&self, sha256: &str, bytes: Bytes) -> Result<BlobPut, BlobError>;
    /// Whether a blob is stored.
    async fn contains(&self, sha256: &str) -> Result<bool, BlobError>;
    /// Opens a blob; `None` when absent.
    async fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError>;
    /// Whether the store answers at all, for `/readyz`: a station whose
    /// photos cannot be stored or served should leave the load balancer.
    async fn ready(&self) -> Result<(), BlobError>;
}

/// Checks a key before it becomes part of a path or object name.
pub fn check_key(sha256: &str) -> Result<(), BlobError> {
    let ok = sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(BlobError::InvalidKey)
    }
}
