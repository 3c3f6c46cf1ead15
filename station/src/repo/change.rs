//! The changes feed's entries and audiences.
//!
//! Entries are written in the same transaction as the change they describe,
//! numbered per station, so a cursor (the last number seen) is monotonic and
//! nothing is ever skipped or seen half-done.

use chrono::{DateTime, Utc};
use postcso_core::model::{ReportId, ReviewStatus};
use uuid::Uuid;

/// What happened to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportEventKind {
    /// First stored.
    Created,
    /// A supervisor changed its review status.
    Status,
    /// A photo arrived, and more are missing.
    Photo,
    /// The last missing photo arrived.
    Complete,
    /// The assigned inspector recorded findings (supervisors only).
    Inspected,
}

impl ReportEventKind {
    /// The database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Status => "status",
            Self::Photo => "photo",
            Self::Complete => "complete",
            Self::Inspected => "inspected",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "created" => Self::Created,
            "status" => Self::Status,
            "photo" => Self::Photo,
            "complete" => Self::Complete,
            "inspected" => Self::Inspected,
            _ => return None,
        })
    }
}

/// Who reads the feed, which decides what it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A carrier's phone: the category list, the zone list, and status or
    /// completeness changes of its own reports.
    Device(Uuid),
    /// Supervisors: every report event of the station, and the category list.
    Station,
    /// Other staff: the category list only.
    CategoriesOnly,
}

/// One entry of the feed.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Per-station sequence number; the cursor after this entry.
    pub seq: u64,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// What changed.
    pub body: ChangeBody,
}

/// What a feed entry says.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeBody {
    /// A report's state after the event.
    Report {
        /// What happened.
        event: ReportEventKind,
        /// Which report.
        report_id: ReportId,
        /// Its filing device.
        device_id: Uuid,
        /// Review status after the event.
        status: ReviewStatus,
        /// The supervisor's reason, if any.
        reason: Option<String>,
        /// Whether every photo had arrived.
        complete: bool,
        /// How many photos were still missing.
        photos_missing: u32,
    },
    /// The station's full category list after the change, as JSON
    /// (`postcso_core::model::CategoryInfo` entries).
    Categories(serde_json::Value),
    /// The station's full zone list after the change, as JSON
    /// ([`super::Zone`] entries, device assignments included: cut per device
    /// before it is shown).
    Zones(serde_json::Value),
}
