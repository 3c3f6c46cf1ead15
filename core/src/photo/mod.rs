//! Photos on the phone: the pipeline (`postcso-photo`, re-exported here so
//! callers keep one path) turns a camera image into a small metadata-free JPEG,
//! and [`PhotoStore`] keeps it durably, by content hash, until it is uploaded.

mod error;
mod store;

pub use error::BlobError;
pub use postcso_photo::{
    ExifLocation, PhotoError, PhotoInput, PhotoOptions, ProcessedPhoto, process_photo,
};
pub use store::PhotoStore;
