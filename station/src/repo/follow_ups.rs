//! Follow-ups: a report a phone sends to add photos or a note to a report it
//! already sent (`follow_up_of` in the sealed content). It is stored like any
//! report (same idempotent delivery), names its parent, and its first
//! delivery appends a `follow_up` feed entry for the parent so the
//! supervisors' console hears of it.

use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use uuid::Uuid;

use super::columns::Columns;
use super::feed::NewChange;
use super::{RepoError, ReportEventKind, StoredReport};

/// A follow-up as its parent's view lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    /// The follow-up report.
    pub id: ReportId,
    /// Its `created_at` (the phone's clock), in UTC.
    pub created_at: DateTime<Utc>,
    /// When the station stored it.
    pub received_at: DateTime<Utc>,
    /// Photos in its manifest.
    pub photos: u32,
}

/// A follow-up read back: `id, created_at, received_at, photos`.
pub(crate) fn follow_up_from(row: &impl Columns) -> Result<FollowUp, RepoError> {
    Ok(FollowUp {
        id: row.report_id(0)?,
        created_at: row.time(1)?,
        received_at: row.time(2)?,
        photos: u32::try_from(row.count(3)?).unwrap_or(u32::MAX),
    })
}

/// The rule for a follow-up's parent: a report of the same station (the
/// caller looked it up there) filed by the same device, and not the
/// follow-up itself. Anything else is an unknown parent, the same answer
/// whether the report exists elsewhere or not at all, so the refusal tells a
/// phone nothing about other devices' reports.
pub fn is_valid_parent(parent: &StoredReport, follow_up: ReportId, device: Uuid) -> bool {
    parent.id != follow_up && parent.device_id == device
}

/// The feed entry a follow-up's first delivery appends for its parent.
pub(crate) fn parent_change(report: &StoredReport) -> Option<NewChange> {
    report.content.follow_up_of.map(|parent| NewChange::Report {
        report: parent,
        event: ReportEventKind::FollowUp,
    })
}
