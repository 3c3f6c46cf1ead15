//! Errors of the photo pipeline and of the photo blob store.
//!
//! Messages never carry pixel data, file contents or positions, so they can be logged
//! and shown to the carrier as they are.

use std::io;

/// Why a photo could not be turned into a report photo. Each variant maps to one thing
/// the app can tell the carrier ("the photo is incomplete, take it again", "this format
/// must be converted first", ...), so callers match on it instead of parsing text.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The input has zero bytes: typically a camera intent that was cancelled.
    #[error("the photo is empty (0 bytes)")]
    Empty,
    /// The file ends before the image does (interrupted copy or download). Refused
    /// rather than sent half grey.
    #[error("the photo is truncated: its data ends before the image does")]
    Truncated,
    /// The bytes are not an image in any format we know.
    #[error("the file is not an image")]
    NotAnImage,
    /// A known image format that the core does not decode; the platform side must
    /// convert it first (HEIC on iPhones, for example). JPEG variants the decoder
    /// does not read are named too (`"jpeg-12bit"`), so the message never asks
    /// for a JPEG to be converted to "JPEG".
    #[error("{format} images are not supported; convert to an 8-bit JPEG or PNG first")]
    UnsupportedFormat {
        /// Short lowercase name of the format, e.g. `"heic"`, `"gif"`, `"webp"`,
        /// `"jpeg-12bit"`, `"jpeg-unknown-colorspace"`.
        format: &'static str,
    },
    /// The input is larger than [`super::PhotoOptions::max_input_bytes`].
    #[error("the photo is {bytes} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input in bytes.
        bytes: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The header declares more pixels than [`super::PhotoOptions::max_input_pixels`];
    /// refused before decoding so that a tiny "decompression bomb" cannot exhaust memory.
    #[error("the photo declares {pixels} pixels, over the limit of {limit}")]
    TooManyPixels {
        /// Width times height as declared in the header.
        pixels: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The photo file could not be read (missing, permission denied, I/O error).
    #[error("the photo file could not be read: {0}")]
    Unreadable(#[source] io::Error),
    /// The decoder rejected the data for a reason other than truncation.
    #[error("the photo is corrupt and cannot be decoded")]
    Corrupt,
    /// The options are unusable (zero size, quality outside 1..=100); a programming
    /// error in the caller, not a property of the photo.
    #[error("invalid photo options: {reason}")]
    InvalidOptions {
        /// Which option is wrong.
        reason: &'static str,
    },
    /// Resizing or encoding failed on a valid image (in practice: out of memory).
    #[error("the photo could not be re-encoded ({stage})")]
    Internal {
        /// The pipeline stage that failed.
        stage: &'static str,
    },
}

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
