//! The changes feed's wire form (`GET /v1/changes`): the one definition the
//! station writes and the phone reads, so the two cannot drift apart.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{CategoryInfo, ReportId, ReviewStatus, ZoneInfo};

/// What happened to a report, in a supervisor's feed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// A follow-up (more photos or a note) of this report arrived; the
    /// report's view lists it.
    FollowUp,
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
            Self::FollowUp => "follow_up",
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
            "follow_up" => Self::FollowUp,
            _ => return None,
        })
    }
}

/// One entry of the feed; `kind` says which. Kinds an old app does not know
/// read as [`FeedEntry::Unknown`] and are skipped, so the station can add kinds
/// without breaking phones in the field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FeedEntry {
    /// For the filing carrier's phone: its report's status or completeness changed.
    ReportStatus {
        /// The report.
        report_id: ReportId,
        /// Review status now.
        status: ReviewStatus,
        /// Whether every photo has arrived.
        #[serde(default)]
        complete: bool,
        /// The supervisor's reason, e.g. for a rejection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// For supervisors: a report of the station was created or changed.
    Report {
        /// What happened.
        event: ReportEventKind,
        /// The report.
        report_id: ReportId,
        /// Review status after the event.
        status: ReviewStatus,
        /// Whether every photo had arrived.
        complete: bool,
        /// Photos still missing after the event.
        photos_missing: u32,
        /// The supervisor's reason, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// The station's full category list (replace the local copy).
    Categories {
        /// Every category, retired ones included.
        categories: Vec<CategoryInfo>,
    },
    /// For carrier phones: the station's full zone list (replace the local
    /// copy), with `assigned` set on the phone's own zones. Written by
    /// stations before zone deltas ([`FeedEntry::Zone`]); still read.
    Zones {
        /// Zones, retired ones included.
        zones: Vec<ZoneInfo>,
    },
    /// For carrier phones: one zone was added or changed (add it, or replace
    /// the local copy of the same code), with `assigned` set for this phone.
    /// Zone changes travel as these deltas, so a phone that was away for a
    /// month catches up with the zones that changed, not the whole list each time.
    Zone {
        /// The zone as it is now (retired ones included, flagged).
        zone: ZoneInfo,
    },
    /// A kind this build does not know (never written by the station).
    #[serde(other)]
    Unknown,
}

/// A page of the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesPage {
    /// Entries, oldest first.
    pub changes: Vec<FeedEntry>,
    /// Pass back as `cursor` next time; never goes backwards.
    pub cursor: String,
    /// Whether more entries are waiting: ask again at once.
    #[serde(default)]
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_kinds_are_skipped_and_known_ones_round_trip() {
        let page: ChangesPage = serde_json::from_str(
            r#"{"changes":[{"kind":"teleport","x":1},
                {"kind":"report_status","report_id":"01890a5d-ac96-774b-bcce-b302099a8057","status":"accepted","complete":true}],
                "cursor":"djE6Mg"}"#,
        )
        .expect("parses");
        assert_eq!(page.changes[0], FeedEntry::Unknown);
        assert!(matches!(
            &page.changes[1],
            FeedEntry::ReportStatus {
                status: ReviewStatus::Accepted,
                complete: true,
                reason: None,
                ..
            }
        ));
        assert!(!page.has_more);
        let back: ChangesPage =
            serde_json::from_str(&serde_json::to_string(&page).expect("writes")).expect("reads");
        assert_eq!(back.changes[1], page.changes[1]);
    }

    #[test]
    fn event_kinds_spell_the_same_on_the_wire_and_in_the_database() {
        for kind in [
            ReportEventKind::Created,
            ReportEventKind::Status,
            ReportEventKind::Photo,
            ReportEventKind::Complete,
            ReportEventKind::Inspected,
            ReportEventKind::FollowUp,
        ] {
            let wire = serde_json::to_value(kind).expect("writes");
            assert_eq!(wire, serde_json::Value::from(kind.as_str()));
            assert_eq!(ReportEventKind::parse(kind.as_str()), Some(kind));
        }
    }
}
