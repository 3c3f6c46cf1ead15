//! Zones in SQLite: reading, adding, updating, retiring and importing, each
//! write with its feed entry per changed zone and audit row inside the
//! caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::columns::Columns;
use crate::repo::feed::ActionLog;
use crate::repo::zones::{
    ImportStep, ZONE_COLUMNS, ZoneChange, ZoneFields, area_json, code_taken, find, plan_import,
    zone_from,
};
use crate::repo::{
    Actor, ImportOutcome, ImportedZone, NewZone, RepoError, StationId, Zone, ZoneStore, ZoneUpdate,
};

/// The station's zones (all, or the one of `code`), with their devices, in
/// the order added.
fn load(conn: &Connection, station: StationId, code: Option<&str>) -> Result<Vec<Zone>, RepoError> {
    let sql = format!(
        "SELECT {ZONE_COLUMNS} FROM zones
         WHERE station_id = ?1 AND (?2 IS NULL OR code = ?2) ORDER BY position"
    );
    let mut zones = all_rows(conn, &sql, params![station.to_string(), code], |r| {
        zone_from(r, Vec::new())
    })?;
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

/// Every zone of the station.
fn load_all(conn: &Connection, station: StationId) -> Result<Vec<Zone>, RepoError> {
    load(conn, station, None)
}

/// The zone of `code`; `NotFound("zone")`.
fn load_one(conn: &Connection, station: StationId, code: &str) -> Result<Zone, RepoError> {
    find(&load(conn, station, Some(code))?, code)
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

/// Inserts a new zone with its devices.
fn insert(
    conn: &Connection,
    station: StationId,
    code: &str,
    fields: &ZoneFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute(
        "INSERT INTO zones (station_id, code, position, name, area_json, created_at, updated_at,
                           kind, theme, name_en, guidance, valid_from, valid_until)
         VALUES (?1, ?2, (SELECT coalesce(max(position), -1) + 1 FROM zones WHERE station_id = ?1),
                 ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            station.to_string(),
            code,
            fields.name,
            area_json(fields.area.as_ref())?,
            ts(now),
            fields.kind.as_str(),
            fields.theme,
            fields.name_en,
            fields.guidance,
            fields.valid_from.map(ts),
            fields.valid_until.map(ts),
        ],
    )
    .map_err(map_err)?;
    set_devices(conn, station, code, &fields.devices)
}

/// Overwrites an existing zone's fields; its devices only when they differ
/// from `before`'s.
fn overwrite(
    conn: &Connection,
    station: StationId,
    before: &Zone,
    fields: &ZoneFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute(
        "UPDATE zones SET name = ?3, area_json = ?4, updated_at = ?5, kind = ?6, theme = ?7,
                          name_en = ?8, guidance = ?9, valid_from = ?10, valid_until = ?11
         WHERE station_id = ?1 AND code = ?2",
        params![
            station.to_string(),
            before.code,
            fields.name,
            area_json(fields.area.as_ref())?,
            ts(now),
            fields.kind.as_str(),
            fields.theme,
            fields.name_en,
            fields.guidance,
            fields.valid_from.map(ts),
            fields.valid_until.map(ts),
        ],
    )
    .map_err(map_err)?;
    if fields.devices != before.devices {
        set_devices(conn, station, &before.code, &fields.devices)?;
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
    let after = load_one(conn, station, code)?;
    let log = ActionLog::zone_changed(actor, change, before, &after)?;
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
    let fields = ZoneFields::new(zone, zone.devices.clone());
    insert(conn, station, &zone.code, &fields, now)?;
    let change = (ZoneChange::Add, None);
    publish(conn, station, &zone.code, actor, change, now)
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
    let before = load_one(conn, station, code)?;
    let Some(fields) = update.applied_to(&before)? else {
        return Ok((before, false));
    };
    overwrite(conn, station, &before, &fields, now)?;
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
    let before = load_one(conn, station, code)?;
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

/// Imports zones; see [`ZoneStore::import_zones`]. Runs in the caller's
/// transaction, so any error rolls back every zone written before it.
fn import_zones(
    conn: &Connection,
    station: StationId,
    zones: &[NewZone],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<ImportedZone>, RepoError> {
    let plan = plan_import(&load_all(conn, station)?, zones)?;
    let mut imported = Vec::with_capacity(plan.len());
    for (code, step) in plan {
        let (outcome, zone) = match step {
            ImportStep::Unchanged(zone) => (ImportOutcome::Unchanged, *zone),
            ImportStep::Add(fields) => {
                insert(conn, station, &code, &fields, now)?;
                let change = (ZoneChange::Add, None);
                let zone = publish(conn, station, &code, actor.clone(), change, now)?;
                (ImportOutcome::Added, zone)
            }
            ImportStep::Update { before, fields } => {
                overwrite(conn, station, &before, &fields, now)?;
                let change = (ZoneChange::Update, Some(&*before));
                let zone = publish(conn, station, &code, actor.clone(), change, now)?;
                (ImportOutcome::Updated, zone)
            }
        };
        imported.push(ImportedZone { outcome, zone });
    }
    Ok(imported)
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

    async fn import_zones(
        &self,
        station: StationId,
        zones: Vec<NewZone>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportedZone>, RepoError> {
        self.write_tx(move |tx| import_zones(tx, station, &zones, &actor, now))
            .await
    }
}
