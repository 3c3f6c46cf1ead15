//! Resumable photo uploads: the storage side of the tus protocol.
//!
//! Bytes stream into a part file and into a running SHA-256. The offset in the
//! database moves only after the bytes are fsynced, together with the hasher's
//! state, so after a crash or a dropped connection the offset is exactly the
//! bytes durably written. When the last byte arrives the whole upload's hash is
//! checked against the report's manifest: a mismatch discards the upload, a
//! match moves the file into the blob store and marks the photo received.
//!
//! The HTTP layer (`http::uploads`) only translates headers and status codes.

pub mod checksum;
mod hashing;
mod locks;
pub mod metadata;
mod parts;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::blob::{BlobError, BlobStore};
use crate::repo::{NewUpload, RepoError, Repository, StationId, Upload};
use checksum::Checksum;
use locks::Locks;
use metadata::PhotoMetadata;
use parts::{PartFiles, PartWriter};

/// Limits and lifetimes of uploads.
#[derive(Debug, Clone)]
pub struct UploadConfig {
    /// How long an upload stays usable after creation, and a finished one
    /// stays answerable after completion.
    pub expiry: chrono::Duration,
    /// Bytes written between fsync-and-record checkpoints inside one PATCH
    /// (without a checksum), bounding what a server crash can lose.
    pub checkpoint_bytes: u64,
    /// Longest wait for the next piece of a request body.
    pub read_timeout: Duration,
    /// Longest wait for another request on the same upload to finish.
    pub lock_wait: Duration,
    /// Largest photo taken whole from its creation request in memory, straight
    /// into the blob store (no part file); larger ones stream to disk.
    pub whole_request_max: u64,
}

impl Default for UploadConfig {
    fn default() -> Self {
        Self {
            expiry: chrono::Duration::hours(24),
            checkpoint_bytes: 4 * 1024 * 1024,
            read_timeout: Duration::from_secs(60),
            lock_wait: Duration::from_secs(5),
            whole_request_max: 1024 * 1024,
        }
    }
}

/// Why an upload request failed; the HTTP layer maps each to a status.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// No such upload for this device (404).
    #[error("no such upload")]
    NotFound,
    /// The upload expired (410).
    #[error("the upload has expired")]
    Expired,
    /// The report does not exist, or is not this device's (404).
    #[error("no such report")]
    ReportNotFound,
    /// The report's manifest lists no photo with this hash and size (422).
    #[error("the report's manifest lists no photo with this sha256 and length")]
    NotInManifest,
    /// More bytes than allowed or announced (413).
    #[error("the upload is larger than allowed or announced")]
    TooLarge,
    /// `Upload-Offset` differs from the stored offset (409).
    #[error("Upload-Offset does not match the upload's offset {offset}")]
    OffsetMismatch {
        /// The stored offset.
        offset: u64,
    },
    /// Another request on the same upload is still running (423).
    #[error("another request on this upload is still running")]
    Locked,
    /// The request body does not match `Upload-Checksum` (460).
    #[error("the body does not match Upload-Checksum")]
    ChecksumMismatch,
    /// The body with an `Upload-Checksum` ended early; nothing was kept (400).
    #[error("the request body ended early; with a checksum nothing is kept")]
    IncompleteBody,
    /// The whole upload's SHA-256 is not the manifest's: discarded (422).
    #[error("the upload's SHA-256 does not match the manifest; it was discarded")]
    HashMismatch,
    /// No space left for part files or blobs (507).
    #[error("storage is full")]
    Full,
    /// Object storage is unreachable for now; the bytes are kept (503).
    #[error("photo storage is unavailable: {0}")]
    Unavailable(String),
    /// The database failed.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// Any other I/O failure.
    #[error("upload I/O error: {0}")]
    Io(std::io::Error),
}

impl From<std::io::Error> for UploadError {
    fn from(e: std::io::Error) -> Self {
        if crate::fsync::is_full(&e) {
            Self::Full
        } else {
            Self::Io(e)
        }
    }
}

impl From<BlobError> for UploadError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::Full(_) => Self::Full,
            BlobError::InvalidKey => Self::NotInManifest,
            BlobError::Unavailable(why) => Self::Unavailable(why),
            BlobError::Config(why) => Self::Io(std::io::Error::other(why)),
            BlobError::Io(e) => Self::Io(e),
        }
    }
}

/// One PATCH (or the body of a creation-with-upload POST).
pub struct AppendRequest {
    /// Caller's station.
    pub station: StationId,
    /// Caller's device.
    pub device: Uuid,
    /// Upload id from the path.
    pub id: String,
    /// `Upload-Offset`.
    pub offset: u64,
    /// `Content-Length`, when sent.
    pub content_length: Option<u64>,
    /// `Upload-Checksum`, when sent.
    pub checksum: Option<Checksum>,
    /// The streamed body.
    pub body: Body,
}

/// A creation request carrying the whole photo.
pub struct WholeRequest {
    /// Caller's station.
    pub station: StationId,
    /// Caller's device.
    pub device: Uuid,
    /// What `Upload-Metadata` said.
    pub meta: PhotoMetadata,
    /// `Upload-Length`, equal to the body's `Content-Length`.
    pub length: u64,
    /// `Upload-Checksum`, when sent.
    pub checksum: Option<Checksum>,
    /// The streamed body.
    pub body: Body,
}

/// The upload service, shared by all requests.
pub struct Uploads {
    repo: Arc<dyn Repository>,
    blobs: Arc<dyn BlobStore>,
    parts: PartFiles,
    locks: Locks,
    max_size: u64,
    config: UploadConfig,
}

enum Chunk {
    Data(Bytes),
    End,
    Broken,
}

async fn next_chunk(body: &mut Body, timeout: Duration) -> Chunk {
    loop {
        match tokio::time::timeout(timeout, body.frame()).await {
            Ok(Some(Ok(frame))) => match frame.into_data() {
                Ok(data) if data.is_empty() => continue,
                Ok(data) => return Chunk::Data(data),
                Err(_trailers) => continue,
            },
            Ok(None) => return Chunk::End,
            Ok(Some(Err(_))) | Err(_) => return Chunk::Broken,
        }
    }
}

/// How a body stream ended.
enum End {
    Complete,
    ClientGone,
    TooLarge,
    Failed(UploadError),
}

impl Uploads {
    /// Builds the service with part files in `parts_dir` (created if
    /// missing). `max_size` is the largest photo a manifest may list.
    pub fn new(
        repo: Arc<dyn Repository>,
        blobs: Arc<dyn BlobStore>,
        parts_dir: &Path,
        max_size: u64,
        config: UploadConfig,
    ) -> std::io::Result<Self> {
        Ok(Self {
            repo,
            blobs,
            parts: PartFiles::open(parts_dir)?,
            locks: Locks::default(),
            max_size,
            config,
        })
    }

    /// Largest upload, advertised as `Tus-Max-Size`.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Whether a creation request whose body is announced as `content_length`
    /// bytes carries the whole photo of `length` bytes and is small enough
    /// for [`Uploads::create_whole`].
    pub fn takes_whole(&self, length: u64, content_length: Option<u64>) -> bool {
        content_length == Some(length) && length <= self.config.whole_request_max
    }

    /// Refuses a photo the caller's report does not list with exactly
    /// `length` bytes.
    async fn check_manifest(
        &self,
        station: StationId,
        device: Uuid,
        meta: &PhotoMetadata,
        length: u64,
    ) -> Result<(), UploadError> {
        if length > self.max_size {
            return Err(UploadError::TooLarge);
        }
        let report = self
            .repo
            .report(station, meta.report_id)
            .await?
            .filter(|r| r.device_id == device)
            .ok_or(UploadError::ReportNotFound)?;
        if report
            .photos
            .iter()
            .any(|p| p.sha256 == meta.sha256 && p.size == length)
        {
            Ok(())
        } else {
            Err(UploadError::NotInManifest)
        }
    }

    fn new_upload(
        &self,
        station: StationId,
        device: Uuid,
        meta: PhotoMetadata,
        length: u64,
        now: DateTime<Utc>,
    ) -> NewUpload {
        NewUpload {
            id: Uuid::new_v4().simple().to_string(),
            station_id: station,
            device_id: device,
            report_id: meta.report_id,
            sha256: meta.sha256,
            length,
            created_at: now,
            expires_at: now + self.config.expiry,
        }
    }

    /// Creates an upload for a photo the caller's report lists with exactly
    /// `length` bytes.
    pub async fn create(
        &self,
        station: StationId,
        device: Uuid,
        meta: PhotoMetadata,
        length: u64,
        now: DateTime<Utc>,
    ) -> Result<Upload, UploadError> {
        self.check_manifest(station, device, &meta, length).await?;
        let new = self.new_upload(station, device, meta, length, now);
        let id = new.id.clone();
        self.parts.create(&id).await?;
        let created = self.repo.create_upload(new).await;
        match created {
            Ok(upload) => {
                tracing::info!(upload_id = %upload.id, report_id = %upload.report_id, length, "upload created");
                Ok(upload)
            }
            Err(e) => {
                let _ = self.parts.remove(&id).await;
                Err(e.into())
            }
        }
    }

    /// Creation-with-upload of a whole photo (see [`Uploads::takes_whole`]):
    /// the body is read into memory and checked (`Upload-Checksum`, then the
    /// manifest's SHA-256) before anything is stored; then the blob is stored
    /// and the upload recorded finished in one commit. Three fsyncs instead
    /// of the seven of a part file. A body that breaks off, or fails a check,
    /// leaves nothing behind: the client never learnt an upload URL, and
    /// creates again. Runs in its own task once the body is read, so a client
    /// hanging up cannot stop it between the blob and the commit.
    pub async fn create_whole(
        self: &Arc<Self>,
        request: WholeRequest,
        now: DateTime<Utc>,
    ) -> Result<Upload, UploadError> {
        let WholeRequest {
            station,
            device,
            meta,
            length,
            checksum,
            mut body,
        } = request;
        // The manifest lookup (a database read) runs while the body arrives;
        // a report that is unknown or does not list the photo is answered at
        // once, without reading the rest of the body.
        let ((), (bytes, hasher, checksum)) = tokio::try_join!(
            self.check_manifest(station, device, &meta, length),
            self.read_whole(&mut body, length, checksum),
        )?;
        if checksum.is_some_and(|c| !c.matches()) {
            return Err(UploadError::ChecksumMismatch);
        }
        if hex::encode(hasher.finalize()) != meta.sha256 {
            tracing::warn!(report_id = %meta.report_id,
                "whole upload refused: its SHA-256 does not match the manifest");
            metrics::counter!("photo_uploads_rejected_total").increment(1);
            return Err(UploadError::HashMismatch);
        }
        let this = Arc::clone(self);
        let new = self.new_upload(station, device, meta, length, now);
        tokio::spawn(async move { this.store_whole(new, bytes.freeze()).await })
            .await
            .map_err(|e| UploadError::Io(std::io::Error::other(e)))?
    }

    /// Reads a body of exactly `length` bytes into memory, hashing it (and
    /// feeding `Upload-Checksum`'s hasher) as it arrives.
    async fn read_whole(
        &self,
        body: &mut Body,
        length: u64,
        mut checksum: Option<Checksum>,
    ) -> Result<(bytes::BytesMut, Sha256, Option<Checksum>), UploadError> {
        let mut bytes = bytes::BytesMut::with_capacity(usize::try_from(length).unwrap_or(0));
        let mut hasher = Sha256::new();
        loop {
            match next_chunk(body, self.config.read_timeout).await {
                Chunk::Data(data) => {
                    if (bytes.len() + data.len()) as u64 > length {
                        return Err(UploadError::TooLarge);
                    }
                    hasher.update(&data);
                    if let Some(c) = checksum.as_mut() {
                        c.update(&data);
                    }
                    bytes.extend_from_slice(&data);
                }
                Chunk::End if bytes.len() as u64 == length => {
                    return Ok((bytes, hasher, checksum));
                }
                Chunk::End | Chunk::Broken => return Err(UploadError::IncompleteBody),
            }
        }
    }

    async fn store_whole(&self, new: NewUpload, bytes: Bytes) -> Result<Upload, UploadError> {
        let length = new.length;
        self.blobs.put_bytes(&new.sha256, bytes).await?;
        let (now, keep_until) = (new.created_at, new.expires_at);
        let (upload, done) = self
            .repo
            .create_completed_upload(new, now, keep_until)
            .await?;
        metrics::counter!("photo_upload_bytes_total").increment(length);
        metrics::counter!("photo_uploads_completed_total").increment(1);
        tracing::info!(upload_id = %upload.id, report_id = %upload.report_id, length,
            newly_received = done.newly_received, report_complete = done.report_complete,
            "upload completed in one request");
        Ok(upload)
    }

    /// The caller's upload, unless unknown, someone else's, or expired.
    async fn find(
        &self,
        station: StationId,
        device: Uuid,
        id: &str,
    ) -> Result<Upload, UploadError> {
        let upload = self
            .repo
            .upload(station, id)
            .await?
            .filter(|u| u.device_id == device)
            .ok_or(UploadError::NotFound)?;
        if upload.is_expired(Utc::now()) {
            return Err(UploadError::Expired);
        }
        Ok(upload)
    }

    /// The durable state of an upload (HEAD), finishing one that a crash left
    /// between its last byte and its completion.
    pub async fn status(
        &self,
        station: StationId,
        device: Uuid,
        id: &str,
    ) -> Result<Upload, UploadError> {
        let upload = self.find(station, device, id).await?;
        if upload.completed_at.is_some()
            || (upload.offset < upload.length && self.parts.exists(id).await?)
        {
            return Ok(upload);
        }
        let _guard = self
            .locks
            .acquire(id, self.config.lock_wait)
            .await
            .ok_or(UploadError::Locked)?;
        let upload = self.find(station, device, id).await?;
        self.reconcile(upload).await
    }

    /// Appends a request body. Runs in its own task so a client that hangs up
    /// cannot cancel it half-way: what reached the disk is fsynced and recorded.
    pub async fn append(self: &Arc<Self>, request: AppendRequest) -> Result<Upload, UploadError> {
        let this = Arc::clone(self);
        tokio::spawn(async move { this.append_locked(request).await })
            .await
            .map_err(|e| UploadError::Io(std::io::Error::other(e)))?
    }

    async fn append_locked(&self, request: AppendRequest) -> Result<Upload, UploadError> {
        let AppendRequest {
            station,
            device,
            id,
            offset,
            content_length,
            checksum,
            mut body,
        } = request;
        let _guard = self
            .locks
            .acquire(&id, self.config.lock_wait)
            .await
            .ok_or(UploadError::Locked)?;
        let upload = self.find(station, device, &id).await?;
        let upload = self.reconcile(upload).await?;
        if offset != upload.offset {
            return Err(UploadError::OffsetMismatch {
                offset: upload.offset,
            });
        }
        if content_length.is_some_and(|n| upload.offset.saturating_add(n) > upload.length) {
            return Err(UploadError::TooLarge);
        }
        if upload.completed_at.is_some() {
            return match next_chunk(&mut body, self.config.read_timeout).await {
                Chunk::Data(_) => Err(UploadError::TooLarge),
                _ => Ok(upload),
            };
        }
        let mut file = self.parts.open_at(&id, upload.offset).await?;
        let path = self.parts.path(&id);
        let state = upload.hash_state.clone();
        let mut hasher =
            tokio::task::spawn_blocking(move || hashing::restore(state.as_deref(), &path, offset))
                .await
                .map_err(|e| UploadError::Io(std::io::Error::other(e)))??;

        let mut checksum = checksum;
        let checkpoints = checksum.is_none();
        let mut durable = upload.offset;
        let mut at = upload.offset;
        let end = loop {
            match next_chunk(&mut body, self.config.read_timeout).await {
                Chunk::Data(bytes) => {
                    let len = bytes.len() as u64;
                    if at + len > upload.length {
                        break End::TooLarge;
                    }
                    hasher.update(&bytes);
                    if let Some(c) = checksum.as_mut() {
                        c.update(&bytes);
                    }
                    if let Err(e) = file.write(bytes).await {
                        break End::Failed(e.into());
                    }
                    at += len;
                    if checkpoints && at - durable >= self.config.checkpoint_bytes {
                        if let Err(e) = self.persist(&upload, &mut file, at, &hasher).await {
                            break End::Failed(e);
                        }
                        durable = at;
                    }
                }
                Chunk::End => break End::Complete,
                Chunk::Broken => break End::ClientGone,
            }
        };
        let refused = match end {
            End::Complete | End::ClientGone if checksum.is_none() => None,
            End::Complete => match checksum.take().map(Checksum::matches) {
                Some(false) => Some(UploadError::ChecksumMismatch),
                _ => None,
            },
            End::ClientGone => Some(UploadError::IncompleteBody),
            End::TooLarge => Some(UploadError::TooLarge),
            End::Failed(e) => Some(e),
        };
        if let Some(error) = refused {
            // Nothing past the last recorded offset is kept.
            if let Err(e) = file.cut(durable).await {
                tracing::warn!(upload_id = %id, error = %e, "could not cut a refused body off the part file");
            }
            return Err(error);
        }
        if at > durable {
            // The last byte: `finish` records the completion right after, so
            // only the data must reach the disk before the blob is moved in.
            // Recording the offset too would cost one more commit per photo;
            // a crash before completion leaves the last recorded offset,
            // which the client (not yet answered) resumes from.
            let saved = if at == upload.length {
                file.sync().await.map_err(UploadError::from)
            } else {
                self.persist(&upload, &mut file, at, &hasher).await
            };
            if let Err(e) = saved {
                // The offset stays where it was; so do the bytes.
                if let Err(cut) = file.cut(durable).await {
                    tracing::warn!(upload_id = %id, error = %cut, "could not cut unrecorded bytes off the part file");
                }
                return Err(e);
            }
        }
        drop(file);
        metrics::counter!("photo_upload_bytes_total").increment(at - upload.offset);
        let upload = Upload {
            offset: at,
            ..upload
        };
        if at == upload.length {
            let state = hashing::save(&hasher);
            let station = upload.station_id;
            return match self.finish(upload, hasher).await {
                Err(e) if at > durable && !matches!(e, UploadError::HashMismatch) => {
                    // The bytes are on disk but their offset was not recorded
                    // (see above): record it now, so HEAD or a restart retries
                    // the completion instead of asking for the bytes again.
                    if let Err(r) = self
                        .repo
                        .record_upload_progress(station, &id, at, Some(state))
                        .await
                    {
                        tracing::warn!(upload_id = %id, error = %r, "could not record a finished body whose completion failed");
                    }
                    Err(e)
                }
                finished => finished,
            };
        }
        Ok(upload)
    }

    /// Fsyncs the part file, then records the offset and hasher state.
    async fn persist(
        &self,
        upload: &Upload,
        file: &mut PartWriter,
        offset: u64,
        hasher: &Sha256,
    ) -> Result<(), UploadError> {
        file.sync().await?;
        self.repo
            .record_upload_progress(
                upload.station_id,
                &upload.id,
                offset,
                Some(hashing::save(hasher)),
            )
            .await?;
        Ok(())
    }

    /// Checks the whole upload's hash and turns it into a received photo, or
    /// discards it.
    async fn finish(&self, upload: Upload, hasher: Sha256) -> Result<Upload, UploadError> {
        let digest = hex::encode(hasher.finalize());
        if digest != upload.sha256 {
            tracing::warn!(upload_id = %upload.id, report_id = %upload.report_id,
                "upload discarded: its SHA-256 does not match the manifest");
            metrics::counter!("photo_uploads_rejected_total").increment(1);
            self.repo
                .delete_upload(upload.station_id, &upload.id)
                .await?;
            self.parts.remove(&upload.id).await?;
            return Err(UploadError::HashMismatch);
        }
        self.blobs
            .put_file(&upload.sha256, &self.parts.path(&upload.id))
            .await?;
        self.complete(upload).await
    }

    /// Records a finished upload whose blob is stored.
    async fn complete(&self, upload: Upload) -> Result<Upload, UploadError> {
        let now = Utc::now();
        let done = self
            .repo
            .complete_upload(upload.station_id, &upload.id, now, now + self.config.expiry)
            .await?;
        metrics::counter!("photo_uploads_completed_total").increment(1);
        tracing::info!(upload_id = %upload.id, report_id = %upload.report_id,
            newly_received = done.newly_received, report_complete = done.report_complete,
            "upload completed");
        self.repo
            .upload(upload.station_id, &upload.id)
            .await?
            .ok_or(UploadError::NotFound)
    }

    /// Repairs what a crash can leave behind. Call with the upload's lock held.
    /// - the last byte recorded but the blob not moved: finish it now;
    /// - the part file gone but the blob stored: complete it;
    /// - the part file gone and no blob: start over from offset 0.
    async fn reconcile(&self, upload: Upload) -> Result<Upload, UploadError> {
        if upload.completed_at.is_some() {
            return Ok(upload);
        }
        if !self.parts.exists(&upload.id).await? {
            if self.blobs.contains(&upload.sha256).await? {
                return self.complete(upload).await;
            }
            tracing::warn!(upload_id = %upload.id, "part file missing; the upload restarts at 0");
            self.parts.create(&upload.id).await?;
            self.repo
                .record_upload_progress(upload.station_id, &upload.id, 0, None)
                .await?;
            return Ok(Upload {
                offset: 0,
                hash_state: None,
                ..upload
            });
        }
        if upload.offset == upload.length {
            let path = self.parts.path(&upload.id);
            let state = upload.hash_state.clone();
            let offset = upload.offset;
            let hasher = tokio::task::spawn_blocking(move || {
                hashing::restore(state.as_deref(), &path, offset)
            })
            .await
            .map_err(|e| UploadError::Io(std::io::Error::other(e)))??;
            return self.finish(upload, hasher).await;
        }
        Ok(upload)
    }

    /// Terminates an upload (tus termination): the row and the part file go.
    /// A finished upload's photo stays received.
    pub async fn terminate(
        &self,
        station: StationId,
        device: Uuid,
        id: &str,
    ) -> Result<(), UploadError> {
        let _guard = self
            .locks
            .acquire(id, self.config.lock_wait)
            .await
            .ok_or(UploadError::Locked)?;
        self.find(station, device, id).await?;
        self.repo.delete_upload(station, id).await?;
        self.parts.remove(id).await?;
        tracing::info!(upload_id = %id, "upload terminated");
        Ok(())
    }

    /// Removes expired uploads and their part files; returns how many.
    pub async fn sweep_expired(&self, now: DateTime<Utc>) -> Result<usize, UploadError> {
        let ids = self.repo.remove_expired_uploads(now).await?;
        for id in &ids {
            self.parts.remove(id).await?;
        }
        if !ids.is_empty() {
            tracing::info!(count = ids.len(), "expired uploads removed");
        }
        Ok(ids.len())
    }

    /// Startup recovery: expired uploads go, part files without an unfinished
    /// upload go, and unfinished uploads are reconciled with their files.
    pub async fn recover(&self, now: DateTime<Utc>) -> Result<(), UploadError> {
        self.sweep_expired(now).await?;
        let uploads = self.repo.all_uploads().await?;
        for id in self.parts.ids().await? {
            let unfinished = uploads
                .iter()
                .any(|u| u.id == id && u.completed_at.is_none());
            if !unfinished {
                tracing::info!(upload_id = %id, "removing a part file no upload needs");
                self.parts.remove(&id).await?;
            }
        }
        for upload in uploads.into_iter().filter(|u| u.completed_at.is_none()) {
            let id = upload.id.clone();
            let _guard = self.locks.acquire(&id, self.config.lock_wait).await;
            if let Err(e) = self.reconcile(upload).await {
                tracing::warn!(upload_id = %id, error = %e, "could not recover an upload");
            }
        }
        Ok(())
    }
}
