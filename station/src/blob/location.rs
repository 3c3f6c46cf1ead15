//! `--blob-store`: where verified photo blobs live.
//!
//! - absent: `DATA_DIR/blobs` (one station on one machine);
//! - a path or `file:///path`: a directory, e.g. a separate volume;
//! - `s3://bucket/prefix`: S3-compatible object storage, shared by any number
//!   of station processes (a region, the country).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use super::{BlobError, BlobStore, FsBlobStore, S3BlobStore, S3Options};

/// A parsed `--blob-store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobLocation {
    /// A directory on the local file system.
    Dir(PathBuf),
    /// A bucket of S3-compatible object storage, with a key prefix.
    S3 {
        /// The bucket.
        bucket: String,
        /// Keys start with this (no leading or trailing `/`; may be empty).
        prefix: String,
    },
}

/// Why a `--blob-store` value was refused.
#[derive(Debug, thiserror::Error)]
pub enum LocationError {
    /// A scheme other than `s3://` or `file://`.
    #[error("unsupported blob store `{0}`: use s3://bucket/prefix, file:///dir or a directory")]
    Scheme(String),
    /// Not a valid S3 bucket name.
    #[error("`{0}` is not a valid bucket name (3-63 of a-z, 0-9, `.`, `-`)")]
    Bucket(String),
    /// Empty.
    #[error("the blob store location is empty")]
    Empty,
}

fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl FromStr for BlobLocation {
    type Err = LocationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LocationError::Empty);
        }
        if let Some(rest) = text.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if !valid_bucket(bucket) {
                return Err(LocationError::Bucket(bucket.to_owned()));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        if let Some(path) = text.strip_prefix("file://") {
            return Ok(Self::Dir(PathBuf::from(path)));
        }
        match text.split_once("://") {
            Some((scheme, _)) => Err(LocationError::Scheme(scheme.to_owned())),
            None => Ok(Self::Dir(PathBuf::from(text))),
        }
    }
}

impl BlobLocation {
    /// The default: `DATA_DIR/blobs`.
    pub fn in_data_dir(data_dir: &Path) -> Self {
        Self::Dir(data_dir.join("blobs"))
    }

    /// Opens the store. Object storage is reached lazily: a bucket that is
    /// down now makes uploads wait (503), not the station fail to start.
    pub fn open(&self, s3: &S3Options) -> Result<Arc<dyn BlobStore>, BlobError> {
        match self {
            Self::Dir(dir) => Ok(Arc::new(FsBlobStore::open(dir)?)),
            Self::S3 { bucket, prefix } => Ok(Arc::new(S3BlobStore::connect(bucket, prefix, s3)?)),
        }
    }

    /// For logs: where blobs go (never credentials).
    pub fn describe(&self) -> String {
        match self {
            Self::Dir(dir) => dir.display().to_string(),
            Self::S3 { bucket, prefix } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_file_and_plain_locations_and_refuses_the_rest() {
        assert_eq!(
            "s3://postcso-photos/seoul/"
                .parse::<BlobLocation>()
                .expect("s3"),
            BlobLocation::S3 {
                bucket: "postcso-photos".into(),
                prefix: "seoul".into()
            }
        );
        assert_eq!(
            "s3://photos".parse::<BlobLocation>().expect("no prefix"),
            BlobLocation::S3 {
                bucket: "photos".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            "file:///mnt/blobs".parse::<BlobLocation>().expect("file"),
            BlobLocation::Dir("/mnt/blobs".into())
        );
        assert_eq!(
            "/srv/blobs".parse::<BlobLocation>().expect("dir"),
            BlobLocation::Dir("/srv/blobs".into())
        );
        assert!(matches!(
            "gs://bucket/x".parse::<BlobLocation>(),
            Err(LocationError::Scheme(s)) if s == "gs"
        ));
        for bad in ["s3://", "s3://Bad_Bucket/x", "s3://ab", "s3://-x-/p"] {
            assert!(
                matches!(bad.parse::<BlobLocation>(), Err(LocationError::Bucket(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            " ".parse::<BlobLocation>(),
            Err(LocationError::Empty)
        ));
    }
}
