//! Nearby candidates in SQLite, through the R*Tree `report_rtree` (position
//! and created_at of every report, keyed by `place_seq`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::SqliteRepository;
use super::rows::all_rows;
use crate::repo::nearby::candidate_from;
use crate::repo::{NearbyCandidate, NearbySearch, NearbyStore, RepoError, StationId};

/// 2020-01-01T00:00:00Z, where the tree's time starts.
const TREE_EPOCH: i64 = 1_577_836_800;
/// Seconds in the tree's unit of time: a thousand days.
const TREE_TIME_UNIT: f64 = 86_400_000.0;

/// A time as the tree holds it: thousands of days since 2020, so that a year
/// weighs about as much as Seoul's width in degrees when the R*Tree splits
/// its nodes (in seconds, time alone would decide every split and position
/// would not narrow a search at all). The migration that fills the tree
/// (`0005_report_geography.sql`) computes the same.
pub(super) fn tree_time(t: DateTime<Utc>) -> f64 {
    (t.timestamp() - TREE_EPOCH) as f64 / TREE_TIME_UNIT
}

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
            // Widened by a day: the tree's 32-bit floats hold this unit to
            // about an hour, and the exact window is checked on the rows.
            let day = chrono::Duration::days(1);
            let from = tree_time(search.from - day);
            let until = tree_time(search.until + day);
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
