//! Nearby candidates in PostgreSQL, through a grid: each report's `cell`
//! (0.0005 degrees of latitude by 0.0005 of longitude, about 55 m by 44 m in
//! Seoul) with the B-tree index `reports_by_cell (station_id, cell,
//! created_at)`. A search reads every cell its box touches (3 by 3 to 3 by 4
//! around Seoul for 50 m) within its time window; `repo::nearby` applies the
//! rules. No PostGIS needed.

use async_trait::async_trait;

use super::{PgRepository, query};
use crate::repo::nearby::candidate_from;
use crate::repo::{NearbyCandidate, NearbySearch, NearbyStore, RepoError, StationId};

/// Grid cells per degree, on both axes.
const CELLS_PER_DEGREE: f64 = 2000.0;
/// Cell numbers of one row of latitude: more than the 720,000 columns of longitude.
const ROW: i64 = 1_000_000;
/// Most cells one search reads: far more than 50 m needs anywhere people
/// live (12 in Seoul); a box wider than this (near a pole) reads by box only.
const MAX_CELLS: usize = 400;

/// The grid row and column of a position. The migration backfilling `cell`
/// (`0004_report_geography.sql`) computes the same with the same IEEE
/// arithmetic: `floor((lat + 90) * 2000) * 1000000 + floor((lon + 180) * 2000)`.
fn row_col(lat: f64, lon: f64) -> (i64, i64) {
    (
        ((lat + 90.0) * CELLS_PER_DEGREE).floor() as i64,
        ((lon + 180.0) * CELLS_PER_DEGREE).floor() as i64,
    )
}

/// The grid cell of a position, as the `cell` column stores it.
pub(crate) fn cell(lat: f64, lon: f64) -> i64 {
    let (row, col) = row_col(lat, lon);
    row * ROW + col
}

/// Every cell the search's box touches; `None` when that is more than [`MAX_CELLS`].
fn cells(search: &NearbySearch) -> Option<Vec<i64>> {
    let (south, west) = row_col(search.south, search.west);
    let (north, east) = row_col(search.north, search.east);
    let count = usize::try_from((north - south + 1) * (east - west + 1)).ok()?;
    (count <= MAX_CELLS).then(|| {
        (south..=north)
            .flat_map(|row| (west..=east).map(move |col| row * ROW + col))
            .collect()
    })
}

/// Candidates in the given cells (the index's ranges), in the time window,
/// of the categories, in the exact box.
const BY_CELLS: &str = "
SELECT r.id, r.category, r.status, r.created_at, r.lat, r.lon,
       (SELECT count(*) FROM report_photos p
        WHERE p.station_id = r.station_id AND p.report_id = r.id)
FROM reports r
WHERE r.station_id = $1 AND r.cell = ANY($2) AND r.created_at BETWEEN $3 AND $4
  AND r.id <> $5 AND r.category = ANY($6)
  AND r.lat BETWEEN $7 AND $8 AND r.lon BETWEEN $9 AND $10";

/// The same without cells, for a box too wide for the grid.
const BY_BOX: &str = "
SELECT r.id, r.category, r.status, r.created_at, r.lat, r.lon,
       (SELECT count(*) FROM report_photos p
        WHERE p.station_id = r.station_id AND p.report_id = r.id)
FROM reports r
WHERE r.station_id = $1 AND r.created_at BETWEEN $2 AND $3
  AND r.id <> $4 AND r.category = ANY($5)
  AND r.lat BETWEEN $6 AND $7 AND r.lon BETWEEN $8 AND $9";

#[async_trait]
impl NearbyStore for PgRepository {
    async fn nearby_candidates(
        &self,
        station: StationId,
        search: &NearbySearch,
    ) -> Result<Vec<NearbyCandidate>, RepoError> {
        let client = self.client().await?;
        let id = search.exclude.as_uuid();
        let rows = match cells(search) {
            Some(cells) => {
                query(
                    &client,
                    BY_CELLS,
                    &[
                        &station.0,
                        &cells,
                        &search.from,
                        &search.until,
                        &id,
                        &search.categories,
                        &search.south,
                        &search.north,
                        &search.west,
                        &search.east,
                    ],
                )
                .await?
            }
            None => {
                query(
                    &client,
                    BY_BOX,
                    &[
                        &station.0,
                        &search.from,
                        &search.until,
                        &id,
                        &search.categories,
                        &search.south,
                        &search.north,
                        &search.west,
                        &search.east,
                    ],
                )
                .await?
            }
        };
        rows.iter().map(candidate_from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use postcso_model::ReportId;

    #[test]
    fn a_50_m_box_in_seoul_reads_a_few_neighbouring_cells() {
        let (lat, lon): (f64, f64) = (37.5509, 126.9250);
        let dlat = 50.0 / 110_574.0;
        let dlon = 50.0 / (111_320.0 * lat.to_radians().cos());
        let search = NearbySearch {
            exclude: ReportId::new(),
            lat,
            lon,
            south: lat - dlat,
            north: lat + dlat,
            west: lon - dlon,
            east: lon + dlon,
            from: Utc::now(),
            until: Utc::now(),
            categories: vec![],
        };
        let cells = cells(&search).expect("few cells");
        assert!((6..=12).contains(&cells.len()), "{}", cells.len());
        assert!(cells.contains(&cell(lat, lon)));
        assert!(cells.contains(&cell(search.north, search.east)));
        assert!(cells.contains(&cell(search.south, search.west)));
        // Columns and rows do not run into each other.
        assert_eq!(cell(37.0, 180.0) - cell(37.0, -180.0), 720_000);
        assert_eq!(cell(37.0005, 126.0) - cell(37.0, 126.0), ROW);
    }
}
