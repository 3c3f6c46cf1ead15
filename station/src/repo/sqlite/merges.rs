//! Merging duplicates in SQLite: both reports read, checked and written in
//! one immediate transaction on the single writer.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use rusqlite::params;

use super::reports::load;
use super::rows::all_rows;
use super::{SqliteRepository, feed, map_err};
use crate::repo::feed::ActionLog;
use crate::repo::merges::{
    MergeOutcome, MergeRefusal, MergeStore, RelatedPhoto, check_merge, merged_into_cte,
    related_photo_from,
};
use crate::repo::{Actor, RepoError, StationId, StatusChange};

#[async_trait]
impl MergeStore for SqliteRepository {
    async fn merge_report(
        &self,
        station: StationId,
        id: ReportId,
        into: ReportId,
        reason: String,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome, RepoError> {
        self.write_tx(move |tx| {
            let Some(before) = load(tx, station, id)? else {
                return Ok(MergeOutcome::Refused(MergeRefusal::NotFound));
            };
            let target = load(tx, station, into)?;
            match check_merge(&before, target.as_ref(), if_version) {
                Err(refusal) => return Ok(MergeOutcome::Refused(refusal)),
                Ok(false) => {
                    return Ok(MergeOutcome::Merged(Box::new(StatusChange {
                        before: before.status.clone(),
                        report: before,
                        changed: false,
                    })));
                }
                Ok(true) => {}
            }
            tx.execute(
                "UPDATE reports SET status = ?3, status_reason = ?4, merged_into = ?5
                 WHERE station_id = ?1 AND id = ?2",
                params![
                    station.to_string(),
                    id.to_string(),
                    ReviewStatus::Merged.as_str(),
                    reason,
                    into.to_string()
                ],
            )
            .map_err(map_err)?;
            let merged = ActionLog::report_merged(actor.clone(), &before, into, &reason);
            feed::log(tx, station, &merged, now)?;
            feed::log(
                tx,
                station,
                &ActionLog::report_merged_in(actor, into, id),
                now,
            )?;
            let report = load(tx, station, id)?.ok_or(RepoError::NotFound("report"))?;
            Ok(MergeOutcome::Merged(Box::new(StatusChange {
                before: before.status,
                report,
                changed: true,
            })))
        })
        .await
    }

    async fn related_photos(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<RelatedPhoto>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                &format!(
                    "{cte}
                     SELECT p.position, p.sha256, p.size, p.content_type,
                            p.received_at IS NOT NULL, p.report_id
                     FROM merged m
                     JOIN reports r ON r.station_id = ?1 AND r.id = m.id
                     JOIN report_photos p ON p.station_id = ?1 AND p.report_id = m.id
                     ORDER BY r.received_at, r.id, p.position",
                    cte = merged_into_cte("?1", "?2")
                ),
                params![station.to_string(), report.to_string()],
                |r| related_photo_from(r),
            )
        })
        .await
    }
}
