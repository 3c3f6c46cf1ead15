//! Reports and their photo manifests as the station stores them: the
//! idempotent delivery, reading a report, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use serde::Serialize;
use uuid::Uuid;

use super::{Actor, RepoError, StationId};

/// A photo of a report's manifest and whether its bytes have arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

/// Reports: phones deliver them, staff read them, supervisors triage them.
#[async_trait]
pub trait ReportStore: Send + Sync {
    /// Stores a report exactly once, with its `created` feed entry and
    /// `report.create` audit row; see [`PutOutcome`].
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError>;
    /// A report of the station, if it exists there.
    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError>;
    /// Sets a report's review status and reason, with its audit row and feed
    /// entry in the same transaction. `None` when the report is not in the station.
    async fn set_report_status(
        &self,
        station: StationId,
        id: ReportId,
        status: ReviewStatus,
        reason: Option<String>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError>;
}
