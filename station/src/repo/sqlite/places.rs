//! Placements in SQLite: the zones' version a placing cache is keyed by, and
//! the startup backfill's reads and writes.

use async_trait::async_trait;
use postcso_model::ReportId;
use rusqlite::params;

use super::rows::{all_rows, first_row};
use super::{SqliteRepository, map_err};
use crate::repo::columns::Columns;
use crate::repo::places::unplaced_from;
use crate::repo::{PlaceStore, Placement, RepoError, StationId, UnplacedReport, ZonesVersion};

#[async_trait]
impl PlaceStore for SqliteRepository {
    async fn zones_version(&self, station: StationId) -> Result<ZonesVersion, RepoError> {
        self.read(move |conn| {
            first_row(
                conn,
                "SELECT count(*), max(updated_at) FROM zones WHERE station_id = ?1",
                [station.to_string()],
                |r| {
                    Ok(ZonesVersion {
                        count: r.count(0)?,
                        last_change: r.opt_time(1)?,
                    })
                },
            )
            .map(Option::unwrap_or_default)
        })
        .await
    }

    async fn unplaced_reports(&self, limit: u32) -> Result<Vec<UnplacedReport>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                "SELECT station_id, id, lat, lon, created_at FROM reports
                 WHERE zones_json IS NULL ORDER BY place_seq LIMIT ?1",
                [i64::from(limit)],
                |r| unplaced_from(r),
            )
        })
        .await
    }

    async fn set_placements(
        &self,
        placements: Vec<(StationId, ReportId, Placement)>,
    ) -> Result<u64, RepoError> {
        self.write_tx(move |tx| {
            let mut set = 0;
            for (station, id, placement) in &placements {
                let district = placement.district.as_ref();
                let zones_json = placement.zones_json()?;
                set += tx
                    .prepare_cached(
                        "UPDATE reports SET district_code = ?3, district_name = ?4,
                                zones_json = ?5, outside_jurisdiction = ?6,
                                boundary_distance_m = ?7
                         WHERE station_id = ?1 AND id = ?2 AND zones_json IS NULL",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            station.to_string(),
                            id.to_string(),
                            district.map(|d| d.code.as_str()),
                            district.map(|d| d.name.as_str()),
                            zones_json,
                            placement.outside_jurisdiction,
                            placement.boundary_distance_m,
                        ])
                    })
                    .map_err(map_err)?;
            }
            Ok(set as u64)
        })
        .await
    }
}
