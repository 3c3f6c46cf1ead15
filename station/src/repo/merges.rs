//! Merging duplicates: a report about a place someone already reported is
//! folded into that report, in one step. The merged report becomes `merged`,
//! names the report it was folded into (`merged_into`) and carries the
//! message its carrier reads; the kept report shows the merged report's
//! photos as related photos, read through `merged_into`, so its own sealed
//! content never changes. Both reports get an audit row; the merged report's
//! carrier hears of it through the changes feed.
//!
//! The rules live here once ([`check_merge`]); a backend loads and locks the
//! two reports in one transaction, asks the rules, and writes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use serde_json::json;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::{ActionLog, NewChange};
use super::reports::{StoredPhoto, photo_from};
use super::{Actor, RepoError, ReportEventKind, StationId, StatusChange, StoredReport};

/// Why a merge was refused; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MergeRefusal {
    /// The report to merge is not in the station.
    #[error("no such report")]
    NotFound,
    /// A report cannot be merged into itself.
    #[error("a report cannot be merged into itself")]
    IntoItself,
    /// The report to keep is not a report of the station (unknown, or
    /// another station's: not said which).
    #[error("the report to merge into is not a report of this station")]
    TargetUnknown,
    /// The report to keep was itself merged, into `.0`: merge into that one.
    #[error("the report to merge into was itself merged, into {0}")]
    TargetMerged(ReportId),
    /// The report was already merged, into another report (`.0`).
    #[error("the report is already merged, into {0}")]
    AlreadyMerged(ReportId),
    /// The report changed since the version the merge was decided on.
    #[error("the report changed; it is now at version {current}")]
    Stale {
        /// Its version now.
        current: u64,
    },
}

/// What a merge did.
#[derive(Debug, Clone, PartialEq)]
pub enum MergeOutcome {
    /// The report is merged (or already was, into the same report: then
    /// `changed` is false and nothing was written).
    Merged(Box<StatusChange>),
    /// Refused; nothing was written.
    Refused(MergeRefusal),
}

/// The merge rules, on the two reports as they are inside the merge's
/// transaction (`target` is `None` when the station has no such report):
/// `Ok(true)` to merge, `Ok(false)` when it is already merged into `target`
/// (a repeat: nothing to write), or why not.
///
/// The version is checked first, as for any decision: a merge decided on a
/// version that is no longer current is refused whatever else holds.
pub fn check_merge(
    report: &StoredReport,
    target: Option<&StoredReport>,
    seen: Option<u64>,
) -> Result<bool, MergeRefusal> {
    if let Err(RepoError::Stale { current }) = StatusChange::check_version(report, seen) {
        return Err(MergeRefusal::Stale { current });
    }
    let Some(target) = target else {
        return Err(MergeRefusal::TargetUnknown);
    };
    if target.id == report.id {
        return Err(MergeRefusal::IntoItself);
    }
    if target.station_id != report.station_id {
        return Err(MergeRefusal::TargetUnknown);
    }
    if target.status == ReviewStatus::Merged {
        // A merged report points on; a report whose pointer was lost (an
        // older status set by hand) still cannot take others.
        return Err(MergeRefusal::TargetMerged(
            target.merged_into.unwrap_or(target.id),
        ));
    }
    if report.status == ReviewStatus::Merged {
        return match report.merged_into {
            Some(into) if into == target.id => Ok(false),
            Some(into) => Err(MergeRefusal::AlreadyMerged(into)),
            None => Ok(true),
        };
    }
    Ok(true)
}

/// A photo of a report merged into another, as the kept report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelatedPhoto {
    /// The merged report the photo belongs to (served at its photo URL).
    pub from: ReportId,
    /// The photo in that report's manifest.
    pub photo: StoredPhoto,
}

/// A related photo read back: `position, sha256, size, content_type,
/// received` (as [`photo_from`] reads them), then the report's id.
pub(crate) fn related_photo_from(row: &impl Columns) -> Result<RelatedPhoto, RepoError> {
    Ok(RelatedPhoto {
        from: row.report_id(5)?,
        photo: photo_from(row)?,
    })
}

/// The reports merged into a report, directly or through reports merged
/// into those, as a recursive common table expression named `merged(id)`
/// (the same text on both backends: `{station}` and `{report}` are the
/// backend's placeholders). Only reports still `merged` count, so a report
/// taken back out of a merge by a later decision shows nothing any more.
pub(crate) fn merged_into_cte(station: &str, report: &str) -> String {
    format!(
        "WITH RECURSIVE merged(id) AS (
             SELECT id FROM reports
             WHERE station_id = {station} AND merged_into = {report} AND status = 'merged'
             UNION
             SELECT r.id FROM reports r JOIN merged m ON r.merged_into = m.id
             WHERE r.station_id = {station} AND r.status = 'merged')"
    )
}

impl ActionLog {
    /// `report.merge` on the merged report (its status, reason and the report
    /// it went into), and the `status` feed entry its carrier sees.
    pub(crate) fn report_merged(
        actor: Actor,
        before: &StoredReport,
        into: ReportId,
        reason: &str,
    ) -> Self {
        let from = json!({
            "status": before.status.as_str(),
            "reason": before.status_reason,
            "merged_into": before.merged_into,
        });
        let to = json!({
            "status": ReviewStatus::Merged.as_str(),
            "reason": reason,
            "merged_into": into,
        });
        Self {
            actor,
            audit: AuditRecord::new("report.merge", "report", before.id, Some(from), to),
            change: Some(NewChange::Report {
                report: before.id,
                event: ReportEventKind::Status,
            }),
        }
    }

    /// `report.merged_in` on the kept report: which report was folded into
    /// it. Its own content and status do not change, so no feed entry.
    pub(crate) fn report_merged_in(actor: Actor, kept: ReportId, merged: ReportId) -> Self {
        Self {
            actor,
            audit: AuditRecord::new(
                "report.merged_in",
                "report",
                kept,
                None,
                json!({ "merged": merged }),
            ),
            change: None,
        }
    }
}

/// Merging duplicates, and reading what merged reports bring to the kept one.
#[async_trait]
pub trait MergeStore: Send + Sync {
    /// Merges report `id` into report `into` of the station, with `reason`
    /// as the message its carrier reads, if the report is at version
    /// `if_version` (when given) and [`check_merge`] allows it: status,
    /// pointer, the two audit rows and the feed entry in one transaction,
    /// both reports locked.
    #[allow(clippy::too_many_arguments)]
    async fn merge_report(
        &self,
        station: StationId,
        id: ReportId,
        into: ReportId,
        reason: String,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, RepoError>;
    /// The photos of the reports merged into `report` (directly or through
    /// reports merged into those), by their report's arrival then position.
    async fn related_photos(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<RelatedPhoto>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::{PlacedDistrict, Placement};
    use postcso_model::{ReportContent, content_hash};
    use uuid::Uuid;

    fn report(station: StationId) -> StoredReport {
        let content: ReportContent = serde_json::from_value(json!({
            "id": ReportId::new(),
            "category": "crime_risk",
            "location": {"lat": 37.56, "lon": 126.93, "accuracy_m": 5.0,
                         "fix_time": "2026-12-01T00:00:00Z", "source": "gps"},
            "created_at": "2026-12-01T09:00:00+09:00",
            "photos": [],
        }))
        .expect("content");
        let hash = content_hash(&content);
        let placement = Placement {
            district: Some(PlacedDistrict {
                code: "11410".into(),
                name: "서대문구".into(),
            }),
            zones: Vec::new(),
            outside_jurisdiction: false,
            boundary_distance_m: None,
        };
        StoredReport::received(
            station,
            Uuid::new_v4(),
            content,
            hash,
            placement,
            Utc::now(),
        )
    }

    #[test]
    fn the_rules_refuse_self_other_stations_merged_targets_and_stale_versions() {
        let station = StationId(Uuid::new_v4());
        let a = report(station);
        let b = report(station);
        assert_eq!(check_merge(&a, Some(&b), Some(1)), Ok(true));
        assert_eq!(
            check_merge(&a, Some(&a), None),
            Err(MergeRefusal::IntoItself)
        );
        assert_eq!(
            check_merge(&a, None, None),
            Err(MergeRefusal::TargetUnknown)
        );
        let elsewhere = report(StationId(Uuid::new_v4()));
        assert_eq!(
            check_merge(&a, Some(&elsewhere), None),
            Err(MergeRefusal::TargetUnknown)
        );
        assert_eq!(
            check_merge(&a, Some(&b), Some(2)),
            Err(MergeRefusal::Stale { current: 1 }),
            "the version first"
        );
        let c = report(station);
        let mut merged_b = b.clone();
        merged_b.status = ReviewStatus::Merged;
        merged_b.merged_into = Some(c.id);
        assert_eq!(
            check_merge(&a, Some(&merged_b), None),
            Err(MergeRefusal::TargetMerged(c.id))
        );
        // Already merged: into the same report is a repeat, elsewhere a refusal.
        assert_eq!(check_merge(&merged_b, Some(&c), None), Ok(false));
        assert_eq!(
            check_merge(&merged_b, Some(&a), None),
            Err(MergeRefusal::AlreadyMerged(c.id))
        );
    }
}
