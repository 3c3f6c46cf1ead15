//! Zones in PostgreSQL: reading, adding, updating and retiring, each write
//! with its feed entry (the whole list) and audit row in one transaction.
//!
//! Writes take the station row's lock first, so one station's zone changes
//! queue: the existence check, the position and the list in the feed entry
//! are each computed from the previous change's result.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};
use uuid::Uuid;

use super::{
    PgRepository, execute, feed, get, lock_station, map_err, query, query_one, query_opt, to_i64,
};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::zones::{ZoneChange, area_json, code_taken, find, zone_from};
use crate::repo::{Actor, NewZone, RepoError, StationId, Zone, ZoneStore, ZoneUpdate};

/// Every zone of the station, with its devices (in id order), in the order added.
async fn load_all<C: GenericClient>(c: &C, station: StationId) -> Result<Vec<Zone>, RepoError> {
    let rows = query(
        c,
        "SELECT z.code, z.name, z.area_json, z.created_at, z.updated_at, z.retired_at,
                coalesce(array_agg(d.device_id ORDER BY d.device_id)
                         FILTER (WHERE d.device_id IS NOT NULL), '{}')
         FROM zones z
         LEFT JOIN zone_devices d ON d.station_id = z.station_id AND d.zone_code = z.code
         WHERE z.station_id = $1
         GROUP BY z.station_id, z.code
         ORDER BY z.position",
        &[&station.0],
    )
    .await?;
    rows.iter().map(|r| zone_from(r, get(r, 6)?)).collect()
}

/// Checks every device is the station's, and stores them as the zone's set.
async fn set_devices(
    tx: &Transaction<'_>,
    station: StationId,
    code: &str,
    devices: &[Uuid],
) -> Result<(), RepoError> {
    let mut unique = devices.to_vec();
    unique.sort();
    unique.dedup();
    let known = query_one(
        tx,
        "SELECT count(*) FROM devices WHERE station_id = $1 AND id = ANY($2)",
        &[&station.0, &unique],
    )
    .await?;
    if get::<i64>(&known, 0)? != to_i64(unique.len() as u64) {
        return Err(RepoError::NotFound("device"));
    }
    execute(
        tx,
        "DELETE FROM zone_devices WHERE station_id = $1 AND zone_code = $2",
        &[&station.0, &code],
    )
    .await?;
    execute(
        tx,
        "INSERT INTO zone_devices (station_id, zone_code, device_id)
         SELECT $1, $2, d FROM unnest($3::uuid[]) AS d",
        &[&station.0, &code, &unique],
    )
    .await?;
    Ok(())
}

/// Writes the feed entry and audit row after a change, commits, returns the zone.
async fn publish(
    tx: Transaction<'_>,
    station: StationId,
    code: &str,
    actor: Actor,
    (change, before): (ZoneChange, Option<&Zone>),
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let zones = load_all(&tx, station).await?;
    let after = find(&zones, code)?;
    let log = ActionLog::zone_changed(actor, change, before, &after, &zones)?;
    feed::log(&tx, station, &log, now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(after)
}

/// Adds a zone; see [`ZoneStore::add_zone`].
async fn add_zone(
    client: &mut Object,
    station: StationId,
    zone: &NewZone,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let exists = query_opt(
        &tx,
        "SELECT 1 FROM zones WHERE station_id = $1 AND code = $2",
        &[&station.0, &zone.code],
    )
    .await?;
    if exists.is_some() {
        return Err(code_taken(&zone.code));
    }
    execute(
        &tx,
        "INSERT INTO zones (station_id, code, position, name, area_json, created_at, updated_at)
         VALUES ($1, $2, (SELECT coalesce(max(position), -1) + 1 FROM zones WHERE station_id = $1),
                 $3, $4, $5, $5)",
        &[
            &station.0,
            &zone.code,
            &zone.name,
            &area_json(zone.area.as_ref())?,
            &now,
        ],
    )
    .await?;
    set_devices(&tx, station, &zone.code, &zone.devices).await?;
    publish(tx, station, &zone.code, actor, (ZoneChange::Add, None), now).await
}

/// Updates a zone; see [`ZoneStore::update_zone`].
async fn update_zone(
    client: &mut Object,
    station: StationId,
    code: &str,
    update: &ZoneUpdate,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Zone, bool), RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let before = find(&load_all(&tx, station).await?, code)?;
    let Some(fields) = update.applied_to(&before)? else {
        return Ok((before, false));
    };
    execute(
        &tx,
        "UPDATE zones SET name = $3, area_json = $4, updated_at = $5
         WHERE station_id = $1 AND code = $2",
        &[
            &station.0,
            &code,
            &fields.name,
            &area_json(fields.area.as_ref())?,
            &now,
        ],
    )
    .await?;
    set_devices(&tx, station, code, &fields.devices).await?;
    let change = (ZoneChange::Update, Some(&before));
    let after = publish(tx, station, code, actor, change, now).await?;
    Ok((after, true))
}

/// Retires a zone; see [`ZoneStore::retire_zone`].
async fn retire_zone(
    client: &mut Object,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Zone, bool), RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let before = find(&load_all(&tx, station).await?, code)?;
    if before.retired_at.is_some() {
        return Ok((before, false));
    }
    execute(
        &tx,
        "UPDATE zones SET retired_at = $3, updated_at = $3 WHERE station_id = $1 AND code = $2",
        &[&station.0, &code, &now],
    )
    .await?;
    let change = (ZoneChange::Retire, Some(&before));
    let after = publish(tx, station, code, actor, change, now).await?;
    Ok((after, true))
}

#[async_trait]
impl ZoneStore for PgRepository {
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError> {
        load_all(&self.client().await?, station).await
    }

    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError> {
        let mut client = self.client().await?;
        add_zone(&mut client, station, &zone, actor, now).await
    }

    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let mut client = self.client().await?;
        update_zone(&mut client, station, code, &update, actor, now).await
    }

    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let mut client = self.client().await?;
        retire_zone(&mut client, station, code, actor, now).await
    }
}
