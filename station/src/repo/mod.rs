//! The storage layer: one store trait per concern, one module per backend.
//!
//! Each concern has a file here holding its types, its store trait and the
//! rules both backends apply, so that a rule lives once, not once per
//! backend: `stations`, `categories`, `accounts` (users and sessions),
//! `devices` (enrolment codes and devices), `reports` (with `follow_ups`,
//! `places`: where the station found each, `nearby`: duplicates of a
//! place across carriers, and `merges`: folding a duplicate into the report
//! already being handled), `uploads`, `zones`, `inspections`, `agencies`
//! (and their routing rules), `referrals`, `feed` (the changes feed, reading
//! the audit log, and
//! `feed::ActionLog`: what each action leaves in the two logs, built by one
//! constructor per action in the action's file) and `audit` (the shape of an
//! audit row). The rules are plain functions: which device a revocation
//! means, when a code can be redeemed, when a delivery is a retry, what a
//! completed upload changes, how a stored row reads back (`columns`), ...
//! [`Repository`] is all the stores together; handlers and the admin CLI
//! hold an `Arc<dyn Repository>`.
//!
//! The embedded SQLite backend serves one station machine, the PostgreSQL one
//! a shared deployment; each has one file per concern with the same names,
//! holding only its queries and transactions. Every method that reads or
//! writes tenant data takes the [`StationId`] it acts for and filters on it;
//! the only lookups without a station are those keyed by a secret's hash
//! (device token, session token, enrolment code), which is how the station
//! is found.

mod accounts;
pub mod agencies;
mod audit;
mod categories;
mod columns;
mod devices;
pub mod exports;
mod feed;
mod follow_ups;
mod inspections;
pub mod merges;
mod nearby;
pub mod notes;
mod places;
pub mod postgres;
pub mod referrals;
mod reports;
pub mod review;
pub mod sqlite;
mod stations;
pub mod statistics;
mod uploads;
mod zones;

pub use accounts::{
    AccountStore, NewUser, SESSION_TOUCH_INTERVAL, Session, StaffUser, User, UserCredentials,
    UserDisabled,
};
pub use agencies::{
    Agency, AgencyImport, AgencyImportOutcome, AgencyKind, AgencyStore, AgencyUpdate, NewAgency,
    NewOpen311, NewRoutingRule, Open311Format, Open311Settings, RoutingRule, RuleArea, SendMethod,
};
pub use audit::{Actor, AuditEntry};
pub use categories::CategoryStore;
pub use devices::{Device, DeviceStore, NewEnrolmentCode, RedeemOutcome};
pub use exports::{ExportRecord, ExportRow, ExportStore};
pub use feed::{Audience, Change, ChangeBody, FeedStore, ReportEventKind};
pub use follow_ups::{FollowUp, is_valid_parent};
pub use inspections::{
    AssignOutcome, Findings, Inspection, InspectionOutcome, InspectionStore, NewFindings,
};
pub use merges::{MergeOutcome, MergeRefusal, MergeStore, RelatedPhoto, check_merge};
pub use nearby::{
    NEARBY_LIMIT, NEARBY_RADIUS_M, NEARBY_WINDOW_DAYS, NearbyCandidate, NearbyReport, NearbySearch,
    NearbyStore, nearby, nearby_from,
};
pub use notes::{InternalNote, NoteStore};
pub use places::{
    NEAR_LINE_M, PlaceStore, PlacedDistrict, Placement, UnplacedReport, ZonesVersion,
    round_decimetre,
};
pub use referrals::{
    AnswerKind, AnswerOutcome, Delivery, NewAnswer, NewReferral, ReferOutcome, Referral,
    ReferralAnswer, ReferralStore,
};
pub use reports::{PutOutcome, ReportStore, StatusChange, StoredPhoto, StoredReport};
pub use review::{QueueFilter, QueueOrder, QueuePage, QueueQuery, QueueRow, ReviewStore};
pub use stations::{Station, StationId, StationStore};
pub use statistics::{Statistics, StatisticsQuery, StatisticsStore};
pub use uploads::{NewUpload, Upload, UploadCompletion, UploadStore};
pub use zones::{
    ImportOutcome, ImportedZone, NewZone, Zone, ZoneRuleError, ZoneStore, ZoneUpdate,
    check_zone_rules,
};

use async_trait::async_trait;

/// Every store trait and [`Repository`], for callers that use many of them:
/// a store's methods can only be called with its trait in scope.
pub mod prelude {
    pub use super::{
        AccountStore, AgencyStore, CategoryStore, DeviceStore, FeedStore, InspectionStore,
        MergeStore, NearbyStore, NoteStore, PlaceStore, ReferralStore, ReportStore, Repository,
        ReviewStore, StationStore, UploadStore, ZoneStore,
    };
    pub use super::{ExportStore, StatisticsStore};
}

/// Why a storage call failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepoError {
    /// The named thing does not exist (in this station).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule refused the write.
    #[error("{0}")]
    Conflict(String),
    /// The database is busy, locked or unreachable: retry later (HTTP 503).
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The database's disk is full: nothing was written; retry once an
    /// operator made room (HTTP 507, like a full photo store).
    #[error("storage full: {0}")]
    Full(String),
    /// A decision was made on a version of the report that is no longer
    /// current (HTTP 412): show the caller what changed and let them decide again.
    #[error("the report changed since version seen; it is now at version {current}")]
    Stale {
        /// The report's version now.
        current: u64,
    },
    /// Anything else: a bug or a corrupt database.
    #[error("storage error: {0}")]
    Storage(String),
}

/// Everything the station stores: every store, on one database. What is
/// left here is about the database as a whole.
#[async_trait]
pub trait Repository:
    StationStore
    + CategoryStore
    + AccountStore
    + DeviceStore
    + ReportStore
    + PlaceStore
    + NearbyStore
    + UploadStore
    + ZoneStore
    + InspectionStore
    + FeedStore
    + ReviewStore
    + NoteStore
    + AgencyStore
    + ReferralStore
    + MergeStore
    + StatisticsStore
    + ExportStore
    + Send
    + Sync
    + 'static
{
    /// Checks that the database answers; for `/readyz`.
    async fn ping(&self) -> Result<(), RepoError>;
}
