//! Enrolment codes and devices in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};

use super::{PgRepository, execute, feed, map_err, query, query_one, query_opt};
use crate::repo::columns::{Columns, micros};
use crate::repo::devices::{Revocation, device_from, label_taken, redeem_refusal, revocation};
use crate::repo::feed::ActionLog;
use crate::repo::stations::station_from;
use crate::repo::{Device, DeviceStore, NewEnrolmentCode, RedeemOutcome, RepoError, StationId};

/// How many codes the station ever made.
async fn count_enrolment_codes<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<u64, RepoError> {
    query_one(
        c,
        "SELECT count(*) FROM enrolment_codes WHERE station_id = $1",
        &[&station.0],
    )
    .await?
    .count(0)
}

/// Stores a batch of codes with their audit rows, in one transaction.
async fn add_enrolment_codes(
    client: &mut Object,
    station: StationId,
    codes: Vec<NewEnrolmentCode>,
) -> Result<(), RepoError> {
    let tx = client.transaction().await.map_err(map_err)?;
    let now = micros(Utc::now());
    for code in &codes {
        execute(
            &tx,
            "INSERT INTO enrolment_codes (code_hash, station_id, label, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &code.code_hash,
                &station.0,
                &code.label,
                &now,
                &code.expires_at,
            ],
        )
        .await
        .map_err(|e| label_taken(e, &code.label))?;
        feed::log(&tx, station, &ActionLog::code_created(code), now).await?;
    }
    tx.commit().await.map_err(map_err)
}

/// Redeems a code once and enrols a device, in one transaction.
async fn redeem_enrolment_code(
    client: &mut Object,
    code_hash: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<RedeemOutcome, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    // FOR UPDATE: two phones redeeming the same code queue here, and the
    // second sees it redeemed.
    let found = query_opt(
        &tx,
        "SELECT station_id, label, expires_at, redeemed_at FROM enrolment_codes
         WHERE code_hash = $1 FOR UPDATE",
        &[&code_hash],
    )
    .await?;
    let Some(found) = found else {
        return Ok(RedeemOutcome::Unknown);
    };
    let station_id = StationId(found.uuid(0)?);
    if let Some(refusal) = redeem_refusal(found.opt_time(3)?.is_some(), found.time(2)?, now) {
        return Ok(refusal);
    }
    let device = Device::enrolled(station_id, found.text(1)?, now);
    execute(
        &tx,
        "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&device.id, &station_id.0, &device.label, &token_hash, &now],
    )
    .await?;
    execute(
        &tx,
        "UPDATE enrolment_codes SET redeemed_at = $1, device_id = $2 WHERE code_hash = $3",
        &[&now, &device.id, &code_hash],
    )
    .await?;
    let station = station_from(
        &query_one(
            &tx,
            "SELECT id, slug, name, created_at FROM stations WHERE id = $1",
            &[&station_id.0],
        )
        .await?,
    )?;
    feed::log(&tx, station.id, &ActionLog::code_redeemed(&device), now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(RedeemOutcome::Enrolled(device, station))
}

/// The device holding a token, revoked or not.
async fn device_by_token_hash<C: GenericClient>(
    c: &C,
    token_hash: &str,
) -> Result<Option<Device>, RepoError> {
    query_opt(
        c,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices WHERE token_hash = $1",
        &[&token_hash],
    )
    .await?
    .as_ref()
    .map(device_from)
    .transpose()
}

/// The station's devices by label.
async fn list_devices<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<Vec<Device>, RepoError> {
    query(
        c,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
         WHERE station_id = $1 ORDER BY label, enrolled_at",
        &[&station.0],
    )
    .await?
    .iter()
    .map(device_from)
    .collect()
}

/// Revokes a device found by id or label, with its audit row.
async fn revoke_device(
    client: &mut Object,
    station: StationId,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(Device, bool), RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    // The key is an id or a label: compare the id as text so a label that is
    // not a UUID cannot make the query fail.
    let matches = query(
        &tx,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
         WHERE station_id = $1 AND (id::text = $2 OR label = $2) FOR UPDATE",
        &[&station.0, &key],
    )
    .await?
    .iter()
    .map(device_from)
    .collect::<Result<Vec<_>, _>>()?;
    let mut device = match revocation(matches, key)? {
        Revocation::Already(device) => return Ok((device, false)),
        Revocation::Due(device) => device,
    };
    execute(
        &tx,
        "UPDATE devices SET revoked_at = $1 WHERE station_id = $2 AND id = $3",
        &[&now, &station.0, &device.id],
    )
    .await?;
    feed::log(&tx, station, &ActionLog::device_revoked(&device, now), now).await?;
    tx.commit().await.map_err(map_err)?;
    device.revoked_at = Some(now);
    Ok((device, true))
}

#[async_trait]
impl DeviceStore for PgRepository {
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError> {
        count_enrolment_codes(&self.client().await?, station).await
    }

    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError> {
        let mut client = self.client().await?;
        add_enrolment_codes(&mut client, station, codes).await
    }

    async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        device_token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RedeemOutcome, RepoError> {
        let mut client = self.client().await?;
        redeem_enrolment_code(&mut client, code_hash, device_token_hash, now).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError> {
        device_by_token_hash(&self.client().await?, token_hash).await
    }

    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError> {
        list_devices(&self.client().await?, station).await
    }

    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError> {
        let mut client = self.client().await?;
        revoke_device(&mut client, station, id_or_label, now).await
    }
}
