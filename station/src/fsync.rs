//! Durability helpers for files the station writes outside the database.
//!
//! A rename is only durable once the directory holding it is fsynced, so
//! every "write temp, fsync, rename" in the station ends with [`sync_dir`].

use std::path::Path;

/// Fsyncs a directory so renames and removals inside it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Whether an I/O error means the disk (or quota) is full.
pub fn is_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}
