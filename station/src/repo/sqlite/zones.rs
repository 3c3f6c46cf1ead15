//! Zones in SQLite: reading, adding, updating and retiring, each write with
//! its feed entry (the whole list) and audit row inside the caller's
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::columns::Columns;
use crate::repo::feed::ActionLog;
use crate::repo::zones::{ZoneChange, area_json, code_taken, find, zone_from};
use crate::repo::{Actor, NewZone, RepoError, StationId, Zone, ZoneStore, ZoneUpdate};

/// Every zone of the station, with its devices, in the order added.
fn load_all(conn: &Connection, station: StationId) -> Result<Vec<Zone>, RepoError> {
    let mut zones = all_rows(
        conn,
        "SELECT code, name, area_json, created_at, updated_at, retired_at FROM zones
         WHERE station_id = ?1 ORDER BY position",
        [station.to_string()],
        |r| zone_from(r, Vec::new()),
    )?;
    for zone in &mut zones {
        zone.devices = all_rows(
            conn,
            "SELECT device_id FROM zone_devices WHERE station_id = ?1 AND zone_code = ?2
             ORDER BY device_id",
            params![station.to_string(), zone.code],
            |r| r.uuid(0),
        )?;
    }
    Ok(zones)
}

/// Checks every device is the station's, and stores them as the zone's set.
fn set_devices(
    conn: &Connection,
    station: StationId,
    code: &str,
    devices: &[Uuid],
) -> Result<(), RepoError> {
    for device in devices {
        let known = first_row(
            conn,
            "SELECT 1 FROM devices WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), device.to_string()],
            |r| r.int(0),
        )?;
        if known.is_none() {
            return Err(RepoError::NotFound("device"));
        }
    }
    conn.execute(
        "DELETE FROM zone_devices WHERE station_id = ?1 AND zone_code = ?2",
        params![station.to_string(), code],
    )
    .map_err(map_err)?;
    for device in devices {
        conn.execute(
            "INSERT OR IGNORE INTO zone_devices (station_id, zone_code, device_id)
             VALUES (?1, ?2, ?3)",
            params![station.to_string(), code, device.to_string()],
        )
        .map_err(map_err)?;
    }
    Ok(())
}

/// Writes the feed entry and audit row after a change, returns the zone.
fn publish(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: Actor,
    (change, before): (ZoneChange, Option<&Zone>),
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let zones = load_all(conn, station)?;
    let after = find(&zones, code)?;
    let log = ActionLog::zone_changed(actor, change, before, &after, &zones)?;
    feed::log(conn, station, &log, now)?;
    Ok(after)
}

/// Adds a zone; see [`ZoneStore::add_zone`].
fn add_zone(
    conn: &Connection,
    station: StationId,
    zone: &NewZone,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let exists = first_row(
        conn,
        "SELECT 1 FROM zones WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), zone.code],
        |r| r.int(0),
    )?;
    if exists.is_some() {
        return Err(code_taken(&zone.code));
    }
    conn.execute(
        "INSERT INTO zones (station_id, code, position, name, area_json, created_at, updated_at)
         VALUES (?1, ?2, (SELECT coalesce(max(position), -1) + 1 FROM zones WHERE station_id = ?1),
                 ?3, ?4, ?5, ?5)",
        params![
            station.to_string(),
            zone.code,
            zone.name,
            area_json(zone.area.as_ref())?,
            ts(now)
        ],
    )
    .map_err(map_err)?;
    set_devices(conn, station, &zone.code, &zone.devices)?;
    publish(
        conn,
        station,
        &zone.code,
        actor,
        (ZoneChange::Add, None),
        now,
    )
}

/// Updates a zone; see [`ZoneStore::update_zone`].
fn update_zone(
    conn: &Connection,
    station: StationId,
    code: &str,
    update: &ZoneUpdate,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Zone, bool), RepoError> {
    let before = find(&load_all(conn, station)?, code)?;
    let Some(fields) = update.applied_to(&before)? else {
        return Ok((before, false));
    };
    conn.execute(
        "UPDATE zones SET name = ?3, area_json = ?4, updated_at = ?5
         WHERE station_id = ?1 AND code = ?2",
        params![
            station.to_string(),
            code,
            fields.name,
            area_json(fields.area.as_ref())?,
            ts(now)
        ],
    )
    .map_err(map_err)?;
    set_devices(conn, station, code, &fields.devices)?;
    let change = (ZoneChange::Update, Some(&before));
    Ok((publish(conn, station, code, actor, change, now)?, true))
}

/// Retires a zone; see [`ZoneStore::retire_zone`].
fn retire_zone(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Zone, bool), RepoError> {
    let before = find(&load_all(conn, station)?, code)?;
    if before.retired_at.is_some() {
        return Ok((before, false));
    }
    conn.execute(
        "UPDATE zones SET retired_at = ?3, updated_at = ?3 WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), code, ts(now)],
    )
    .map_err(map_err)?;
    let change = (ZoneChange::Retire, Some(&before));
    Ok((publish(conn, station, code, actor, change, now)?, true))
}

#[async_trait]
impl ZoneStore for SqliteRepository {
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError> {
        self.read(move |conn| load_all(conn, station)).await
    }

    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError> {
        self.write_tx(move |tx| add_zone(tx, station, &zone, actor, now))
            .await
    }

    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let code = code.to_owned();
        self.write_tx(move |tx| update_zone(tx, station, &code, &update, actor, now))
            .await
    }

    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let code = code.to_owned();
        self.write_tx(move |tx| retire_zone(tx, station, &code, actor, now))
            .await
    }
}
