//! Enrolled phones and the one-time codes that enrol them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::ActionLog;
use super::{Actor, RepoError, Station, StationId};

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

impl Device {
    /// A device of `station` with a fresh id, enrolled at `now` under the
    /// label of the code it redeemed.
    pub(crate) fn enrolled(station: StationId, label: String, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            station_id: station,
            label,
            enrolled_at: now,
            revoked_at: None,
        }
    }
}

/// A device read back: `id, station_id, label, enrolled_at, revoked_at`.
pub(crate) fn device_from(row: &impl Columns) -> Result<Device, RepoError> {
    Ok(Device {
        id: row.uuid(0)?,
        station_id: StationId(row.uuid(1)?),
        label: row.text(2)?,
        enrolled_at: row.time(3)?,
        revoked_at: row.opt_time(4)?,
    })
}

/// The refusal of a code whose label the station already used; `error` is
/// what the insert failed with, kept unless it was a uniqueness conflict.
pub(crate) fn label_taken(error: RepoError, label: &str) -> RepoError {
    match error {
        RepoError::Conflict(_) => RepoError::Conflict(format!(
            "enrolment code label `{label}` already exists in this station"
        )),
        other => other,
    }
}

/// Why a stored code cannot be redeemed at `now`, if it cannot: a code works
/// once, and only before it expires.
pub(crate) fn redeem_refusal(
    redeemed: bool,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<RedeemOutcome> {
    if redeemed {
        Some(RedeemOutcome::AlreadyUsed)
    } else if expires_at <= now {
        Some(RedeemOutcome::Expired)
    } else {
        None
    }
}

/// What revoking by id or label comes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// The device was revoked before: nothing to write.
    Already(Device),
    /// The device is live: revoke it.
    Due(Device),
}

/// Chooses the device to revoke among those whose id or label matched
/// `key`: `NotFound` for none, `Conflict` for several (labels need not be
/// unique; the id always is).
pub(crate) fn revocation(matches: Vec<Device>, key: &str) -> Result<Revocation, RepoError> {
    let count = matches.len();
    let mut matches = matches.into_iter();
    match (matches.next(), count) {
        (None, _) => Err(RepoError::NotFound("device")),
        (Some(device), 1) if device.revoked_at.is_some() => Ok(Revocation::Already(device)),
        (Some(device), 1) => Ok(Revocation::Due(device)),
        (Some(_), _) => Err(RepoError::Conflict(format!(
            "{count} devices match `{key}`; revoke by device id"
        ))),
    }
}

impl ActionLog {
    /// `enrolment_code.create` by the station console (the only caller):
    /// never the code or its hash.
    pub(crate) fn code_created(code: &NewEnrolmentCode) -> Self {
        let after = json!({ "label": code.label, "expires_at": code.expires_at });
        Self {
            actor: Actor::console(),
            audit: AuditRecord::new(
                "enrolment_code.create",
                "enrolment_code",
                &code.label,
                None,
                after,
            ),
            change: None,
        }
    }

    /// `enrolment_code.redeem` by the new device: a phone became a device.
    pub(crate) fn code_redeemed(device: &Device) -> Self {
        let after = json!({ "label": device.label });
        Self {
            actor: Actor::device(device.id),
            audit: AuditRecord::new("enrolment_code.redeem", "device", device.id, None, after),
            change: None,
        }
    }

    /// `device.revoke` by the station console (the only caller).
    pub(crate) fn device_revoked(device: &Device, at: DateTime<Utc>) -> Self {
        let before = json!({ "label": device.label, "revoked_at": null });
        let after = json!({ "label": device.label, "revoked_at": at });
        Self {
            actor: Actor::console(),
            audit: AuditRecord::new("device.revoke", "device", device.id, Some(before), after),
            change: None,
        }
    }
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
