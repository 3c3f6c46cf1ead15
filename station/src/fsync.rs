//! Durability helpers for files the station writes outside the database.
//!
//! A rename is only durable once the directory holding it is fsynced, so
//! every "write temp, fsync, rename" in the station ends with [`sync_dir`].
//! [`start_writeback`] lets the disk work while a request body still arrives.

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

/// Asks the kernel to start writing `len` bytes at `offset` of `file` to disk
/// now, without waiting (Linux `sync_file_range(SYNC_FILE_RANGE_WRITE)`), so
/// the fsync that makes them durable later finds most of them written. Only a
/// hint: it promises nothing, errors are ignored, other systems skip it.
pub fn start_writeback(file: &std::fs::File, offset: u64, len: u64) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
            return;
        };
        // SAFETY: the descriptor stays open for the borrow of `file`, and the
        // call reads nothing but its integer arguments.
        let _ = unsafe {
            libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE)
        };
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, offset, len);
    }
}
