//! S3-compatible object storage for photo blobs, through the `object_store`
//! crate: `<prefix>/blobs/ab/abcdef…`, one object per SHA-256.
//!
//! Several station processes may share one bucket. Keys are the content's
//! hash, so two stations storing the same bytes write the same object with
//! the same bytes, and nothing is ever deleted or overwritten with other
//! content. Reading a blob is authorised through a station's own report (see
//! `http::photos`), never by key alone.
//!
//! A put is atomic for readers: a single PUT for photos up to
//! [`S3Options::multipart_threshold`], a multipart upload (visible only when
//! completed, aborted on failure) above it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig, WriteMultipart,
};
use tokio::io::AsyncReadExt;
use tokio_util::io::StreamReader;

use super::{Blob, BlobError, BlobPut, BlobStore, check_key};
use crate::fsync::sync_dir;

/// Bytes read from a part file per multipart write.
const READ_CHUNK: usize = 1024 * 1024;

/// Parts of one multipart upload in flight at once.
const PART_CONCURRENCY: usize = 4;

/// How to reach the object store, beyond what the standard `AWS_*`
/// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`)
/// already say. Flags win over the environment.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// An S3-compatible endpoint (MinIO, Ceph, a cloud provider's), instead
    /// of AWS's regional one.
    pub endpoint: Option<String>,
    /// The bucket's region.
    pub region: Option<String>,
    /// Allow `http://` endpoints (a loopback test server only).
    pub allow_http: bool,
    /// Photos larger than this go up as a multipart upload in parts of this
    /// size (S3 needs at least 5 MiB per part).
    pub multipart_threshold: usize,
    /// How long one request (with its retries) may take before the station
    /// answers 503; short, because a phone is waiting.
    pub request_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            allow_http: false,
            multipart_threshold: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(20),
        }
    }
}

/// Blobs in an S3-compatible bucket under a key prefix.
#[derive(Clone)]
pub struct S3BlobStore {
    store: Arc<dyn ObjectStore>,
    bucket: String,
    prefix: ObjectPath,
    multipart_threshold: usize,
}

/// By hand: the client's own `Debug` would print its credentials.
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
    /// keeping blobs under `prefix` (may be empty).
    pub fn connect(bucket: &str, prefix: &str, options: &S3Options) -> Result<Self, BlobError> {
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: options.request_timeout,
            ..RetryConfig::default()
        };
        let client = ClientOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(options.request_timeout);
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_retry(retry)
            .with_client_options(client);
        if let Some(endpoint) = &options.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        if let Some(region) = &options.region {
            builder = builder.with_region(region);
        }
        if options.allow_http {
            builder = builder.with_allow_http(true);
        }
        let store = builder
            .build()
            .map_err(|e| BlobError::Config(e.to_string()))?;
        let prefix = ObjectPath::parse(prefix.trim_matches('/'))
            .map_err(|e| BlobError::Config(format!("bad key prefix: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            bucket: bucket.to_owned(),
            prefix,
            multipart_threshold: options.multipart_threshold.max(5 * 1024 * 1024),
        })
    }

    /// A key no blob ever has (blobs live under `blobs/`), for readiness.
    fn probe_key(&self) -> ObjectPath {
        self.prefix.clone().join("readiness-probe")
    }

    /// The object key of a blob: sharded like the data-dir store, so a
    /// listing of one shard stays small.
    pub fn key_of(&self, sha256: &str) -> Result<ObjectPath, BlobError> {
        check_key(sha256)?;
        Ok(self
            .prefix
            .clone()
            .join("blobs")
            .join(&sha256[..2])
            .join(sha256))
    }

    /// `s3://bucket/prefix`, for logs (never credentials).
    pub fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    async fn upload(&self, key: &ObjectPath, file: &Path, len: u64) -> Result<(), BlobError> {
        let mut source = tokio::fs::File::open(file).await?;
        if len <= self.multipart_threshold as u64 {
            let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
            source.read_to_end(&mut bytes).await?;
            self.store
                .put(key, PutPayload::from(bytes))
                .await
                .map_err(unavailable)?;
            return Ok(());
        }
        let upload = self.store.put_multipart(key).await.map_err(unavailable)?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, self.multipart_threshold);
        let copied = async {
            loop {
                let mut chunk = BytesMut::with_capacity(READ_CHUNK);
                while chunk.len() < READ_CHUNK {
                    if source.read_buf(&mut chunk).await? == 0 {
                        break;
                    }
                }
                if chunk.is_empty() {
                    return Ok::<(), BlobError>(());
                }
                writer
                    .wait_for_capacity(PART_CONCURRENCY)
                    .await
                    .map_err(unavailable)?;
                writer.put(chunk.freeze());
            }
        }
        .await;
        match copied {
            Ok(()) => {
                writer.finish().await.map_err(unavailable)?;
                Ok(())
            }
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "could not abort a failed multipart upload");
                }
                Err(e)
            }
        }
    }
}

/// Every object store failure but "not found" is the store being away or
/// refusing for now: the client is told to retry (503).
fn unavailable(e: object_store::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put_file(&self, sha256: &str, file: &Path) -> Result<BlobPut, BlobError> {
        let key = self.key_of(sha256)?;
        let len = tokio::fs::metadata(file).await?.len();
        let outcome = match self.store.head(&key).await {
            Ok(meta) if meta.size == len => BlobPut::AlreadyPresent,
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {
                self.upload(&key, file, len).await?;
                let stored = self.store.head(&key).await.map_err(unavailable)?;
                if stored.size != len {
                    return Err(BlobError::Unavailable(format!(
                        "the store holds {} bytes of {len} after a put",
                        stored.size
                    )));
                }
                BlobPut::Stored
            }
            Err(e) => return Err(unavailable(e)),
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
        let len = bytes.len() as u64;
        match self.store.head(&key).await {
            Ok(meta) if meta.size == len => return Ok(BlobPut::AlreadyPresent),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(unavailable(e)),
        }
        // One PUT: S3 makes the object visible whole or not at all.
        self.store
            .put(&key, PutPayload::from(bytes))
            .await
            .map_err(unavailable)?;
        Ok(BlobPut::Stored)
    }

    async fn ready(&self) -> Result<(), BlobError> {
        // A HEAD of a key that never exists: "not found" proves the bucket
        // answers and the credentials work.
        match self.store.head(&self.probe_key()).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn contains(&self, sha256: &str) -> Result<bool, BlobError> {
        let key = self.key_of(sha256)?;
        match self.store.head(&key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn open(&self, sha256: &str) -> Result<Option<Blob>, BlobError> {
        let key = self.key_of(sha256)?;
        let got = match self.store.get(&key).await {
            Ok(got) => got,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(unavailable(e)),
        };
        let len = got.meta.size;
        let stream = got.into_stream().map_err(std::io::Error::other);
        Ok(Some(Blob {
            len,
            reader: Box::pin(StreamReader::new(stream)),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_sharded_under_the_prefix_and_bad_keys_never_reach_the_store() {
        let options = S3Options {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            allow_http: true,
            ..S3Options::default()
        };
        let store = S3BlobStore::connect("photos", "/seoul/", &options).expect("store");
        let key = "ab".repeat(32);
        assert_eq!(
            store.key_of(&key).expect("key").as_ref(),
            format!("seoul/blobs/ab/{key}")
        );
        assert!(matches!(
            store.key_of("../../x"),
            Err(BlobError::InvalidKey)
        ));
        assert_eq!(store.describe(), "s3://photos/seoul");
        let flat = S3BlobStore::connect("photos", "", &options).expect("store");
        assert_eq!(
            flat.key_of(&key).expect("key").as_ref(),
            format!("blobs/ab/{key}")
        );
    }
}
