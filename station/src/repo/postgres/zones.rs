//! Zones in PostgreSQL: reading, adding, updating, retiring and importing,
//! each write with its feed entry per changed zone and audit row in one
//! transaction.
//!
//! Writes take the station row's lock first, so one station's zone changes
//! queue: the existence check, the position and an import's plan are each
//! computed from the previous change's result.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};
use uuid::Uuid;

use super::{
    PgRepository, execute, feed, get, lock_station, map_err, query, query_one, query_opt, to_i64,
};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::zones::{
    ImportStep, ZoneChange, ZoneFields, area_json, code_taken, find, plan_import, zone_from,
};
use crate::repo::{
    Actor, ImportOutcome, ImportedZone, NewZone, RepoError, StationId, Zone, ZoneStore, ZoneUpdate,
};

/// The station's zones (all, or the one of `code`), with their devices (in
/// id order), in the order added. Columns as `crate::repo::zones::ZONE_COLUMNS`,
/// then the devices.
async fn load<C: GenericClient>(
    c: &C,
    station: StationId,
    code: Option<&str>,
) -> Result<Vec<Zone>, RepoError> {
    let rows = query(
        c,
        "SELECT z.code, z.name, z.area_json, z.created_at, z.updated_at, z.retired_at,
                z.kind, z.theme, z.name_en, z.guidance, z.valid_from, z.valid_until,
                coalesce(array_agg(d.device_id ORDER BY d.device_id)
                         FILTER (WHERE d.device_id IS NOT NULL), '{}')
         FROM zones z
         LEFT JOIN zone_devices d ON d.station_id = z.station_id AND d.zone_code = z.code
         WHERE z.station_id = $1 AND ($2::text IS NULL OR z.code = $2)
         GROUP BY z.station_id, z.code
         ORDER BY z.position",
        &[&station.0, &code],
    )
    .await?;
    rows.iter().map(|r| zone_from(r, get(r, 12)?)).collect()
}

/// The zone of `code`; `NotFound("zone")`.
async fn load_one<C: GenericClient>(
    c: &C,
    station: StationId,
    code: &str,
) -> Result<Zone, RepoError> {
    find(&load(c, station, Some(code)).await?, code)
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

/// Inserts a new zone with its devices.
async fn insert(
    tx: &Transaction<'_>,
    station: StationId,
    code: &str,
    fields: &ZoneFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        tx,
        "INSERT INTO zones (station_id, code, position, name, area_json, created_at, updated_at,
                           kind, theme, name_en, guidance, valid_from, valid_until)
         VALUES ($1, $2, (SELECT coalesce(max(position), -1) + 1 FROM zones WHERE station_id = $1),
                 $3, $4, $5, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &station.0,
            &code,
            &fields.name,
            &area_json(fields.area.as_ref())?,
            &now,
            &fields.kind.as_str(),
            &fields.theme,
            &fields.name_en,
            &fields.guidance,
            &fields.valid_from,
            &fields.valid_until,
        ],
    )
    .await?;
    set_devices(tx, station, code, &fields.devices).await
}

/// Overwrites an existing zone's fields; its devices only when they differ
/// from `before`'s.
async fn overwrite(
    tx: &Transaction<'_>,
    station: StationId,
    before: &Zone,
    fields: &ZoneFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        tx,
        "UPDATE zones SET name = $3, area_json = $4, updated_at = $5, kind = $6, theme = $7,
                          name_en = $8, guidance = $9, valid_from = $10, valid_until = $11
         WHERE station_id = $1 AND code = $2",
        &[
            &station.0,
            &before.code,
            &fields.name,
            &area_json(fields.area.as_ref())?,
            &now,
            &fields.kind.as_str(),
            &fields.theme,
            &fields.name_en,
            &fields.guidance,
            &fields.valid_from,
            &fields.valid_until,
        ],
    )
    .await?;
    if fields.devices != before.devices {
        set_devices(tx, station, &before.code, &fields.devices).await?;
    }
    Ok(())
}

/// Writes the feed entry and audit row after a change (not committing),
/// returns the zone.
async fn publish(
    tx: &Transaction<'_>,
    station: StationId,
    code: &str,
    actor: Actor,
    (change, before): (ZoneChange, Option<&Zone>),
    now: DateTime<Utc>,
) -> Result<Zone, RepoError> {
    let after = load_one(tx, station, code).await?;
    let log = ActionLog::zone_changed(actor, change, before, &after)?;
    feed::log(tx, station, &log, now).await?;
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
    let fields = ZoneFields::new(zone, zone.devices.clone());
    insert(&tx, station, &zone.code, &fields, now).await?;
    let change = (ZoneChange::Add, None);
    let after = publish(&tx, station, &zone.code, actor, change, now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(after)
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
    let before = load_one(&tx, station, code).await?;
    let Some(fields) = update.applied_to(&before)? else {
        return Ok((before, false));
    };
    overwrite(&tx, station, &before, &fields, now).await?;
    let change = (ZoneChange::Update, Some(&before));
    let after = publish(&tx, station, code, actor, change, now).await?;
    tx.commit().await.map_err(map_err)?;
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
    let before = load_one(&tx, station, code).await?;
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
    let after = publish(&tx, station, code, actor, change, now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok((after, true))
}

/// Imports zones; see [`ZoneStore::import_zones`]. One transaction: any
/// error drops it uncommitted, so nothing of the import is left.
async fn import_zones(
    client: &mut Object,
    station: StationId,
    zones: &[NewZone],
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<ImportedZone>, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let plan = plan_import(&load(&tx, station, None).await?, zones)?;
    let mut imported = Vec::with_capacity(plan.len());
    for (code, step) in plan {
        let (outcome, zone) = match step {
            ImportStep::Unchanged(zone) => (ImportOutcome::Unchanged, *zone),
            ImportStep::Add(fields) => {
                insert(&tx, station, &code, &fields, now).await?;
                let change = (ZoneChange::Add, None);
                let zone = publish(&tx, station, &code, actor.clone(), change, now).await?;
                (ImportOutcome::Added, zone)
            }
            ImportStep::Update { before, fields } => {
                overwrite(&tx, station, &before, &fields, now).await?;
                let change = (ZoneChange::Update, Some(&*before));
                let zone = publish(&tx, station, &code, actor.clone(), change, now).await?;
                (ImportOutcome::Updated, zone)
            }
        };
        imported.push(ImportedZone { outcome, zone });
    }
    tx.commit().await.map_err(map_err)?;
    Ok(imported)
}

#[async_trait]
impl ZoneStore for PgRepository {
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError> {
        load(&self.client().await?, station, None).await
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

    async fn import_zones(
        &self,
        station: StationId,
        zones: Vec<NewZone>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportedZone>, RepoError> {
        let mut client = self.client().await?;
        import_zones(&mut client, station, &zones, &actor, now).await
    }
}
