//! The station's zones as the phone keeps them: replaced whole by a `zones`
//! entry of the changes feed, one by one by `zone` entries; read by the app to
//! show the carrier's beat, and indexed for place questions (`places.rs`).

use rusqlite::params;

use super::{QueueError, ReportQueue};
use crate::model::{ZoneArea, ZoneInfo, ZoneKind};

impl ReportQueue {
    /// The zones the station last sent, retired ones included, in its order.
    /// Empty until the first sync that brought any.
    pub fn zones(&self) -> Result<Vec<ZoneInfo>, QueueError> {
        self.store.read(load_zones)
    }

    /// Replaces the zones with the station's list, durably and atomically.
    /// The place index follows (see [`ReportQueue::local_zones`]).
    pub fn replace_zones(&self, zones: &[ZoneInfo]) -> Result<(), QueueError> {
        self.store.write(|tx| -> Result<(), QueueError> {
            tx.execute("DELETE FROM zones", [])?;
            for zone in zones {
                upsert(tx, zone)?;
            }
            Ok(())
        })?;
        self.places.mark_stale();
        Ok(())
    }

    /// Adds a zone the station added, or replaces the local copy of one it
    /// changed (by code), durably: the feed's zone deltas. The place index
    /// follows (see [`ReportQueue::local_zones`]).
    pub fn upsert_zone(&self, zone: &ZoneInfo) -> Result<(), QueueError> {
        self.store.write(|tx| upsert(tx, zone))?;
        self.places.mark_stale();
        Ok(())
    }
}

/// Reads every stored zone, in the station's order. A zone stored by schema
/// version 4 (before kinds and names) reads as a beat in force.
pub(super) fn load_zones(tx: &rusqlite::Transaction<'_>) -> Result<Vec<ZoneInfo>, QueueError> {
    let mut stmt = tx.prepare(
        "SELECT code, name, area_json, assigned, retired, zone_json FROM zones \
         ORDER BY position",
    )?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                r.get::<_, Option<String>>(2)?,
                (r.get::<_, bool>(3)?, r.get::<_, bool>(4)?),
                r.get::<_, Option<String>>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .map(|((code, name), area, (assigned, retired), whole)| {
            let area: Option<ZoneArea> = area.and_then(|text| serde_json::from_str(&text).ok());
            match whole.and_then(|text| serde_json::from_str::<ZoneInfo>(&text).ok()) {
                Some(zone) => ZoneInfo { area, ..zone },
                None => ZoneInfo {
                    code,
                    kind: ZoneKind::Beat,
                    theme: None,
                    name,
                    name_en: None,
                    guidance: None,
                    valid_from: None,
                    valid_until: None,
                    area,
                    assigned,
                    retired,
                },
            }
        })
        .collect())
}

/// Stores one zone in place of any of the same code, keeping its position
/// (or appending it). An outline that fails validation is dropped (the zone is
/// kept without it), so a bad outline can never break the app's map.
fn upsert(tx: &rusqlite::Transaction<'_>, zone: &ZoneInfo) -> Result<(), QueueError> {
    let area = zone
        .area
        .as_ref()
        .filter(|a| a.validate().is_ok())
        .and_then(|a: &ZoneArea| serde_json::to_string(a).ok());
    let whole = serde_json::to_string(&ZoneInfo {
        area: None,
        ..zone.clone()
    })
    .ok();
    tx.execute(
        "INSERT INTO zones (position, code, name, area_json, assigned, retired, zone_json) \
         VALUES ((SELECT COALESCE(MAX(position), -1) + 1 FROM zones), ?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, area_json = excluded.area_json, \
         assigned = excluded.assigned, retired = excluded.retired, zone_json = excluded.zone_json",
        params![
            zone.code,
            zone.name,
            area,
            zone.assigned,
            zone.retired,
            whole
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueueConfig;
    use crate::secrets::FileSecretStore;

    fn zone(code: &str, area: Option<ZoneArea>) -> ZoneInfo {
        ZoneInfo {
            code: code.to_owned(),
            kind: ZoneKind::Beat,
            theme: None,
            name: format!("Zone {code}"),
            name_en: None,
            guidance: None,
            valid_from: None,
            valid_until: None,
            area,
            assigned: code == "route-1",
            retired: false,
        }
    }

    fn square() -> ZoneArea {
        ZoneArea::Polygon {
            coordinates: vec![vec![
                [126.93, 37.56],
                [126.94, 37.56],
                [126.94, 37.57],
                [126.93, 37.56],
            ]],
        }
    }

    #[test]
    fn zones_are_replaced_whole_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let queue = ReportQueue::open(
            QueueConfig::new(dir.path()),
            FileSecretStore::in_data_dir(dir.path()),
        )
        .unwrap();
        assert!(queue.zones().unwrap().is_empty());
        queue
            .replace_zones(&[zone("route-1", Some(square())), zone("route-2", None)])
            .unwrap();
        let mut second = zone("route-2", None);
        second.retired = true;
        let latest = vec![zone("route-1", Some(square())), second];
        queue.replace_zones(&latest).unwrap();
        drop(queue);
        let queue = ReportQueue::open(
            QueueConfig::new(dir.path()),
            FileSecretStore::in_data_dir(dir.path()),
        )
        .unwrap();
        assert_eq!(queue.zones().unwrap(), latest);
    }

    #[test]
    fn an_invalid_outline_is_dropped_but_the_zone_kept() {
        let dir = tempfile::tempdir().unwrap();
        let queue = ReportQueue::open(
            QueueConfig::new(dir.path()),
            FileSecretStore::in_data_dir(dir.path()),
        )
        .unwrap();
        let open_ring = ZoneArea::Polygon {
            coordinates: vec![vec![[1.0, 1.0], [2.0, 1.0], [2.0, 2.0], [1.0, 2.0]]],
        };
        queue
            .replace_zones(&[zone("route-9", Some(open_ring))])
            .unwrap();
        let zones = queue.zones().unwrap();
        assert_eq!(zones.len(), 1);
        assert_eq!(zones[0].code, "route-9");
        assert_eq!(zones[0].area, None);
    }
}
