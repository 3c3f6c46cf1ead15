//! Enrolment codes and devices in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::rows::{self, get_opt_ts, get_ts, get_uuid, ts};
use super::stations::station_from_row;
use super::{SqliteRepository, cached_row, map_err};
use crate::repo::{
    Actor, Device, DeviceStore, NewEnrolmentCode, RedeemOutcome, RepoError, StationId,
};

/// `id, station_id, label, enrolled_at, revoked_at`
fn device_from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: get_uuid(row, 0)?,
        station_id: StationId(get_uuid(row, 1)?),
        label: row.get(2)?,
        enrolled_at: get_ts(row, 3)?,
        revoked_at: get_opt_ts(row, 4)?,
    })
}

#[async_trait]
impl DeviceStore for SqliteRepository {
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT count(*) FROM enrolment_codes WHERE station_id = ?1",
                [station.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(map_err)
        })
        .await
    }

    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let at = Utc::now();
            let now = ts(at);
            for code in &codes {
                tx.execute(
                    "INSERT INTO enrolment_codes (code_hash, station_id, label, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        code.code_hash,
                        station.to_string(),
                        code.label,
                        now,
                        ts(code.expires_at)
                    ],
                )
                .map_err(|e| match map_err(e) {
                    RepoError::Conflict(_) => RepoError::Conflict(format!(
                        "enrolment code label `{}` already exists in this station",
                        code.label
                    )),
                    other => other,
                })?;
                feed::append_audit(
                    &tx,
                    station,
                    &Actor::console(),
                    AuditRecord::code_created(&code.label, code.expires_at),
                    at,
                )?;
            }
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        device_token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RedeemOutcome, RepoError> {
        let code_hash = code_hash.to_owned();
        let token_hash = device_token_hash.to_owned();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let found: Option<(String, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT station_id, label, expires_at, redeemed_at FROM enrolment_codes
                     WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(map_err)?;
            let Some((station_id, label, expires_at, redeemed_at)) = found else {
                return Ok(RedeemOutcome::Unknown);
            };
            if redeemed_at.is_some() {
                return Ok(RedeemOutcome::AlreadyUsed);
            }
            if rows::parse_ts(&expires_at)? <= now {
                return Ok(RedeemOutcome::Expired);
            }
            let device_id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id.to_string(), station_id, label, token_hash, ts(now)],
            )
            .map_err(map_err)?;
            let updated = tx
                .execute(
                    "UPDATE enrolment_codes SET redeemed_at = ?1, device_id = ?2
                     WHERE code_hash = ?3 AND redeemed_at IS NULL",
                    params![ts(now), device_id.to_string(), code_hash],
                )
                .map_err(map_err)?;
            if updated != 1 {
                return Ok(RedeemOutcome::AlreadyUsed);
            }
            let device = tx
                .query_row(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices WHERE id = ?1",
                    [device_id.to_string()],
                    device_from_row,
                )
                .map_err(map_err)?;
            let station = tx
                .query_row(
                    "SELECT id, slug, name, created_at FROM stations WHERE id = ?1",
                    [&station_id],
                    station_from_row,
                )
                .map_err(map_err)?;
            feed::append_audit(
                &tx,
                station.id,
                &Actor::device(device.id),
                AuditRecord::code_redeemed(device.id, &device.label),
                now,
            )?;
            tx.commit().map_err(map_err)?;
            Ok(RedeemOutcome::Enrolled(device, station))
        })
        .await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            cached_row(
                conn,
                "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                 WHERE token_hash = ?1",
                [token_hash],
                device_from_row,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                     WHERE station_id = ?1 ORDER BY label, enrolled_at",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map([station.to_string()], device_from_row)
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
        .await
    }

    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError> {
        let key = id_or_label.to_owned();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let mut stmt = tx
                .prepare(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                     WHERE station_id = ?1 AND (id = ?2 OR label = ?2)",
                )
                .map_err(map_err)?;
            let matches = stmt
                .query_map(params![station.to_string(), key], device_from_row)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            drop(stmt);
            let mut device = match matches.as_slice() {
                [] => return Err(RepoError::NotFound("device")),
                [one] => one.clone(),
                _ => {
                    return Err(RepoError::Conflict(format!(
                        "{} devices match `{key}`; revoke by device id",
                        matches.len()
                    )));
                }
            };
            if device.revoked_at.is_some() {
                return Ok((device, false));
            }
            tx.execute(
                "UPDATE devices SET revoked_at = ?1 WHERE station_id = ?2 AND id = ?3",
                params![ts(now), station.to_string(), device.id.to_string()],
            )
            .map_err(map_err)?;
            feed::append_audit(
                &tx,
                station,
                &Actor::console(),
                AuditRecord::device_revoked(device.id, &device.label, now),
                now,
            )?;
            tx.commit().map_err(map_err)?;
            device.revoked_at = Some(now);
            Ok((device, true))
        })
        .await
    }
}
