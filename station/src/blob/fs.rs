//! The data-dir blob store: `DATA_DIR/blobs/ab/abcdef…`, one file per SHA-256.
//!
//! A blob appears atomically under its final name: the source file is already
//! fsynced, it is renamed in (or, across file systems, copied to a temp file,
//! fsynced and renamed), and the directory is fsynced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

use super::spares::Spares;
use super::{Blob, BlobError, BlobPut, BlobStore, check_key};
use crate::fsync::sync_dir;

/// Blobs in a directory on the local file system.
#[derive(Clone)]
pub struct FsBlobStore {
    root: PathBuf,
    spares: Arc<Spares>,
}

impl std::fmt::Debug for FsBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBlobStore")
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl FsBlobStore {
    /// Uses (creating) `root` and its 256 shard directories. They are all
    /// made here, durably, so that storing a blob never creates a directory
    /// whose own entry would need one more fsync (before, a new shard's
    /// entry in `root` was never fsynced).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(root)?;
        let mut created = false;
        for shard in 0..=255u8 {
            let dir = root.join(hex::encode([shard]));
            if !dir.is_dir() {
                std::fs::create_dir(&dir)?;
                created = true;
            }
        }
        if created {
            sync_dir(root)?;
        }
        Ok(Self {
            root: root.to_owned(),
            spares: Arc::new(Spares::open(root)),
        })
    }

    /// Where a blob lives; sharded by its first two hex digits so no
    /// directory grows past a few thousand entries.
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf, BlobError> {
        check_key(sha256)?;
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

fn put_blocking(target: &Path, file: &Path) -> Result<BlobPut, BlobError> {
    let dir = target.parent().ok_or(BlobError::InvalidKey)?;
    if target.is_file() {
        std::fs::remove_file(file)?;
        // A concurrent put of the same bytes may not have synced it yet.
        sync_dir(dir)?;
        return Ok(BlobPut::AlreadyPresent);
    }
    match std::fs::rename(file, target) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::CrossesDevices => {
            place_via_temp(dir, target, |out| {
                std::io::copy(&mut std::fs::File::open(file)?, out).map(drop)
            })?;
            std::fs::remove_file(file)?;
        }
        Err(e) => return Err(e.into()),
    }
    sync_dir(dir)?;
    if let Some(source_dir) = file.parent() {
        sync_dir(source_dir)?;
    }
    Ok(BlobPut::Stored)
}

/// Fills a new temp file in `dir` with `fill`, fsyncs its data and renames
/// it to `target`, so no reader ever sees a partial blob; the temp file is
/// removed if any step fails. The caller fsyncs `dir` afterwards.
fn place_via_temp(
    dir: &Path,
    target: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let temp = dir.join(format!(".incoming-{}", uuid::Uuid::new_v4().simple()));
    let placed = std::fs::File::create(&temp)
        .and_then(|mut out| {
            fill(&mut out)?;
            out.sync_data()
        })
        .and_then(|()| std::fs::rename(&temp, target));
    if placed.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    placed
}

/// Stores bytes held in memory through a spare file, or a new temp file
/// beside `target` when none is ready: two fsyncs (the data, then the
/// directory).
fn put_bytes_blocking(
    target: &Path,
    bytes: &[u8],
    spares: &Arc<Spares>,
) -> Result<BlobPut, BlobError> {
    let dir = target.parent().ok_or(BlobError::InvalidKey)?;
    if target.is_file() {
        // A concurrent put of the same bytes may not have synced it yet.
        sync_dir(dir)?;
        return Ok(BlobPut::AlreadyPresent);
    }
    match spares.take() {
        Some(spare) => spare.place(bytes, target)?,
        None => place_via_temp(dir, target, |out| out.write_all(bytes))?,
    }
    sync_dir(dir)?;
    Ok(BlobPut::Stored)
}

fn join_failed(e: tokio::task::JoinError) -> BlobError {
    BlobError::Io(std::io::Error::other(e))
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_file(&self, sha256: &str, file: &Path) -> Result<BlobPut, BlobError> {
        let target = self.path_of(sha256)?;
        let file = file.to_owned();
        tokio::task::spawn_blocking(move || put_blocking(&target, &file))
            .await
            .map_err(join_failed)?
    }

    async fn put_bytes(&self, sha256: &str, bytes: Bytes) -> Result<BlobPut, BlobError> {
        let target = self.path_of(sha256)?;
        let spares = Arc::clone(&self.spares);
        tokio::task::spawn_blocking(move || put_bytes_blocking(&target, &bytes, &spares))
            .await
            .map_err(join_failed)?
    }

    async fn ready(&self) -> Result<(), BlobError> {
        let meta = tokio::fs::metadata(&self.root).await?;
        if meta.is_dir() {
            Ok(())
        } else {
            Err(BlobError::Io(std::io::Error::other(
                "the blob directory is not a directory",
            )))
        }
    }

    async fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        let target = self.path_of(sha256)?;
        Ok(tokio::fs::try_exists(target).await?)
    }

    async fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        let target = self.path_of(sha256)?;
        let file = match tokio::fs::File::open(&target).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let len = file.metadata().await?.len();
        Ok(Some(Blob {
            len,
            reader: Box::pin(file),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn stores_once_by_hash_and_refuses_bad_keys() {
        let dir = tempfile::tempdir().expect("dir");
        let store = FsBlobStore::open(&dir.path().join("blobs")).expect("open");
        let key = "ab".repeat(32);
        let src = dir.path().join("a.part");
        std::fs::write(&src, b"photo").expect("write");
        assert_eq!(
            store.put_file(&key, &src).await.expect("put"),
            BlobPut::Stored
        );
        assert!(!src.exists(), "the source is taken over");
        std::fs::write(&src, b"photo").expect("write");
        assert_eq!(
            store.put_file(&key, &src).await.expect("put again"),
            BlobPut::AlreadyPresent
        );
        assert!(!src.exists());
        let mut blob = store.open(&key).await.expect("open").expect("present");
        assert_eq!(blob.len, 5);
        let mut bytes = Vec::new();
        blob.reader.read_to_end(&mut bytes).await.expect("read");
        assert_eq!(bytes, b"photo");
        assert!(store.contains(&key).await.expect("contains"));
        let other = "cd".repeat(32);
        assert_eq!(
            store
                .put_bytes(&other, Bytes::from_static(b"whole"))
                .await
                .expect("put bytes"),
            BlobPut::Stored
        );
        assert_eq!(
            store
                .put_bytes(&other, Bytes::from_static(b"whole"))
                .await
                .expect("put bytes again"),
            BlobPut::AlreadyPresent
        );
        assert_eq!(
            std::fs::read(store.path_of(&other).expect("path")).expect("read"),
            b"whole"
        );
        let shard = store.path_of(&other).expect("path");
        let leftovers: Vec<_> = std::fs::read_dir(shard.parent().expect("dir"))
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(".incoming"))
            .collect();
        assert!(leftovers.is_empty(), "no temp file is left behind");
        assert!(store.open(&"ef".repeat(32)).await.expect("open").is_none());
        assert!(matches!(
            store.contains("../../etc/passwd").await,
            Err(BlobError::InvalidKey)
        ));
        assert!(matches!(
            store.contains(&"AB".repeat(32)).await,
            Err(BlobError::InvalidKey)
        ));
    }
}
