//! Zones in SQLite: reading, adding, updating and retiring, each write with
//! its feed entry (the whole list) and audit row inside the caller's
//! transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ZoneArea;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::rows::{get_ts, invalid_text, parse_ts, ts};
use super::{SqliteRepository, map_err};
use crate::repo::{Actor, NewZone, RepoError, StationId, Zone, ZoneFields, ZoneStore, ZoneUpdate};

fn area_json(area: Option<&ZoneArea>) -> Result<Option<String>, RepoError> {
    area.map(serde_json::to_string)
        .transpose()
        .map_err(|e| RepoError::Storage(format!("cannot serialise a zone area: {e}")))
}

/// Every zone of the station, with its devices, in the order added.
fn load_all(conn: &Connection, station: StationId) -> Result<Vec<Zone>, RepoError> {
    let mut stmt = conn
        .prepare(
            "SELECT code, name, area_json, created_at, updated_at, retired_at FROM zones
             WHERE station_id = ?1 ORDER BY position",
        )
        .map_err(map_err)?;
    let heads = stmt
        .query_map([station.to_string()], |r| {
            let area: Option<String> = r.get(2)?;
            let area = area
                .map(|text| serde_json::from_str::<ZoneArea>(&text))
                .transpose()
                .map_err(|_| invalid_text(2, "bad zone area JSON"))?;
            let retired_at: Option<String> = r.get(5)?;
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                area,
                get_ts(r, 3)?,
                get_ts(r, 4)?,
                retired_at,
            ))
        })
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    let mut devices = conn
        .prepare(
            "SELECT device_id FROM zone_devices WHERE station_id = ?1 AND zone_code = ?2
             ORDER BY device_id",
        )
        .map_err(map_err)?;
    let mut zones = Vec::with_capacity(heads.len());
    for (code, name, area, created_at, updated_at, retired_at) in heads {
        let ids = devices
            .query_map(params![station.to_string(), code], |r| {
                let text: String = r.get(0)?;
                Uuid::parse_str(&text).map_err(|_| invalid_text(0, "bad device id"))
            })
            .map_err(map_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_err)?;
        zones.push(Zone {
            code,
            name,
            area,
            devices: ids,
            created_at,
            updated_at,
            retired_at: retired_at.as_deref().map(parse_ts).transpose()?,
        });
    }
    Ok(zones)
}

fn find(zones: &[Zone], code: &str) -> Result<Zone, RepoError> {
    zones
        .iter()
        .find(|z| z.code == code)
        .cloned()
        .ok_or(RepoError::NotFound("zone"))
}

/// Checks every device is the station's, and stores them as the zone's set.
fn set_devices(
    conn: &Connection,
    station: StationId,
    code: &str,
    devices: &[Uuid],
) -> Result<(), RepoError> {
    for device in devices {
        let known: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM devices WHERE station_id = ?1 AND id = ?2",
                params![station.to_string(), device.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(map_err)?;
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
    actor: &Actor,
    action: &str,
    before: Option<&Zone>,
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let zones = load_all(conn, station)?;
    let after = find(&zones, code)?;
    feed::append_zones(conn, station, &zones, now)?;
    feed::append_audit(
        conn,
        station,
        actor,
        AuditRecord {
            action,
            target_kind: "zone",
            target_id: code.to_owned(),
            before: before.map(Zone::audit_view),
            after: Some(after.audit_view()),
        },
        now,
    )?;
    Ok(after)
}

/// Adds a zone; see [`ZoneStore::add_zone`].
fn add_zone(
    conn: &Connection,
    station: StationId,
    zone: &NewZone,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM zones WHERE station_id = ?1 AND code = ?2",
            params![station.to_string(), zone.code],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    if exists.is_some() {
        return Err(RepoError::Conflict(format!(
            "zone `{}` already exists in this station (retired zones keep their code)",
            zone.code
        )));
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
    publish(conn, station, &zone.code, actor, "zone.add", None, now)
}

/// Updates a zone; see [`ZoneStore::update_zone`].
fn update_zone(
    conn: &Connection,
    station: StationId,
    code: &str,
    update: &ZoneUpdate,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(Zone, bool), RepoError> {
    let before = find(&load_all(conn, station)?, code)?;
    let Some(ZoneFields {
        name,
        area,
        devices,
    }) = update.applied_to(&before)?
    else {
        return Ok((before, false));
    };
    conn.execute(
        "UPDATE zones SET name = ?3, area_json = ?4, updated_at = ?5
         WHERE station_id = ?1 AND code = ?2",
        params![
            station.to_string(),
            code,
            name,
            area_json(area.as_ref())?,
            ts(now)
        ],
    )
    .map_err(map_err)?;
    set_devices(conn, station, code, &devices)?;
    let after = publish(
        conn,
        station,
        code,
        actor,
        "zone.update",
        Some(&before),
        now,
    )?;
    Ok((after, true))
}

/// Retires a zone; see [`ZoneStore::retire_zone`].
fn retire_zone(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: &Actor,
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
    let after = publish(
        conn,
        station,
        code,
        actor,
        "zone.retire",
        Some(&before),
        now,
    )?;
    Ok((after, true))
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
        self.write_tx(move |tx| add_zone(tx, station, &zone, &actor, now))
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
        self.write_tx(move |tx| update_zone(tx, station, &code, &update, &actor, now))
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
        self.write_tx(move |tx| retire_zone(tx, station, &code, &actor, now))
            .await
    }
}
