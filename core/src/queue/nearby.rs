//! "You reported this place on 3 December: add a photo to it instead?": this
//! phone's own recent reports of the same kind at the same place as a draft,
//! so the carrier can follow one up instead of filing a duplicate.

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use rusqlite::params;

use super::{QueueError, ReportQueue, rows};
use crate::model::{ReportId, ReportState, ReviewStatus, metres_between};

/// How close (metres) an earlier report must be to count as the same place:
/// two GPS fixes of one spot usually agree within 10–20 m.
pub const NEARBY_RADIUS_M: f64 = 30.0;

/// How far back earlier reports are offered: a problem reported more than two
/// weeks ago has had its review, and a new report is the better signal.
pub const NEARBY_WINDOW: TimeDelta = TimeDelta::days(14);

/// One of this phone's earlier reports near a draft.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyReport {
    /// The earlier report (pass it to `create_follow_up`).
    pub id: ReportId,
    /// Queued, sending or sent.
    pub state: ReportState,
    /// When it was started, with the phone's offset then.
    pub created_at: DateTime<FixedOffset>,
    /// Metres between its position and the draft's.
    pub distance_m: f64,
    /// How many photos it carries.
    pub photo_count: u32,
    /// The station's review, once it has one.
    pub review_status: Option<ReviewStatus>,
}

impl ReportQueue {
    /// This phone's reports of the draft's category within
    /// [`NEARBY_RADIUS_M`] of its position, started within [`NEARBY_WINDOW`],
    /// nearest first (newest first at equal distance). Only reports on their
    /// way or delivered (queued, sending, sent) and only originals (a
    /// follow-up's original is listed instead); never the report itself.
    /// Empty while the draft has no category or position yet.
    pub fn nearby_reports(&self, id: ReportId) -> Result<Vec<NearbyReport>, QueueError> {
        self.nearby_reports_at(id, Utc::now())
    }

    /// [`ReportQueue::nearby_reports`] as of `now`.
    pub(crate) fn nearby_reports_at(
        &self,
        id: ReportId,
        now: DateTime<Utc>,
    ) -> Result<Vec<NearbyReport>, QueueError> {
        self.store.read(|tx| {
            let draft = rows::load_report(tx, id)?.ok_or(QueueError::NotFound(id))?;
            let (Some(category), Some(here)) = (draft.category, draft.location) else {
                return Ok(Vec::new());
            };
            let (lat, lon) = (here.lat(), here.lon());
            // A box a little larger than the circle; the exact test follows.
            // The place index is named: left to itself SQLite prefers the
            // state-and-age index, which reads every report of the last two
            // weeks (5.9 ms among 10,000, against 0.1 ms; BENCHMARKS.md).
            let dlat = NEARBY_RADIUS_M * 1.1 / 110_574.0;
            let dlon = NEARBY_RADIUS_M * 1.1 / (111_320.0 * lat.to_radians().cos().max(1e-6));
            let since = (now - NEARBY_WINDOW).timestamp_millis();
            let mut stmt = tx.prepare_cached(
                "SELECT r.id, r.state, r.created_at, r.lat, r.lon, r.review_status, \
                        (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id) \
                 FROM reports r INDEXED BY reports_by_place \
                 WHERE r.lat BETWEEN ?1 AND ?2 AND r.lon BETWEEN ?3 AND ?4 \
                   AND r.category = ?5 AND r.state IN ('queued', 'sending', 'sent') \
                   AND r.follow_up_of IS NULL AND r.id <> ?6 AND r.created_at_ms >= ?7",
            )?;
            let found = stmt.query_map(
                params![
                    lat - dlat,
                    lat + dlat,
                    lon - dlon,
                    lon + dlon,
                    category,
                    id.to_string(),
                    since
                ],
                |row| {
                    let at: (f64, f64) = (row.get(3)?, row.get(4)?);
                    Ok(NearbyReport {
                        id: rows::parse_id(row, 0)?,
                        state: rows::parse_state(row, 1)?,
                        created_at: rows::parse_time(row, 2)?,
                        distance_m: metres_between((lat, lon), at),
                        photo_count: row.get(6)?,
                        review_status: row.get::<_, Option<String>>(5)?.map(ReviewStatus::from),
                    })
                },
            )?;
            let mut nearby: Vec<NearbyReport> = found
                .filter(|r| r.as_ref().map_or(true, |r| r.distance_m <= NEARBY_RADIUS_M))
                .collect::<Result<_, _>>()?;
            nearby.sort_by(|a, b| {
                a.distance_m
                    .total_cmp(&b.distance_m)
                    .then(b.created_at.cmp(&a.created_at))
            });
            Ok(nearby)
        })
    }
}
