//! Stored state of resumable (tus) photo uploads.
//!
//! The row is the durable truth about an upload: the offset counts only bytes
//! already fsynced in the part file, so a restart resumes exactly there.

use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use uuid::Uuid;

use super::StationId;

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
