//! Nearby candidates in SQLite, through the R*Tree `report_rtree` (position
//! and created_at of every report, keyed by `place_seq`).

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteRepository;
use super::rows::all_rows;
use crate::repo::nearby::candidate_from;
use crate::repo::{NearbyCandidate, NearbySearch, NearbyStore, RepoError, StationId};

/// The tree is read first (`CROSS JOIN` keeps SQLite from starting at
/// `reports`), then each hit's row by `place_seq`. The tree's coordinates are
/// 32-bit floats rounded outwards, so the box selects a superset; the exact
/// box, station, category and exclusion are checked on the row, and
/// `repo::nearby` applies the rules.
const CANDIDATES: &str = "
SELECT r.id, r.category, r.status, r.created_at, r.lat, r.lon,
       (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id)
FROM report_rtree t CROSS JOIN reports r ON r.place_seq = t.id
WHERE t.max_lat >= ?1 AND t.min_lat <= ?2 AND t.max_lon >= ?3 AND t.min_lon <= ?4
  AND t.max_t >= ?5 AND t.min_t <= ?6
  AND r.station_id = ?7 AND r.id <> ?8
  AND r.category IN (SELECT value FROM json_each(?9))
  AND r.lat BETWEEN ?1 AND ?2 AND r.lon BETWEEN ?3 AND ?4";

#[async_trait]
impl NearbyStore for SqliteRepository {
    async fn nearby_candidates(
        &self,
        station: StationId,
        search: &NearbySearch,
    ) -> Result<Vec<NearbyCandidate>, RepoError> {
        let search = search.clone();
        let categories = serde_json::to_string(&search.categories)
            .map_err(|e| RepoError::Storage(format!("cannot serialise categories: {e}")))?;
        self.read(move |conn| {
            // Whole seconds are enough for the tree (it holds 32-bit floats);
            // widened by a second so rounding never cuts a candidate.
            let from = (search.from.timestamp() - 1) as f64;
            let until = (search.until.timestamp() + 1) as f64;
            all_rows(
                conn,
                CANDIDATES,
                params![
                    search.south,
                    search.north,
                    search.west,
                    search.east,
                    from,
                    until,
                    station.to_string(),
                    search.exclude.to_string(),
                    categories,
                ],
                |r| candidate_from(r),
            )
        })
        .await
    }
}
