//! S3-compatible object storage for photo blobs:
//! `<prefix>/blobs/ab/abcdef…`, one object per SHA-256. Requests are signed
//! by `rusty-s3` (sans-IO SigV4) and sent by the station's own outbound
//! client ([`crate::egress`]).
//!
//! Several station processes may share one bucket. Keys are the content's
//! hash, so two stations storing the same bytes write the same object with
//! the same bytes, and nothing is ever deleted or overwritten with other
//! content. Reading a blob is authorised through a station's own report (see
//! `http::photos`), never by key alone.
//!
//! A put is atomic for readers: a single PUT for photos up to
//! [`S3Options::multipart_threshold`], a multipart upload (visible only when
//! completed, aborted on failure) above it. Its size is checked after.
//!
//! - `settings`: flags over the `AWS_*` environment; endpoint and addressing;
//! - `api`: the S3 operations, signed and sent;
//! - `multipart`: the parts of a large photo, in parallel.

mod api;
mod multipart;
mod settings;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::AsyncReadExt;

pub use settings::S3Options;

use super::{Blob, BlobError, BlobPut, BlobStore, check_key};
use crate::egress::{Egress, EgressConfig};
use crate::fsync::sync_dir;
use api::S3Api;

/// S3's smallest part (but the last).
const MIN_PART: usize = 5 * 1024 * 1024;

/// Blobs in an S3-compatible bucket under a key prefix.
#[derive(Clone)]
pub struct S3BlobStore {
    api: Arc<S3Api>,
    bucket: String,
    /// No leading or trailing `/`; may be empty.
    prefix: String,
    multipart_threshold: usize,
}

/// By hand: the credentials stay out of it.
impl std::fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("location", &self.describe())
            .field("multipart_threshold", &self.multipart_threshold)
            .finish_non_exhaustive()
    }
}

impl S3BlobStore {
    /// Connects (lazily: the first request opens a connection) to `bucket`,
    /// keeping blobs under `prefix` (may be empty), with credentials, region
    /// and endpoint from `options` over the `AWS_*` environment.
    pub fn connect(bucket: &str, prefix: &str, options: &S3Options) -> Result<Self, BlobError> {
        Self::connect_with(bucket, prefix, options, |name| std::env::var(name).ok())
    }

    /// [`S3BlobStore::connect`] reading the environment through `var`.
    fn connect_with(
        bucket: &str,
        prefix: &str,
        options: &S3Options,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, BlobError> {
        let prefix = prefix.trim_matches('/');
        if prefix
            .split('/')
            .any(|segment| matches!(segment, "." | ".."))
            || prefix.contains("//")
        {
            return Err(BlobError::Config(format!("bad key prefix: {prefix}")));
        }
        let settings = settings::resolve(bucket, options, var)?;
        let egress = Egress::new(EgressConfig {
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: options.request_timeout,
            retry_budget: options.request_timeout,
            max_retries: 3,
            stall_timeout: options.request_timeout,
            allow_http: settings.allow_http,
            ..EgressConfig::default()
        })
        .map_err(|e| BlobError::Config(e.to_string()))?;
        Ok(Self {
            api: Arc::new(S3Api { settings, egress }),
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            multipart_threshold: options.multipart_threshold.max(MIN_PART),
        })
    }

    /// `name` under the prefix.
    fn under_prefix(&self, name: &str) -> String {
        if self.prefix.is_empty() {
            name.to_owned()
        } else {
            format!("{}/{name}", self.prefix)
        }
    }

    /// A key no blob ever has (blobs live under `blobs/`), for readiness.
    fn probe_key(&self) -> String {
        self.under_prefix("readiness-probe")
    }

    /// The object key of a blob: sharded like the data-dir store, so a
    /// listing of one shard stays small.
    pub fn key_of(&self, sha256: &str) -> Result<String, BlobError> {
        check_key(sha256)?;
        Ok(self.under_prefix(&format!("blobs/{}/{sha256}", &sha256[..2])))
    }

    /// `s3://bucket/prefix`, for logs (never credentials).
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn upload(&self, key: &str, file: &Path, len: u64) -> Result<(), BlobError> {
        let mut source = tokio::fs::File::open(file).await?;
        if len <= self.multipart_threshold as u64 {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            source.read_to_end(&mut bytes).await?;
            return self.api.put(key, Bytes::from(bytes)).await;
        }
        multipart::upload(&self.api, key, source, self.multipart_threshold).await
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put_file(&self, sha256: &str, file: &Path) -> Result<BlobPut, BlobError> {
        let key = self.key_of(sha256)?;
        let len = tokio::fs::metadata(file).await?.len();
        let outcome = match self.api.head(&key).await? {
            Some(size) if size == len => BlobPut::AlreadyPresent,
            _ => {
                self.upload(&key, file, len).await?;
                match self.api.head(&key).await? {
                    Some(size) if size == len => {}
                    stored => {
                        return Err(BlobError::Unavailable(format!(
                            "the store holds {} bytes of {len} after a put",
                            stored.unwrap_or(0)
                        )));
                    }
                }
                BlobPut::Stored
            }
        };
        tokio::fs::remove_file(file).await?;
        if let Some(dir) = file.parent().map(Path::to_owned) {
            tokio::task::spawn_blocking(move || sync_dir(&dir))
                .await
                .map_err(|e| BlobError::Io(std::io::Error::other(e)))??;
        }
        Ok(outcome)
    }

    async fn put_bytes(&self, sha256: &str, bytes: Bytes) -> Result<BlobPut, BlobError> {
        let key = self.key_of(sha256)?;
        if self.api.head(&key).await? == Some(bytes.len() as u64) {
            return Ok(BlobPut::AlreadyPresent);
        }
        // One PUT: S3 makes the object visible whole or not at all.
        self.api.put(&key, bytes).await?;
        Ok(BlobPut::Stored)
    }

    async fn ready(&self) -> Result<(), BlobError> {
        // A HEAD of a key that never exists: "not found" proves the bucket
        // answers and the credentials work.
        self.api.head(&self.probe_key()).await.map(drop)
    }

    async fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        let key = self.key_of(sha256)?;
        Ok(self.api.head(&key).await?.is_some())
    }

    async fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        let key = self.key_of(sha256)?;
        let Some(answer) = self.api.get(&key).await? else {
            return Ok(None);
        };
        let len = answer.content_length().ok_or_else(|| {
            BlobError::Unavailable("GET answered without a Content-Length".into())
        })?;
        Ok(Some(Blob {
            len,
            reader: Box::pin(answer.into_reader()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_env(name: &str) -> Option<String> {
        match name {
            "AWS_ACCESS_KEY_ID" => Some("id".into()),
            "AWS_SECRET_ACCESS_KEY" => Some("a-secret-never-shown".into()),
            _ => None,
        }
    }

    fn store(prefix: &str) -> Result<S3BlobStore, BlobError> {
        let options = S3Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            allow_http: true,
            ..S3Options::default()
        };
        S3BlobStore::connect_with("photos", prefix, &options, test_env)
    }

    #[test]
    fn keys_are_sharded_under_the_prefix_and_bad_keys_never_reach_the_store() {
        let store = store("/seoul/").expect("store");
        let key = "ab".repeat(32);
        assert_eq!(
            store.key_of(&key).expect("key"),
            format!("seoul/blobs/ab/{key}")
        );
        assert!(matches!(
            store.key_of("../../x"),
            Err(BlobError::InvalidKey)
        ));
        assert_eq!(store.describe(), "s3://photos/seoul");
        let flat = super::tests::store("").expect("store");
        assert_eq!(flat.key_of(&key).expect("key"), format!("blobs/ab/{key}"));
        for bad in ["a/../b", "a//b", "./a"] {
            assert!(matches!(store_err(bad), BlobError::Config(_)), "{bad}");
        }
    }

    fn store_err(prefix: &str) -> BlobError {
        store(prefix).expect_err("refused")
    }

    #[test]
    fn debug_shows_the_location_and_never_the_secret() {
        let shown = format!("{:?}", store("seoul").expect("store"));
        assert!(shown.contains("s3://photos/seoul"), "{shown}");
        assert!(!shown.contains("a-secret-never-shown"), "{shown}");
    }
}
