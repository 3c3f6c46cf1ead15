//! Enrolment codes and devices in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{TransactionBehavior, params};

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, cached_row, feed, map_err};
use crate::repo::columns::{Columns, micros};
use crate::repo::devices::{Revocation, device_from, label_taken, redeem_refusal, revocation};
use crate::repo::feed::ActionLog;
use crate::repo::stations::station_from;
use crate::repo::{Device, DeviceStore, NewEnrolmentCode, RedeemOutcome, RepoError, StationId};

#[async_trait]
impl DeviceStore for SqliteRepository {
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError> {
        self.read(move |conn| {
            cached_row(
                conn,
                "SELECT count(*) FROM enrolment_codes WHERE station_id = ?1",
                [station.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
            .map_err(map_err)
        })
        .await
    }

    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError> {
        self.write_tx(move |tx| {
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
                .map_err(|e| label_taken(map_err(e), &code.label))?;
                feed::log(tx, station, &ActionLog::code_created(code), at)?;
            }
            Ok(())
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
        // A transaction of its own, not `write_tx`: the answers other than
        // `Enrolled` roll back, and one of them comes after the insert.
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let found = first_row(
                &tx,
                "SELECT station_id, label, expires_at, redeemed_at FROM enrolment_codes
                 WHERE code_hash = ?1",
                [&code_hash],
                |r| {
                    Ok((
                        StationId(r.uuid(0)?),
                        r.text(1)?,
                        r.time(2)?,
                        r.opt_time(3)?,
                    ))
                },
            )?;
            let Some((station_id, label, expires_at, redeemed_at)) = found else {
                return Ok(RedeemOutcome::Unknown);
            };
            if let Some(refusal) = redeem_refusal(redeemed_at.is_some(), expires_at, now) {
                return Ok(refusal);
            }
            let device = Device::enrolled(station_id, label, micros(now));
            tx.execute(
                "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    device.id.to_string(),
                    station_id.to_string(),
                    device.label,
                    token_hash,
                    ts(now)
                ],
            )
            .map_err(map_err)?;
            let updated = tx
                .execute(
                    "UPDATE enrolment_codes SET redeemed_at = ?1, device_id = ?2
                     WHERE code_hash = ?3 AND redeemed_at IS NULL",
                    params![ts(now), device.id.to_string(), code_hash],
                )
                .map_err(map_err)?;
            if updated != 1 {
                return Ok(RedeemOutcome::AlreadyUsed);
            }
            let station = first_row(
                &tx,
                "SELECT id, slug, name, created_at FROM stations WHERE id = ?1",
                [station_id.to_string()],
                |r| station_from(r),
            )?
            .ok_or(RepoError::NotFound("station"))?;
            feed::log(&tx, station.id, &ActionLog::code_redeemed(&device), now)?;
            tx.commit().map_err(map_err)?;
            Ok(RedeemOutcome::Enrolled(device, station))
        })
        .await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            first_row(
                conn,
                "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                 WHERE token_hash = ?1",
                [token_hash],
                |r| device_from(r),
            )
        })
        .await
    }

    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                 WHERE station_id = ?1 ORDER BY label, enrolled_at",
                [station.to_string()],
                |r| device_from(r),
            )
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
        self.write_tx(move |tx| {
            let matches = all_rows(
                tx,
                "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                 WHERE station_id = ?1 AND (id = ?2 OR label = ?2)",
                params![station.to_string(), key],
                |r| device_from(r),
            )?;
            let mut device = match revocation(matches, &key)? {
                Revocation::Already(device) => return Ok((device, false)),
                Revocation::Due(device) => device,
            };
            tx.execute(
                "UPDATE devices SET revoked_at = ?1 WHERE station_id = ?2 AND id = ?3",
                params![ts(now), station.to_string(), device.id.to_string()],
            )
            .map_err(map_err)?;
            feed::log(tx, station, &ActionLog::device_revoked(&device, now), now)?;
            device.revoked_at = Some(micros(now));
            Ok((device, true))
        })
        .await
    }
}
