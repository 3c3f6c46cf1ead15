//! Reports in SQLite: the idempotent delivery (group-committed), reading a
//! report with its manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::reports::{ReportOwner, photo_from, report_from};
use crate::repo::{
    Actor, PutOutcome, RepoError, ReportStore, StationId, StatusChange, StoredReport,
};

/// One report PUT, in its savepoint of a group-commit batch.
struct ReportPut {
    station: StationId,
    device_id: Uuid,
    content: ReportContent,
    content_hash: String,
    content_json: String,
    now: DateTime<Utc>,
}

/// One report PUT inside its savepoint of a group-commit batch: the
/// idempotency check, the rows, the feed entry and the audit row.
fn put_one(conn: &Connection, put: ReportPut) -> Result<PutOutcome, RepoError> {
    let ReportPut {
        station,
        device_id,
        content,
        content_hash,
        content_json,
        now,
    } = put;
    let id = content.id.to_string();
    // Looked up without the station filter on purpose: ids are unique across
    // stations, and a clash must be a conflict, never a second row.
    let owner = first_row(
        conn,
        "SELECT station_id, device_id, content_hash FROM reports WHERE id = ?1",
        [&id],
        |r| ReportOwner::from_row(r),
    )?;
    if let Some(owner) = owner {
        if !owner.is_retry(station, device_id, &content_hash) {
            return Ok(PutOutcome::Conflict);
        }
        let stored = load(conn, station, content.id)?.ok_or(RepoError::NotFound("report"))?;
        return Ok(PutOutcome::Unchanged(stored));
    }
    // What is written, built from the job rather than read back and re-parsed.
    let report = StoredReport::received(station, device_id, content, content_hash, micros(now));
    let station_text = station.to_string();
    conn.prepare_cached(
        "INSERT INTO reports (id, station_id, device_id, content_hash, content_json,
                              category, status, complete, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received', ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id,
            station_text,
            device_id.to_string(),
            report.content_hash,
            content_json,
            report.content.category.as_str(),
            report.complete,
            ts(report.received_at)
        ])
    })
    .map_err(map_err)?;
    {
        let mut insert_photo = conn
            .prepare_cached(
                "INSERT INTO report_photos (report_id, station_id, position, sha256, size, content_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(map_err)?;
        for photo in &report.photos {
            insert_photo
                .execute(params![
                    id,
                    station_text,
                    photo.position,
                    photo.sha256,
                    i64::try_from(photo.size).unwrap_or(i64::MAX),
                    photo.content_type
                ])
                .map_err(map_err)?;
        }
    }
    feed::log(conn, station, &ActionLog::report_created(&report), now)?;
    Ok(PutOutcome::Created(report))
}

/// Loads a report with its photo manifest, within the station only.
pub(super) fn load(
    conn: &Connection,
    station: StationId,
    id: ReportId,
) -> Result<Option<StoredReport>, RepoError> {
    let (station_text, id_text) = (station.to_string(), id.to_string());
    let head = first_row(
        conn,
        "SELECT device_id, content_hash, content_json, status, complete, received_at,
                status_reason, version
         FROM reports WHERE station_id = ?1 AND id = ?2",
        params![station_text, id_text],
        |r| report_from(r, station, id, Vec::new()),
    )?;
    let Some(mut report) = head else {
        return Ok(None);
    };
    report.photos = all_rows(
        conn,
        "SELECT position, sha256, size, content_type, received_at IS NOT NULL
         FROM report_photos WHERE station_id = ?1 AND report_id = ?2 ORDER BY position",
        params![station_text, id_text],
        |r| photo_from(r),
    )?;
    Ok(Some(report))
}

#[async_trait]
impl ReportStore for SqliteRepository {
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError> {
        let content_json = serde_json::to_string(&content)
            .map_err(|e| RepoError::Storage(format!("cannot serialise report: {e}")))?;
        let put = ReportPut {
            station,
            device_id,
            content,
            content_hash,
            content_json,
            now,
        };
        self.write_batched(move |conn| put_one(conn, put)).await
    }

    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError> {
        self.read(move |conn| load(conn, station, id)).await
    }

    async fn set_report_status(
        &self,
        station: StationId,
        id: ReportId,
        status: ReviewStatus,
        reason: Option<String>,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError> {
        self.write_tx(move |tx| {
            let Some(before) = load(tx, station, id)? else {
                return Ok(None);
            };
            StatusChange::check_version(&before, if_version)?;
            if let Some(same) = StatusChange::unchanged(&before, &status, reason.as_deref()) {
                return Ok(Some(same));
            }
            tx.execute(
                "UPDATE reports SET status = ?3, status_reason = ?4 WHERE station_id = ?1 AND id = ?2",
                params![station.to_string(), id.to_string(), status.as_str(), reason],
            )
            .map_err(map_err)?;
            let log = ActionLog::report_status(actor, &before, &status, reason.as_deref());
            feed::log(tx, station, &log, now)?;
            let report = load(tx, station, id)?.ok_or(RepoError::NotFound("report"))?;
            Ok(Some(StatusChange {
                before: before.status,
                report,
                changed: true,
            }))
        })
        .await
    }
}
