//! The storage layer: one [`Repository`] trait, one module per backend.
//!
//! Handlers and the admin CLI only talk to the trait; the embedded SQLite
//! backend serves one station machine, the PostgreSQL one a shared deployment. Every method that reads or
//! writes tenant data takes the [`StationId`] it acts for and filters on it; the
//! only lookups without a station are those keyed by a secret's hash (device
//! token, session token, enrolment code), which is how the station is found.

mod audit;
mod change;
mod inspection;
pub mod postgres;
pub mod sqlite;
mod upload;
mod zone;

pub use audit::{Actor, AuditEntry};
pub use change::{Audience, Change, ChangeBody, ReportEventKind};
pub use inspection::{AssignOutcome, Findings, Inspection, InspectionOutcome, NewFindings};
pub use upload::{NewUpload, Upload, UploadCompletion};
pub(crate) use zone::ZoneFields;
pub use zone::{NewZone, Zone, ZoneUpdate};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryInfo, CategoryList, ReportContent, ReportId, ReviewStatus};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::Role;

/// A station's internal id. A newtype so a station id can never be passed
/// where a user or device id is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StationId(pub Uuid);

impl std::fmt::Display for StationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A police station: the tenant every other row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Station {
    /// Internal id, carried by every tenant row.
    pub id: StationId,
    /// Short name used on the command line and at sign-in, e.g. `seodaemun`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When the station was created.
    pub created_at: DateTime<Utc>,
}

/// A staff member (or a password-holding carrier) of one station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Internal id.
    pub id: Uuid,
    /// The station the user belongs to; roles are per station.
    pub station_id: StationId,
    /// Sign-in name, unique within the station.
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// When the user was added.
    pub created_at: DateTime<Utc>,
}

/// A staff user as an admin lists them: with whether they may still sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    /// The user.
    pub user: User,
    /// When an admin disabled them; `None` while they may sign in.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What disabling a user did, so the CLI can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDisabled {
    /// The user.
    pub user: User,
    /// Whether this call disabled them (false when they already were).
    pub newly: bool,
    /// Live sessions of theirs that this call ended.
    pub sessions_ended: u64,
}

/// A user with the stored password hash, only for sign-in.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
}

/// A new user to store; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name.
    pub username: String,
    /// Role within the station.
    pub role: Role,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
}

/// A one-time enrolment code to store, by hash only.
#[derive(Debug, Clone)]
pub struct NewEnrolmentCode {
    /// SHA-256 of the normalised code, lowercase hex.
    pub code_hash: String,
    /// Printed label (e.g. `carrier-007`), inherited by the device that redeems it.
    pub label: String,
    /// After this moment the code no longer works.
    pub expires_at: DateTime<Utc>,
}

/// An enrolled phone. Devices act with the carrier role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// Internal id, also the owner key of the reports it delivers.
    pub id: Uuid,
    /// The station it is enrolled at.
    pub station_id: StationId,
    /// Label of the code it redeemed, so an admin can find it.
    pub label: String,
    /// When the code was redeemed.
    pub enrolled_at: DateTime<Utc>,
    /// Set once revoked; a revoked device is refused on its next request.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What redeeming an enrolment code came to. Not an error type, because each
/// case is an expected answer the phone must show differently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    /// The code was valid; here is the new device (with its station).
    Enrolled(Device, Station),
    /// No such code.
    Unknown,
    /// The code was redeemed before.
    AlreadyUsed,
    /// The code expired before it was redeemed.
    Expired,
}

/// A signed-in staff session, as found from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user (carries station and role).
    pub user: User,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// The stored hash of its token: how sign-out names the session to end.
    pub token_hash: String,
}

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
    /// Anything else: a bug or a corrupt database.
    #[error("storage error: {0}")]
    Storage(String),
}

/// Everything the station stores, behind one interface for all backends.
#[async_trait]
pub trait Repository: Send + Sync + 'static {
    /// Checks that the database answers; for `/readyz`.
    async fn ping(&self) -> Result<(), RepoError>;

    /// Creates a station and seeds the six built-in categories in one transaction.
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError>;
    /// Finds a station by slug.
    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError>;
    /// All stations, for the admin CLI.
    async fn list_stations(&self) -> Result<Vec<Station>, RepoError>;
    /// The station's category list, retired entries included.
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError>;

    /// Adds a user; `Conflict` when the username is taken in that station.
    /// Writes a `user.add` audit row (actor: the station console, the only
    /// caller) in the same transaction.
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError>;
    /// The station's staff users by username, disabled ones included.
    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError>;
    /// Disables a staff user (someone who left, or a leaked password): they
    /// can no longer sign in, and every live session of theirs ends at once.
    /// Their past actions stay in the audit log under their name. Writes a
    /// `user.disable` audit row (actor: the station console, the only caller)
    /// in the same transaction. `NotFound` when there is no such user.
    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError>;
    /// A user with the password hash, for sign-in.
    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError>;
    /// Stores a session by token hash, with a `session.create` audit row
    /// (actor: the user) in the same transaction.
    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError>;
    /// Ends a live session (sign-out): its token stops working on the next
    /// request. Writes a `session.end` audit row (actor: the user) in the
    /// same transaction. `false` when it had already ended.
    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// The live session for a token hash: not expired, not revoked, user enabled.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError>;

    /// How many enrolment codes the station ever made; numbers new labels.
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError>;
    /// Stores a batch of codes atomically; `Conflict` on a duplicate label.
    /// Writes one `enrolment_code.create` audit row per code (actor: the
    /// station console, the only caller), never the code or its hash.
    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError>;
    /// Redeems a code once and enrols a device with the given token hash,
    /// with an `enrolment_code.redeem` audit row (actor: the new device).
    async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        device_token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RedeemOutcome, RepoError>;
    /// The device holding a token, revoked or not (the caller decides).
    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError>;
    /// The station's devices, for the admin CLI.
    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError>;
    /// Revokes a device found by id or label. Returns the device and whether
    /// this call revoked it (false when it already was). A revocation writes a
    /// `device.revoke` audit row (actor: the station console, the only caller).
    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError>;

    /// Stores a report exactly once; see [`PutOutcome`].
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

    /// Stores a new upload.
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError>;
    /// An upload of the station, expired or not (the caller decides).
    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError>;
    /// Records that the part file now durably holds `offset` bytes whose
    /// SHA-256 state is `hash_state`. Call only after the bytes are fsynced.
    /// The record itself may be lost in a power cut (it is not flushed on its
    /// own): the offset then moves back, which only costs re-sent bytes.
    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError>;
    /// Marks an upload done and its photo received (once), flips the report's
    /// `complete` when nothing is missing, and writes the audit row and feed
    /// entry, all in one transaction. The blob must already be stored. The
    /// finished upload stays answerable until `keep_until`. Idempotent.
    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError>;
    /// Stores an upload that arrived whole in its creation request, already
    /// finished: its row and the completion (as `complete_upload`) in one
    /// transaction, so a photo in one request costs one commit. The blob must
    /// already be stored.
    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError>;
    /// Deletes an upload row (termination, or a discarded upload). Returns
    /// whether it existed.
    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError>;
    /// Deletes every upload expired at `now` (unfinished ones, and finished
    /// ones past their keep time) and returns their ids, so their part files
    /// can be removed.
    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError>;
    /// Every upload, across stations: startup recovery checks the part files
    /// against them.
    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError>;

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

    // ---- Zones, inspections, admin-managed categories (migration 0003) ----
    //
    // Every write below runs in one transaction with its audit row and, where
    // carriers or supervisors must hear of it, its feed entry.

    /// Adds a category (not retired) at the end of the station's list, appends
    /// a `categories` feed entry with the whole list and a `category.add`
    /// audit row. `Conflict` when the code exists (retired or not). Returns the
    /// list after the change.
    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError>;
    /// Retires a category (never deletes it): feed entry and `category.retire`
    /// audit row. Returns the list and whether this call retired it (false,
    /// with nothing written, when it already was). `NotFound("category")`.
    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError>;

    /// The station's zones, retired ones included, in the order they were added.
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError>;
    /// Adds a zone: `Conflict` when the code exists, `NotFound("device")` when
    /// a listed device is not one of the station's. Appends a `zones` feed entry
    /// (the whole list) and a `zone.add` audit row.
    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError>;
    /// Changes a zone's name, area or devices: `NotFound("zone")`,
    /// `NotFound("device")`, `Conflict` when retired. Returns the zone and
    /// whether anything changed; only a change writes the feed entry and the
    /// `zone.update` audit row (before and after).
    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError>;
    /// Retires a zone (never deletes it): feed entry and `zone.retire` audit
    /// row. Returns the zone and whether this call retired it.
    /// `NotFound("zone")`.
    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError>;

    /// Assigns a report to an inspector (an enabled user with the inspector
    /// role, found by username in the station) and sets the report's status to
    /// `inspecting`. Re-assigning replaces the inspector and clears findings.
    /// Writes an `inspection.assign` audit row, and when the status changes a
    /// `report.status` audit row and a `status` feed entry (which the filing
    /// carrier sees). Assigning the same inspector again writes nothing.
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError>;
    /// The inspection of a report, if one was assigned.
    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError>;
    /// The station's inspections, newest assignment first; only those assigned
    /// to `inspector` when given.
    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError>;
    /// Records (or replaces) the findings of the report's inspection, only if
    /// it is assigned to `inspector`; `None` otherwise. Writes an
    /// `inspection.record` audit row (outcome and times, never the text) and an
    /// `inspected` feed entry for supervisors.
    async fn record_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector: Uuid,
        findings: NewFindings,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Inspection>, RepoError>;
    // ---- end of zones, inspections, categories ----
}
