//! Spare files: empty files created ahead of time beside the blobs, so that
//! storing a photo does not wait for the file system to allocate an inode.
//!
//! Why: creating a file is usually cheap, but ext4 without a journal skips
//! every inode freed in the last minutes one by one (`recently_deleted`), and
//! on a disk that has just deleted many files a create took 0.5–0.7 ms here,
//! a third of a whole photo upload. The spares are made on the blocking pool
//! while the station waits for the network, and a put only writes, fsyncs and
//! renames one. When none is left a put creates its temp file as before.
//!
//! Each process keeps its spares in its own directory, `ROOT/.spares/<id>`,
//! locked (`flock`) while the process lives: an admin command opening the same
//! store never takes or removes a running server's spares, and a directory
//! whose lock is free and that has not changed for a minute belonged to a
//! process that is gone, so it is removed when a store opens.
//!
//! Durability is the temp file's: the data is fsynced before the rename and
//! the caller fsyncs the blob's directory after it. The spare's old name is
//! not fsynced away; if a crash brings it back, the next sweep unlinks it,
//! which leaves the blob's own name untouched.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// How many spares a store keeps ready: more than the uploads that complete
/// at once on a busy station, few enough to cost nothing on an idle one.
const SPARES: usize = 16;

/// How long an unlocked spare directory must have been unchanged before a
/// sweep removes it: far longer than a process takes from creating its
/// directory to locking it.
pub(super) const ABANDONED_AFTER: Duration = Duration::from_secs(60);

/// One empty file, already created, waiting to become a blob.
pub(super) struct Spare {
    path: PathBuf,
    file: File,
}

impl Spare {
    /// Writes `bytes`, fsyncs them and renames the file to `target`; the
    /// caller fsyncs `target`'s directory. On failure the file is removed.
    pub(super) fn place(self, bytes: &[u8], target: &Path) -> io::Result<()> {
        let Spare { path, mut file } = self;
        let placed = file
            .write_all(bytes)
            .and_then(|()| file.sync_data())
            .and_then(|()| std::fs::rename(&path, target));
        if placed.is_err() {
            let _ = std::fs::remove_file(&path);
        }
        placed
    }
}

/// This process's directory of spares, locked while it is held.
struct OwnDir {
    path: PathBuf,
    _lock: File,
}

#[derive(Default)]
struct Pool {
    dir: Option<OwnDir>,
    files: Vec<Spare>,
    next: u64,
}

/// The spares of one blob store.
pub(super) struct Spares {
    parent: PathBuf,
    pool: Mutex<Pool>,
    refilling: AtomicBool,
}

impl Spares {
    /// Spares under `blob_root/.spares`; nothing is created until the first
    /// [`Spares::take`], so admin commands that never store a blob leave no
    /// trace. Removes the spare directories of processes that are gone.
    pub(super) fn open(blob_root: &Path) -> Self {
        let parent = blob_root.join(".spares");
        sweep(&parent, ABANDONED_AFTER);
        Self {
            parent,
            pool: Mutex::new(Pool::default()),
            refilling: AtomicBool::new(false),
        }
    }

    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A spare if one is ready; starts making more on the blocking pool when
    /// the store runs low (only inside a tokio runtime).
    pub(super) fn take(self: &Arc<Self>) -> Option<Spare> {
        let (spare, low) = {
            let mut pool = self.pool();
            let spare = pool.files.pop();
            (spare, pool.files.len() < SPARES)
        };
        if low && !self.refilling.swap(true, Ordering::AcqRel) {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    let this = Arc::clone(self);
                    runtime.spawn_blocking(move || {
                        if let Err(e) = this.refill() {
                            tracing::warn!(error = %e, "could not make spare blob files");
                        }
                        this.refilling.store(false, Ordering::Release);
                    });
                }
                Err(_) => self.refilling.store(false, Ordering::Release),
            }
        }
        spare
    }

    /// Creates spares until the store holds [`SPARES`]; the creates run
    /// outside the lock, so puts never wait for them.
    fn refill(&self) -> io::Result<()> {
        loop {
            let path = {
                let mut pool = self.pool();
                if pool.files.len() >= SPARES {
                    return Ok(());
                }
                if pool.dir.is_none() {
                    pool.dir = Some(self.own_dir()?);
                }
                let number = pool.next;
                pool.next += 1;
                match &pool.dir {
                    Some(dir) => dir.path.join(number.to_string()),
                    None => return Ok(()),
                }
            };
            let file = File::options().write(true).create_new(true).open(&path)?;
            self.pool().files.push(Spare { path, file });
        }
    }

    /// Makes and locks this process's directory of spares.
    fn own_dir(&self) -> io::Result<OwnDir> {
        std::fs::create_dir_all(&self.parent)?;
        let path = self.parent.join(uuid::Uuid::new_v4().simple().to_string());
        std::fs::create_dir(&path)?;
        let lock = File::open(&path)?;
        lock.try_lock().map_err(io::Error::from)?;
        Ok(OwnDir { path, _lock: lock })
    }

    /// How many spares are ready (for tests).
    #[cfg(test)]
    fn ready(&self) -> usize {
        self.pool().files.len()
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        let pool = self.pool.get_mut().unwrap_or_else(|e| e.into_inner());
        pool.files.clear();
        if let Some(dir) = pool.dir.take() {
            let _ = std::fs::remove_dir_all(&dir.path);
        }
    }
}

/// Removes the spare directories under `parent` whose lock is free and that
/// have not changed for `older_than`: their process is gone. Best effort: a
/// directory that cannot be checked or removed now is left for the next one.
pub(super) fn sweep(parent: &Path, older_than: Duration) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(dir) = File::open(&path) else {
            continue;
        };
        let abandoned = dir
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|changed| {
                SystemTime::now()
                    .duration_since(changed)
                    .is_ok_and(|age| age >= older_than)
            });
        if abandoned && dir.try_lock().is_ok() {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => tracing::debug!(dir = %path.display(), "removed abandoned spare files"),
                Err(e) => tracing::warn!(dir = %path.display(), error = %e,
                    "could not remove abandoned spare files"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn wait_for_spares(spares: &Spares) {
        for _ in 0..200 {
            if spares.ready() >= SPARES {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the spares were not made");
    }

    #[tokio::test]
    async fn a_spare_becomes_the_blob_and_is_replaced() {
        let root = tempfile::tempdir().expect("dir");
        let spares = Arc::new(Spares::open(root.path()));
        assert!(spares.take().is_none(), "none before the first refill");
        wait_for_spares(&spares).await;
        let spare = spares.take().expect("a spare");
        let spare_path = spare.path.clone();
        let target = root.path().join("blob");
        spare.place(b"photo", &target).expect("place");
        assert_eq!(std::fs::read(&target).expect("read"), b"photo");
        assert!(!spare_path.exists(), "the spare was renamed, not copied");
        wait_for_spares(&spares).await;
        let dir = spare_path.parent().expect("dir").to_owned();
        drop(spares);
        assert!(!dir.exists(), "a store removes its spares when dropped");
    }

    #[tokio::test]
    async fn a_failed_place_removes_the_spare() {
        let root = tempfile::tempdir().expect("dir");
        let spares = Arc::new(Spares::open(root.path()));
        spares.take();
        wait_for_spares(&spares).await;
        let spare = spares.take().expect("a spare");
        let spare_path = spare.path.clone();
        let nowhere = root.path().join("missing").join("blob");
        assert!(spare.place(b"photo", &nowhere).is_err());
        assert!(!spare_path.exists());
    }

    #[tokio::test]
    async fn a_sweep_removes_only_spares_nobody_holds() {
        let root = tempfile::tempdir().expect("dir");
        let live = Arc::new(Spares::open(root.path()));
        live.take();
        wait_for_spares(&live).await;
        let abandoned = root.path().join(".spares").join("gone");
        std::fs::create_dir(&abandoned).expect("mkdir");
        std::fs::write(abandoned.join("0"), b"").expect("spare");

        sweep(&root.path().join(".spares"), Duration::ZERO);
        assert!(!abandoned.exists(), "an unlocked directory is removed");
        assert_eq!(live.ready(), SPARES, "a held one is kept");
        let spare = live.take().expect("still usable");
        spare
            .place(b"photo", &root.path().join("blob"))
            .expect("place");

        let recent = root.path().join(".spares").join("recent");
        std::fs::create_dir(&recent).expect("mkdir");
        sweep(&root.path().join(".spares"), ABANDONED_AFTER);
        assert!(
            recent.exists(),
            "a directory just made may not be locked yet"
        );
    }
}
