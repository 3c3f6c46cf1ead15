//! Reports and their photo manifests as the station stores them: the
//! idempotent delivery, reading a report, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::{ActionLog, NewChange};
use super::follow_ups::FollowUp;
use super::places::{Placement, placement_from};
use super::{Actor, RepoError, ReportEventKind, StationId};

/// A photo of a report's manifest and whether its bytes have arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPhoto {
    /// Position in the carrier's order, from 0.
    pub position: u32,
    /// SHA-256 from the manifest.
    pub sha256: String,
    /// Size from the manifest.
    pub size: u64,
    /// Media type from the manifest.
    pub content_type: String,
    /// Whether the bytes arrived and matched the hash.
    pub received: bool,
}

/// A report as the station stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    /// The carrier's id for it.
    pub id: ReportId,
    /// Tenant.
    pub station_id: StationId,
    /// The device that delivered it: its owner for carrier-level access.
    pub device_id: Uuid,
    /// The content exactly as validated.
    pub content: ReportContent,
    /// [`postcso_model::content_hash`] of the content.
    pub content_hash: String,
    /// Review status.
    pub status: ReviewStatus,
    /// The supervisor's reason for the status, if one was given.
    pub status_reason: Option<String>,
    /// True once every photo of the manifest has arrived.
    pub complete: bool,
    /// When the station first stored it.
    pub received_at: DateTime<Utc>,
    /// The manifest with arrival state.
    pub photos: Vec<StoredPhoto>,
    /// Bumped by every change of the report (status, completion, each
    /// photo's arrival), by the database itself: what a decision says it was
    /// made on (`ETag` / `If-Match`), so a stale one is refused, never
    /// silently applied. 1 when first stored.
    pub version: u64,
    /// Where the station found it on arrival; `None` for a report stored
    /// before the station placed reports, until the startup backfill reaches it.
    pub placement: Option<Placement>,
    /// For a `merged` report: the report of the station it was folded into
    /// (see [`super::merges`]); `None` otherwise.
    pub merged_into: Option<ReportId>,
}

/// The result of an idempotent report PUT.
#[derive(Debug, Clone, PartialEq)]
pub enum PutOutcome {
    /// First delivery: stored now.
    Created(StoredReport),
    /// A retry of the same content by the same device: nothing changed.
    Unchanged(StoredReport),
    /// The id is taken by different content (or another device or station).
    Conflict,
}

/// The result of a triage decision.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    /// The status before.
    pub before: ReviewStatus,
    /// The report after (unchanged when `changed` is false).
    pub report: StoredReport,
    /// False when the report already had that status and reason: nothing
    /// was written, no audit row, no feed entry.
    pub changed: bool,
}

impl StoredReport {
    /// A report as a first delivery stores it: status `received`, no reason,
    /// no photo arrived yet (so complete only when the manifest is empty).
    /// `received_at` must be as the database keeps it ([`super::columns::micros`]).
    pub(crate) fn received(
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        placement: Placement,
        received_at: DateTime<Utc>,
    ) -> Self {
        let photos = content
            .photos
            .iter()
            .enumerate()
            .map(|(position, p)| StoredPhoto {
                position: u32::try_from(position).unwrap_or(u32::MAX),
                sha256: p.sha256.clone(),
                size: p.size,
                content_type: p.content_type.clone(),
                received: false,
            })
            .collect();
        Self {
            id: content.id,
            station_id: station,
            device_id,
            complete: content.photos.is_empty(),
            content,
            content_hash,
            status: ReviewStatus::Received,
            status_reason: None,
            received_at,
            photos,
            version: 1,
            placement: Some(placement),
            merged_into: None,
        }
    }

    /// The report's `created_at` in UTC, as its `created_at` column keeps it
    /// (to the microsecond): the time nearby reports and zones are judged by.
    pub(crate) fn created_at_utc(&self) -> DateTime<Utc> {
        super::columns::micros(self.content.created_at.with_timezone(&Utc))
    }
}

/// The report columns [`report_from`] reads, in its order (without a table alias).
pub(crate) const REPORT_COLUMNS: &str = "device_id, content_hash, content_json, status, complete, \
received_at, status_reason, district_code, district_name, zones_json, outside_jurisdiction, \
boundary_distance_m, version, merged_into";

/// A report read back, given its id, station and manifest: [`REPORT_COLUMNS`].
pub(crate) fn report_from(
    row: &impl Columns,
    station: StationId,
    id: ReportId,
    photos: Vec<StoredPhoto>,
) -> Result<StoredReport, RepoError> {
    Ok(StoredReport {
        id,
        station_id: station,
        device_id: row.uuid(0)?,
        content: row.json(2, "stored report")?,
        content_hash: row.text(1)?,
        status: ReviewStatus::from(row.text(3)?),
        status_reason: row.opt_text(6)?,
        complete: row.flag(4)?,
        received_at: row.time(5)?,
        photos,
        placement: placement_from(row, 7)?,
        version: row.count(12)?,
        merged_into: row.opt_uuid(13)?.map(ReportId::from),
    })
}

/// A manifest entry read back: `position, sha256, size, content_type, received`.
pub(crate) fn photo_from(row: &impl Columns) -> Result<StoredPhoto, RepoError> {
    Ok(StoredPhoto {
        position: u32::try_from(row.count(0)?).unwrap_or(u32::MAX),
        sha256: row.text(1)?,
        size: row.count(2)?,
        content_type: row.text(3)?,
        received: row.flag(4)?,
    })
}

/// Who holds a report id already, read back: `station_id, device_id,
/// content_hash`. A delivery of a taken id is compared with it.
pub(crate) struct ReportOwner {
    station: StationId,
    device: Uuid,
    content_hash: String,
}

impl ReportOwner {
    /// Reads the owner columns.
    pub(crate) fn from_row(row: &impl Columns) -> Result<Self, RepoError> {
        Ok(Self {
            station: StationId(row.uuid(0)?),
            device: row.uuid(1)?,
            content_hash: row.text(2)?,
        })
    }

    /// The idempotency rule: a delivery repeats the stored one when the same
    /// device of the same station sends the same content again; anything
    /// else under a taken id is a conflict, never a second row.
    pub(crate) fn is_retry(&self, station: StationId, device: Uuid, content_hash: &str) -> bool {
        self.station == station && self.device == device && self.content_hash == content_hash
    }
}

impl StatusChange {
    /// The concurrency rule: a decision made on version `seen` of a report
    /// that has changed since is refused ([`RepoError::Stale`]), whatever it
    /// decides, so nothing is silently overwritten. `None` (a client that
    /// does not say) is not checked.
    pub(crate) fn check_version(before: &StoredReport, seen: Option<u64>) -> Result<(), RepoError> {
        match seen {
            Some(seen) if seen != before.version => Err(RepoError::Stale {
                current: before.version,
            }),
            _ => Ok(()),
        }
    }

    /// The triage rule for a decision that sets the status and reason the
    /// report already has: nothing is written. `None` when it changes something.
    pub(crate) fn unchanged(
        before: &StoredReport,
        status: &ReviewStatus,
        reason: Option<&str>,
    ) -> Option<Self> {
        (before.status == *status && before.status_reason.as_deref() == reason).then(|| Self {
            before: before.status.clone(),
            report: before.clone(),
            changed: false,
        })
    }
}

impl ActionLog {
    /// `report.create` by the delivering device, and the `created` feed entry.
    pub(crate) fn report_created(report: &StoredReport) -> Self {
        let after = json!({
            "content_hash": report.content_hash,
            "category": report.content.category.as_str(),
            "photos": report.content.photos.len(),
            "status": report.status.as_str(),
            "follow_up_of": report.content.follow_up_of,
        });
        Self {
            actor: Actor::device(report.device_id),
            audit: AuditRecord::new("report.create", "report", report.id, None, after),
            change: Some(NewChange::Report {
                report: report.id,
                event: ReportEventKind::Created,
            }),
        }
    }

    /// `report.status` (triage, or an inspection's assignment), and the
    /// `status` feed entry, which the filing carrier sees.
    pub(crate) fn report_status(
        actor: Actor,
        before: &StoredReport,
        status: &ReviewStatus,
        reason: Option<&str>,
    ) -> Self {
        let from = json!({ "status": before.status.as_str(), "reason": before.status_reason });
        let to = json!({ "status": status.as_str(), "reason": reason });
        Self {
            actor,
            audit: AuditRecord::new("report.status", "report", before.id, Some(from), to),
            change: Some(NewChange::Report {
                report: before.id,
                event: ReportEventKind::Status,
            }),
        }
    }
}

/// Reports: phones deliver them, staff read them, supervisors triage them.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores a report exactly once, with where the station found it, its
    /// `created` feed entry and `report.create` audit row, and for a
    /// follow-up a `follow_up` feed entry of its parent (which the caller
    /// checked: [`super::is_valid_parent`]); see [`PutOutcome`]. A retry
    /// keeps the placement of the first delivery.
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        placement: Placement,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError>;
    /// A report of the station, if it exists there.
    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError>;
    /// The follow-ups of a report of the station, in arrival order.
    async fn follow_ups(
        &self,
        station: StationId,
        parent: ReportId,
    ) -> Result<Vec<FollowUp>, RepoError>;
    /// Sets a report's review status and reason, with its audit row and feed
    /// entry in the same transaction. `None` when the report is not in the
    /// station; [`RepoError::Stale`] when `if_version` is given and the report
    /// is at another version (checked under the write lock, before anything
    /// else, see [`StatusChange::check_version`]).
    #[allow(clippy::too_many_arguments)]
    async fn set_report_status(
        &self,
        station: StationId,
        id: ReportId,
        status: ReviewStatus,
        reason: Option<String>,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError>;
}
