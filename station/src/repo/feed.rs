//! The two append-only logs every write leaves behind: the changes feed
//! (what phones and staff poll) and the audit log (who did what).
//!
//! Entries are written in the same transaction as the change they describe,
//! numbered per station, so a cursor (the last number seen) is monotonic and
//! nothing is ever skipped or seen half-done. The audit rows of each action
//! are built in [`super::audit`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryList, ReportId, ReviewStatus};
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::{Actor, AuditEntry, RepoError, StationId, Zone};

/// What happened to a report: the feed's own spelling, shared with the phone.
pub use postcso_model::ReportEventKind;

/// Who reads the feed, which decides what it contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// A carrier's phone: the category list, the zones (whole lists from
    /// before zone deltas, then one entry per changed zone), and status or
    /// completeness changes of its own reports.
    Device(Uuid),
    /// Supervisors: every report event of the station, and the category list.
    Station,
    /// Other staff: the category list only.
    CategoriesOnly,
}

impl Audience {
    /// Which feed entries the audience may see, as a condition on the
    /// `changes` table: the one place the visibility rule is written. `device`
    /// is how the backend's SQL names the parameter bound to
    /// [`Audience::device`]; the other audiences bind none.
    pub(crate) fn visible(&self, device: &str) -> String {
        match self {
            Self::Device(_) => format!(
                "(kind IN ('categories', 'zones', 'zone') \
                  OR (kind = 'report' AND device_id = {device} AND event IN ('status', 'complete')))"
            ),
            Self::Station => "kind IN ('categories', 'report')".to_owned(),
            Self::CategoriesOnly => "kind = 'categories'".to_owned(),
        }
    }

    /// The device a carrier's feed is cut for.
    pub(crate) fn device(&self) -> Option<Uuid> {
        match self {
            Self::Device(device) => Some(*device),
            Self::Station | Self::CategoriesOnly => None,
        }
    }
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
    /// (`postcso_model::CategoryInfo` entries).
    Categories(serde_json::Value),
    /// The station's full zone list after a change, as JSON ([`super::Zone`]
    /// entries, device assignments included: cut per device before it is
    /// shown). Written before zone deltas; stored entries are still read.
    Zones(serde_json::Value),
    /// One zone after it was added or changed, as JSON (a [`super::Zone`],
    /// device assignments included: cut per device before it is shown).
    Zone(serde_json::Value),
}

/// The columns a feed read selects, in the order [`change_from`] reads them.
pub(crate) const CHANGE_COLUMNS: &str = "seq, kind, event, report_id, device_id, status, reason, complete, photos_missing, at, data_json";

/// A feed entry read back ([`CHANGE_COLUMNS`]).
pub(crate) fn change_from(row: &impl Columns) -> Result<Change, RepoError> {
    let body = match row.text(1)?.as_str() {
        "categories" => ChangeBody::Categories(row.json(10, "category list")?),
        "zones" => ChangeBody::Zones(row.json(10, "zone list")?),
        "zone" => ChangeBody::Zone(row.json(10, "zone")?),
        _ => {
            let event = row.text(2)?;
            ChangeBody::Report {
                event: ReportEventKind::parse(&event)
                    .ok_or_else(|| bad_column(2, format!("feed event `{event}`")))?,
                report_id: row.report_id(3)?,
                device_id: row.uuid(4)?,
                status: ReviewStatus::from(row.text(5)?),
                reason: row.opt_text(6)?,
                complete: row.flag(7)?,
                photos_missing: u32::try_from(row.count(8)?).unwrap_or(u32::MAX),
            }
        }
    };
    Ok(Change {
        seq: row.count(0)?,
        at: row.time(9)?,
        body,
    })
}

/// A feed entry an action appends; the backend numbers it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NewChange {
    /// A report's state after `event`, taken from its row inside the
    /// action's transaction.
    Report {
        /// Which report.
        report: ReportId,
        /// What happened to it.
        event: ReportEventKind,
    },
    /// A JSON document: a whole list after the change (`kind` `categories`;
    /// `zones` in entries written before zone deltas) or one zone (`zone`).
    List {
        /// The feed's kind of entry.
        kind: &'static str,
        /// The list.
        json: String,
    },
}

impl NewChange {
    /// The station's whole category list.
    pub(crate) fn categories(list: &CategoryList) -> Result<Self, RepoError> {
        let json = serde_json::to_string(list.entries())
            .map_err(|e| RepoError::Storage(format!("cannot serialise categories: {e}")))?;
        Ok(Self::List {
            kind: "categories",
            json,
        })
    }

    /// One zone after a change (device assignments included: the feed cuts
    /// it per device when read).
    pub(crate) fn zone(zone: &Zone) -> Result<Self, RepoError> {
        let json = serde_json::to_string(zone)
            .map_err(|e| RepoError::Storage(format!("cannot serialise a zone: {e}")))?;
        Ok(Self::List { kind: "zone", json })
    }
}

/// What one action leaves in the two logs: who acted, the audit row, and the
/// feed entry when phones or staff must hear of it. Each action's constructor
/// lives in its concern's file (`ActionLog::report_status` in `reports.rs`,
/// ...), so both backends log the same; a backend only writes it, inside the
/// action's transaction.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionLog {
    /// Who acted.
    pub actor: Actor,
    /// The audit row.
    pub audit: AuditRecord,
    /// The feed entry, if the action has one.
    pub change: Option<NewChange>,
}

/// Reading the feed and the audit log; the writes that append to them live
/// in the other stores, inside their own transactions.
#[async_trait]
pub trait FeedStore: Send + Sync {
    /// Feed entries after `after` visible to `audience`, oldest first, at most `limit`.
    async fn changes(
        &self,
        station: StationId,
        audience: Audience,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError>;
    /// Audit rows of the station after `after`, oldest first, at most `limit`.
    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError>;
}
