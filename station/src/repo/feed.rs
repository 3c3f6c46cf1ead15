//! The two append-only logs every write leaves behind: the changes feed
//! (what phones and staff poll) and the audit log (who did what).
//!
//! Entries are written in the same transaction as the change they describe,
//! numbered per station, so a cursor (the last number seen) is monotonic and
//! nothing is ever skipped or seen half-done. The audit rows of each action
//! are built in [`super::audit`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use uuid::Uuid;

use super::{AuditEntry, RepoError, StationId};

/// What happened to a report: the feed's own spelling, shared with the phone.
pub use postcso_model::ReportEventKind;

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
    /// (`postcso_model::CategoryInfo` entries).
    Categories(serde_json::Value),
    /// The station's full zone list after the change, as JSON
    /// ([`super::Zone`] entries, device assignments included: cut per device
    /// before it is shown).
    Zones(serde_json::Value),
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
