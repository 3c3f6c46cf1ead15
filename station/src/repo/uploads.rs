//! Stored state of resumable (tus) photo uploads.
//!
//! The row is the durable truth about an upload: the offset counts only bytes
//! already fsynced in the part file, so a restart resumes exactly there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use uuid::Uuid;

use super::{RepoError, StationId};

/// A new upload, checked against the report's manifest by the caller.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// Random, unguessable id; also the part file's name.
    pub id: String,
    /// Tenant.
    pub station_id: StationId,
    /// The device that created it; only it may continue it.
    pub device_id: Uuid,
    /// The report whose manifest lists the photo.
    pub report_id: ReportId,
    /// The photo's SHA-256 from the manifest, lowercase hex.
    pub sha256: String,
    /// Total size in bytes (`Upload-Length`), equal to the manifest's size.
    pub length: u64,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When an unfinished upload is given up and cleaned away.
    pub expires_at: DateTime<Utc>,
}

/// An upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// Its id.
    pub id: String,
    /// Tenant.
    pub station_id: StationId,
    /// Owner device.
    pub device_id: Uuid,
    /// The report it belongs to.
    pub report_id: ReportId,
    /// Expected SHA-256 of the whole upload.
    pub sha256: String,
    /// Total size in bytes.
    pub length: u64,
    /// Bytes durably stored so far.
    pub offset: u64,
    /// Serialised SHA-256 state over the first `offset` bytes; `None` at 0 or
    /// when unknown (then the part file is re-hashed).
    pub hash_state: Option<Vec<u8>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// After this it answers 410 and is cleaned up.
    pub expires_at: DateTime<Utc>,
    /// Set once every byte arrived and matched the manifest.
    pub completed_at: Option<DateTime<Utc>>,
}

impl Upload {
    /// Whether the upload can no longer be used at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires_at <= now
    }
}

/// What completing an upload changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadCompletion {
    /// False when the photo had already arrived through another upload.
    pub newly_received: bool,
    /// Whether every photo of the report has now arrived.
    pub report_complete: bool,
}

/// Upload rows: the tus service creates, advances, completes and cleans
/// them up; completion is what marks a report's photo received.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Stores a new upload.
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError>;
    /// An upload of the station, expired or not (the caller decides).
    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError>;
    /// Records that the part file now durably holds `offset` bytes whose
    /// SHA-256 state is `hash_state`. Call only after the bytes are fsynced.
    /// The record itself may be lost in a power cut (it is not flushed on its
    /// own): the offset then moves back, which only costs re-sent bytes.
    /// `NotFound("upload")` when there is no unfinished upload of that id.
    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError>;
    /// Marks an upload done and its photo received (once), flips the report's
    /// `complete` when nothing is missing, and writes the audit row and feed
    /// entry, all in one transaction. The blob must already be stored. The
    /// finished upload stays answerable until `keep_until`. Idempotent.
    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError>;
    /// Stores an upload that arrived whole in its creation request, already
    /// finished: its row and the completion (as `complete_upload`) in one
    /// transaction, so a photo in one request costs one commit. The blob must
    /// already be stored.
    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError>;
    /// Deletes an upload row (termination, or a discarded upload). Returns
    /// whether it existed.
    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError>;
    /// Deletes every upload expired at `now` (unfinished ones, and finished
    /// ones past their keep time) and returns their ids, so their part files
    /// can be removed.
    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError>;
    /// Every upload, across stations: startup recovery checks the part files
    /// against them.
    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError>;
}
