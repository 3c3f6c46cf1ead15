//! Errors of the phone's photo blob store.
//!
//! Messages never carry file contents, so they can be logged and shown to the
//! carrier as they are.

use std::io;

/// Why the photo blob store could not store or return a photo. The queue needs to tell
/// "disk full" (ask the carrier to free space, keep the report) from "file gone" and
/// "file altered" (re-process or flag the report) from other I/O failures.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// No blob with this hash is stored.
    #[error("photo {sha256} is missing from the photo store")]
    Missing {
        /// The requested hash.
        sha256: String,
    },
    /// The stored bytes no longer hash to their name (disk corruption or tampering),
    /// or the bytes handed to `put` do not match their declared hash.
    #[error("photo {expected} is altered: its bytes hash to {found}")]
    Altered {
        /// The hash the blob is named after.
        expected: String,
        /// The hash of the bytes actually found.
        found: String,
    },
    /// The name is not a lowercase 64-digit hex SHA-256; refused so that a name taken
    /// from a database or the network can never escape the store directory.
    #[error("not a valid photo hash")]
    InvalidName,
    /// The device is out of storage (`ENOSPC`, or a quota).
    #[error("the device storage is full")]
    StorageFull,
    /// Any other I/O failure.
    #[error("photo store I/O error: {0}")]
    Io(#[source] io::Error),
}

impl From<io::Error> for BlobError {
    fn from(e: io::Error) -> Self {
        /// `ENOSPC` on Linux, Android, macOS and iOS alike.
        const ENOSPC: i32 = 28;
        if e.raw_os_error() == Some(ENOSPC)
            || matches!(
                e.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            )
        {
            BlobError::StorageFull
        } else {
            BlobError::Io(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_maps_to_storage_full() {
        let e = BlobError::from(io::Error::from_raw_os_error(28));
        assert!(matches!(e, BlobError::StorageFull), "{e:?}");
        let e = BlobError::from(io::Error::from(io::ErrorKind::StorageFull));
        assert!(matches!(e, BlobError::StorageFull), "{e:?}");
    }

    #[test]
    fn other_io_errors_stay_io() {
        // EACCES (13) and EIO (5).
        for code in [13, 5] {
            let e = BlobError::from(io::Error::from_raw_os_error(code));
            assert!(matches!(e, BlobError::Io(_)), "{code}: {e:?}");
        }
    }
}
