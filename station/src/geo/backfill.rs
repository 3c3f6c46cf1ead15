//! Placing the reports stored before the station placed reports on arrival:
//! at startup, in batches, in the background. SQL cannot test a position
//! against district and zone outlines, so the migration leaves them unplaced
//! (`zones_json` NULL) and this fills them in; until it reaches a report, the
//! report's view shows no placement. Only counts are logged, never positions.

use std::sync::Arc;

use super::Geography;
use crate::repo::{RepoError, Repository};

/// Reports placed per transaction.
pub const BATCH: u32 = 500;

/// Places every unplaced report, [`BATCH`] at a time, zones as they were at
/// each report's `created_at`; returns how many were placed. Stops when none
/// is left (or when a batch places nothing, so it cannot spin).
pub async fn place_unplaced(
    repo: &Arc<dyn Repository>,
    geography: &Geography,
) -> Result<u64, RepoError> {
    let mut placed = 0;
    loop {
        let batch = repo.unplaced_reports(BATCH).await?;
        if batch.is_empty() {
            break;
        }
        let mut placements = Vec::with_capacity(batch.len());
        for report in batch {
            let placement = geography
                .place(
                    repo.as_ref(),
                    report.station,
                    report.lat,
                    report.lon,
                    report.created_at,
                )
                .await?;
            placements.push((report.station, report.id, placement));
        }
        let set = repo.set_placements(placements).await?;
        if set == 0 {
            break;
        }
        placed += set;
    }
    if placed > 0 {
        tracing::info!(placed, "placed reports stored before placement existed");
    }
    Ok(placed)
}
