//! Stored state of resumable (tus) photo uploads.
//!
//! The row is the durable truth about an upload: the offset counts only bytes
//! already fsynced in the part file, so a restart resumes exactly there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::{ActionLog, NewChange};
use super::{Actor, RepoError, ReportEventKind, StationId};

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

/// The columns an upload read selects, in the order [`upload_from`] reads them.
pub(crate) const UPLOAD_COLUMNS: &str = "id, station_id, device_id, report_id, sha256, length, \
     upload_offset, hash_state, created_at, expires_at, completed_at";

/// An upload read back ([`UPLOAD_COLUMNS`]).
pub(crate) fn upload_from(row: &impl Columns) -> Result<Upload, RepoError> {
    Ok(Upload {
        id: row.text(0)?,
        station_id: StationId(row.uuid(1)?),
        device_id: row.uuid(2)?,
        report_id: row.report_id(3)?,
        sha256: row.text(4)?,
        length: row.count(5)?,
        offset: row.count(6)?,
        hash_state: row.opt_bytes(7)?,
        created_at: row.time(8)?,
        expires_at: row.time(9)?,
        completed_at: row.opt_time(10)?,
    })
}

impl Upload {
    /// Until when a finished upload stays answerable: `keep_until`, but
    /// never less than it had when unfinished.
    pub(crate) fn kept_until(&self, keep_until: DateTime<Utc>) -> DateTime<Utc> {
        keep_until.max(self.expires_at)
    }
}

/// What completing an upload does, decided inside the completion
/// transaction once the photo row was updated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Completion {
    /// Whether the report's `complete` flag is to be set now.
    pub mark_report_complete: bool,
    /// The audit row and feed entry, when a photo was newly received.
    pub log: Option<ActionLog>,
    /// The answer to the caller.
    pub answer: UploadCompletion,
}

impl UploadCompletion {
    /// The answer for an upload that was completed before: nothing is written.
    pub(crate) fn repeated(report_complete: bool) -> Self {
        Self {
            newly_received: false,
            report_complete,
        }
    }
}

impl Completion {
    /// The completion rule. `received` says whether this upload's photo was
    /// newly marked received (another upload of the same photo may have been
    /// first), `missing` how many manifest photos are still missing after
    /// that, `was_complete` whether the report was complete before. The
    /// report becomes complete when nothing is missing; only a newly
    /// received photo is logged, as `complete` when it completed the report
    /// and as `photo` otherwise.
    pub(crate) fn decide(
        upload: &Upload,
        was_complete: bool,
        received: bool,
        missing: u64,
    ) -> Self {
        let now_complete = missing == 0;
        let completes = now_complete && !was_complete;
        let event = if completes {
            ReportEventKind::Complete
        } else {
            ReportEventKind::Photo
        };
        Self {
            mark_report_complete: completes,
            log: received
                .then(|| ActionLog::photo_received(upload, event, (was_complete, now_complete))),
            answer: UploadCompletion {
                newly_received: received,
                report_complete: now_complete,
            },
        }
    }
}

impl ActionLog {
    /// `report.photo_received` by the uploading device, and the report's
    /// `photo` or `complete` feed entry.
    fn photo_received(
        upload: &Upload,
        event: ReportEventKind,
        (was_complete, now_complete): (bool, bool),
    ) -> Self {
        let before =
            json!({ "sha256": upload.sha256, "received": false, "complete": was_complete });
        let after = json!({ "sha256": upload.sha256, "received": true, "complete": now_complete,
                            "upload_id": upload.id });
        Self {
            actor: Actor::device(upload.device_id),
            audit: AuditRecord::new(
                "report.photo_received",
                "report",
                upload.report_id,
                Some(before),
                after,
            ),
            change: Some(NewChange::Report {
                report: upload.report_id,
                event,
            }),
        }
    }
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
