//! Content-addressed, crash-safe storage of processed photos: one file
//! `<sha256>.jpg` per photo in one directory of the core's data dir.
//!
//! A photo is written to a temporary file in the same directory, fsynced, renamed
//! to its final name and the directory fsynced, so after a crash or power cut a name
//! either does not exist or holds the complete bytes. Readers re-hash what they
//! read, so a file damaged on the flash storage is reported, never uploaded.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::{BlobError, ProcessedPhoto};

/// Prefix of in-flight temporary files; the leading dot keeps them out of
/// galleries and apart from `<sha256>.jpg` names.
const TEMP_PREFIX: &str = ".tmp-";
/// A temporary file older than this belongs to a write that crashed.
const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Distinguishes concurrent writes of the same photo within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

#[cfg(test)]
thread_local! {
    /// The durability-relevant steps of the last operations on this thread, so tests
    /// can check their order (fsync before rename, directory fsync after it).
    static STEPS: std::cell::RefCell<Vec<&'static str>> = const { std::cell::RefCell::new(Vec::new()) };
}

#[inline]
fn step(_name: &'static str) {
    #[cfg(test)]
    STEPS.with(|s| s.borrow_mut().push(_name));
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    step("fsync_dir");
    crate::fsutil::sync_dir(dir)
}

/// Whether `s` is a lowercase 64-digit hex SHA-256, the only names the store uses.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_name(sha256: &str) -> Result<(), BlobError> {
    if is_sha256_hex(sha256) {
        Ok(())
    } else {
        Err(BlobError::InvalidName)
    }
}

/// Content-addressed photo files in one directory. Cheap to clone the path out of;
/// all methods take `&self` and are safe to call from several threads.
#[derive(Debug, Clone)]
pub struct PhotoStore {
    dir: PathBuf,
}

impl PhotoStore {
    /// Opens (creating if needed) the store directory and fsyncs its parent so the
    /// directory itself survives a power cut.
    pub fn open(dir: &Path) -> Result<Self, BlobError> {
        fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            sync_dir(parent)?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory holding the photos.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the photo named `sha256` is (or would be) stored, for the app to show it
    /// or the uploader to stream it. Pass only lowercase hex hashes: the name is not
    /// validated here; [`Self::read_verified`] and [`Self::verify`] do validate it.
    pub fn path_of(&self, sha256: &str) -> PathBuf {
        self.dir.join(format!("{sha256}.jpg"))
    }

    /// Stores the photo durably under its hash. Idempotent: a valid copy already
    /// stored is kept as is; an altered one is replaced.
    ///
    /// Refuses a photo whose bytes do not hash to `photo.sha256` (`Altered`), so a
    /// name in the store always matches its content.
    pub fn put(&self, photo: &ProcessedPhoto) -> Result<(), BlobError> {
        check_name(&photo.sha256)?;
        let found = hex::encode(Sha256::digest(&photo.jpeg));
        if found != photo.sha256 {
            return Err(BlobError::Altered {
                expected: photo.sha256.clone(),
                found,
            });
        }
        match self.verify(&photo.sha256) {
            Ok(_) => return Ok(()),
            Err(BlobError::Missing { .. }) => {}
            Err(BlobError::Altered { .. }) => {
                tracing::warn!(sha256 = %photo.sha256, "stored photo was altered; rewriting it");
            }
            Err(e) => return Err(e),
        }
        let temp = self.dir.join(format!(
            "{TEMP_PREFIX}{}-{}-{}",
            photo.sha256,
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let result = self.write_and_rename(&temp, &photo.jpeg, &self.path_of(&photo.sha256));
        if result.is_err() {
            // Best effort: a leftover is collected later as a stale temp file.
            let _ = fs::remove_file(&temp);
        }
        result.map_err(BlobError::from)
    }

    fn write_and_rename(&self, temp: &Path, bytes: &[u8], dst: &Path) -> io::Result<()> {
        step("create_temp");
        let mut f = OpenOptions::new().write(true).create_new(true).open(temp)?;
        step("write");
        f.write_all(bytes)?;
        step("fsync_file");
        f.sync_all()?;
        drop(f);
        step("rename");
        fs::rename(temp, dst)?;
        sync_dir(&self.dir)
    }

    /// Reads a photo and checks it still hashes to its name.
    pub fn read_verified(&self, sha256: &str) -> Result<Vec<u8>, BlobError> {
        check_name(sha256)?;
        let bytes = fs::read(self.path_of(sha256)).map_err(|e| missing_or(e, sha256))?;
        let found = hex::encode(Sha256::digest(&bytes));
        if found != sha256 {
            return Err(BlobError::Altered {
                expected: sha256.to_owned(),
                found,
            });
        }
        Ok(bytes)
    }

    /// Checks a stored photo without keeping it in memory; returns its size in bytes
    /// (what the upload manifest declares).
    pub fn verify(&self, sha256: &str) -> Result<u64, BlobError> {
        check_name(sha256)?;
        let mut f = File::open(self.path_of(sha256)).map_err(|e| missing_or(e, sha256))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let found = hex::encode(hasher.finalize());
        if found != sha256 {
            return Err(BlobError::Altered {
                expected: sha256.to_owned(),
                found,
            });
        }
        Ok(size)
    }

    /// Deletes every `<sha256>.jpg` whose hash is not in `live`, and temporary files
    /// of crashed writes older than one hour. Other files are left alone. Returns how
    /// many files were deleted.
    ///
    /// The caller must make sure no photo is between [`Self::put`] and being recorded
    /// in `live` (for example by holding the queue's write lock), or that photo would
    /// be collected.
    pub fn collect_orphans(&self, live: &HashSet<String>) -> Result<usize, BlobError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let doomed = if let Some(stem) = name.strip_suffix(".jpg") {
                is_sha256_hex(stem) && !live.contains(stem)
            } else if name.starts_with(TEMP_PREFIX) {
                let modified = entry.metadata()?.modified()?;
                now.duration_since(modified)
                    .is_ok_and(|age| age > STALE_TEMP_AGE)
            } else {
                false
            };
            if doomed {
                match fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    // Removed concurrently: the goal is reached.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if removed > 0 {
            sync_dir(&self.dir)?;
            tracing::info!(removed, "orphan photo files collected");
        }
        Ok(removed)
    }
}

fn missing_or(e: io::Error, sha256: &str) -> BlobError {
    if e.kind() == io::ErrorKind::NotFound {
        BlobError::Missing {
            sha256: sha256.to_owned(),
        }
    } else {
        e.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postcso_photo::sha256_hex;

    fn photo(content: &[u8]) -> ProcessedPhoto {
        ProcessedPhoto {
            jpeg: content.to_vec(),
            width: 1,
            height: 1,
            sha256: sha256_hex(content),
            exif_location: None,
        }
    }

    fn take_steps() -> Vec<&'static str> {
        STEPS.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }

    #[test]
    fn put_writes_temp_fsyncs_renames_and_fsyncs_dir() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = PhotoStore::open(&tmp.path().join("photos")).expect("open");
        assert_eq!(take_steps(), ["fsync_dir"], "open fsyncs the parent");
        let p = photo(b"first photo");
        store.put(&p).expect("put");
        assert_eq!(
            take_steps(),
            ["create_temp", "write", "fsync_file", "rename", "fsync_dir"]
        );
        assert_eq!(
            fs::read(store.path_of(&p.sha256)).expect("read"),
            b"first photo"
        );
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(store.dir())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().into_string().expect("utf8"))
            .collect();
        assert_eq!(names, [format!("{}.jpg", p.sha256)]);

        // Idempotent: a second put of a valid copy writes nothing.
        store.put(&p).expect("put again");
        assert!(take_steps().is_empty());

        // An altered copy is repaired by the next put.
        fs::write(store.path_of(&p.sha256), b"garbage").expect("damage");
        store.put(&p).expect("repair");
        assert_eq!(take_steps().len(), 5);
        assert_eq!(
            store.read_verified(&p.sha256).expect("read"),
            b"first photo"
        );
    }

    #[test]
    fn put_refuses_bytes_that_do_not_match_their_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = PhotoStore::open(tmp.path()).expect("open");
        let mut p = photo(b"abc");
        p.jpeg = b"abd".to_vec();
        assert!(matches!(store.put(&p), Err(BlobError::Altered { .. })));
        p.sha256 = "../../etc/passwd".into();
        assert!(matches!(store.put(&p), Err(BlobError::InvalidName)));
        assert!(matches!(store.verify("ABC"), Err(BlobError::InvalidName)));
        assert!(matches!(
            store.read_verified(&"A".repeat(64)),
            Err(BlobError::InvalidName)
        ));
    }
}
