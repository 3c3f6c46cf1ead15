//! Why the photo pipeline refused or failed on an input.
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
