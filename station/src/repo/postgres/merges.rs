//! Merging duplicates in PostgreSQL: both reports locked (in id order, so
//! two merges of the same pair cannot deadlock), read, checked and written
//! in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};

use super::reports::load;
use super::{PgRepository, execute, feed, map_err, query};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::merges::{
    MergeOutcome, MergeRefusal, MergeStore, RelatedPhoto, check_merge, merged_into_cte,
    related_photo_from,
};
use crate::repo::{Actor, RepoError, StationId, StatusChange};

#[async_trait]
impl MergeStore for PgRepository {
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
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let ids = vec![id.as_uuid(), into.as_uuid()];
        query(
            &tx,
            "SELECT id FROM reports WHERE station_id = $1 AND id = ANY($2) ORDER BY id FOR UPDATE",
            &[&station.0, &ids],
        )
        .await?;
        let Some(before) = load(&tx, station, id).await? else {
            return Ok(MergeOutcome::Refused(MergeRefusal::NotFound));
        };
        let target = load(&tx, station, into).await?;
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
        execute(
            &tx,
            "UPDATE reports SET status = $3, status_reason = $4, merged_into = $5
             WHERE station_id = $1 AND id = $2",
            &[
                &station.0,
                &id.as_uuid(),
                &ReviewStatus::Merged.as_str(),
                &reason,
                &into.as_uuid(),
            ],
        )
        .await?;
        let merged = ActionLog::report_merged(actor.clone(), &before, into, &reason);
        feed::log(&tx, station, &merged, now).await?;
        feed::log(
            &tx,
            station,
            &ActionLog::report_merged_in(actor, into, id),
            now,
        )
        .await?;
        let report = load(&tx, station, id)
            .await?
            .ok_or(RepoError::NotFound("report"))?;
        tx.commit().await.map_err(map_err)?;
        Ok(MergeOutcome::Merged(Box::new(StatusChange {
            before: before.status,
            report,
            changed: true,
        })))
    }

    async fn related_photos(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<RelatedPhoto>, RepoError> {
        let rows = query(
            &self.client().await?,
            &format!(
                "{cte}
                 SELECT p.position, p.sha256, p.size, p.content_type,
                        p.received_at IS NOT NULL, p.report_id
                 FROM merged m
                 JOIN reports r ON r.station_id = $1 AND r.id = m.id
                 JOIN report_photos p ON p.station_id = $1 AND p.report_id = m.id
                 ORDER BY r.received_at, r.id, p.position",
                cte = merged_into_cte("$1", "$2")
            ),
            &[&station.0, &report.as_uuid()],
        )
        .await?;
        rows.iter().map(related_photo_from).collect()
    }
}
