//! Exports of the queue's reports (CSV and GeoJSON are written by the HTTP
//! layer): every report matching a queue filter, with the columns an export
//! needs, and the audit row each export leaves (who, which filter, how many
//! reports; never what was in them).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use serde_json::json;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::ActionLog;
use super::places::{Placement, placement_from};
use super::{Actor, QueueFilter, RepoError, StationId};

/// Most reports one export may hold: past this the caller is asked to
/// narrow the filter (a whole year of a busy station fits).
pub const MAX_EXPORT_ROWS: u32 = 100_000;

/// A report as an export writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    /// The report's id.
    pub id: ReportId,
    /// Review status now.
    pub status: ReviewStatus,
    /// The sealed content (created_at, category, position, note, photos).
    pub content: ReportContent,
    /// When the station stored it.
    pub received_at: DateTime<Utc>,
    /// The filing device's label, never a person's name.
    pub device_label: String,
    /// Where the station placed it on arrival (`None`: not placed yet).
    pub placement: Option<Placement>,
}

/// What an export's audit row records.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRecord {
    /// `csv` or `geojson`.
    pub format: &'static str,
    /// The filter, as the caller describes it (never the search text itself,
    /// which may hold personal data: only whether there was one).
    pub filter: serde_json::Value,
    /// Reports exported.
    pub count: u64,
    /// Whether notes were included.
    pub notes: bool,
    /// Whether device labels were included.
    pub labels: bool,
}

/// The columns of an export row, in the order [`export_row_from`] reads them.
pub(crate) const EXPORT_COLUMNS: &str = "r.id, r.status, r.content_json, r.received_at, d.label, \
     r.district_code, r.district_name, r.zones_json, r.outside_jurisdiction, r.boundary_distance_m";

/// An export row read back ([`EXPORT_COLUMNS`]).
pub(crate) fn export_row_from(row: &impl Columns) -> Result<ExportRow, RepoError> {
    Ok(ExportRow {
        id: row.report_id(0)?,
        status: ReviewStatus::from(row.text(1)?),
        content: row.json(2, "stored report")?,
        received_at: row.time(3)?,
        device_label: row.text(4)?,
        placement: placement_from(row, 5)?,
    })
}

impl ActionLog {
    /// `report.export` by the exporting user: format, filter, count and
    /// what was left out; never the reports' contents.
    pub(crate) fn report_export(actor: Actor, station: StationId, record: &ExportRecord) -> Self {
        let after = json!({
            "format": record.format,
            "filter": record.filter,
            "count": record.count,
            "notes": record.notes,
            "device_labels": record.labels,
        });
        Self {
            actor,
            audit: AuditRecord::new("report.export", "station", station, None, after),
            change: None,
        }
    }
}

/// Reading reports for an export, and recording that it was made.
#[async_trait]
pub trait ExportStore: Send + Sync {
    /// The station's reports matching `filter`, oldest first (ties by id),
    /// at most `limit` (the caller asks for one more than it will write, to
    /// tell a full export from a cut one).
    async fn export_reports(
        &self,
        station: StationId,
        filter: &QueueFilter,
        limit: u32,
    ) -> Result<Vec<ExportRow>, RepoError>;
    /// Appends the export's `report.export` audit row.
    async fn record_export(
        &self,
        station: StationId,
        actor: Actor,
        record: &ExportRecord,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError>;
}
