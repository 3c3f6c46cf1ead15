//! Placements in PostgreSQL: the zones' version a placing cache is keyed by,
//! and the startup backfill's reads and writes.

use async_trait::async_trait;
use postcso_model::ReportId;

use super::{PgRepository, execute, map_err, query, query_one};
use crate::repo::columns::Columns;
use crate::repo::places::unplaced_from;
use crate::repo::{PlaceStore, Placement, RepoError, StationId, UnplacedReport, ZonesVersion};

#[async_trait]
impl PlaceStore for PgRepository {
    async fn zones_version(&self, station: StationId) -> Result<ZonesVersion, RepoError> {
        let row = query_one(
            &self.client().await?,
            "SELECT count(*), max(updated_at) FROM zones WHERE station_id = $1",
            &[&station.0],
        )
        .await?;
        Ok(ZonesVersion {
            count: row.count(0)?,
            last_change: row.opt_time(1)?,
        })
    }

    async fn unplaced_reports(&self, limit: u32) -> Result<Vec<UnplacedReport>, RepoError> {
        let rows = query(
            &self.client().await?,
            "SELECT station_id, id, lat, lon, created_at FROM reports
             WHERE zones_json IS NULL ORDER BY received_at, id LIMIT $1",
            &[&i64::from(limit)],
        )
        .await?;
        rows.iter().map(unplaced_from).collect()
    }

    async fn set_placements(
        &self,
        placements: Vec<(StationId, ReportId, Placement)>,
    ) -> Result<u64, RepoError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let mut set = 0;
        for (station, id, placement) in &placements {
            let district = placement.district.as_ref();
            set += execute(
                &tx,
                "UPDATE reports SET district_code = $3, district_name = $4, zones_json = $5,
                        outside_jurisdiction = $6, boundary_distance_m = $7
                 WHERE station_id = $1 AND id = $2 AND zones_json IS NULL",
                &[
                    &station.0,
                    &id.as_uuid(),
                    &district.map(|d| d.code.as_str()),
                    &district.map(|d| d.name.as_str()),
                    &placement.zones_json()?,
                    &placement.outside_jurisdiction,
                    &placement.boundary_distance_m,
                ],
            )
            .await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(set)
    }
}
