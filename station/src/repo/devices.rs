//! Enrolled phones and the one-time codes that enrol them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{RepoError, Station, StationId};

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

/// Enrolment codes and devices: the admin CLI makes codes and revokes
/// devices, a phone redeems a code, every phone request finds its device.
#[async_trait]
pub trait DeviceStore: Send + Sync {
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
    /// The station's devices by label, for the admin CLI.
    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError>;
    /// Revokes a device found by id or label. Returns the device and whether
    /// this call revoked it (false when it already was). A revocation writes a
    /// `device.revoke` audit row (actor: the station console, the only caller).
    /// `NotFound("device")` when nothing matches, `Conflict` when several do.
    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError>;
}
