//! Reports in SQLite: the idempotent delivery (group-committed), reading a
//! report with its manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, cached_row, feed, map_err};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::follow_ups::{follow_up_from, parent_change};
use crate::repo::reports::{REPORT_COLUMNS, ReportOwner, photo_from, report_from};
use crate::repo::{
    Actor, FollowUp, Placement, PutOutcome, RepoError, ReportStore, StationId, StatusChange,
    StoredReport,
};

/// One report PUT, in its savepoint of a group-commit batch.
struct ReportPut {
    station: StationId,
    device_id: Uuid,
    content: ReportContent,
    content_hash: String,
    content_json: String,
    placement: Placement,
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
        placement,
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
    let zones_json = placement.zones_json()?;
    let report = StoredReport::received(
        station,
        device_id,
        content,
        content_hash,
        placement,
        micros(now),
    );
    let station_text = station.to_string();
    let (lat, lon) = (report.content.location.lat(), report.content.location.lon());
    let created_at = report.created_at_utc();
    // The single writer makes max + 1 race-free (see the migration: not the rowid).
    let place_seq: i64 = cached_row(
        conn,
        "SELECT coalesce(max(place_seq), 0) + 1 FROM reports",
        [],
        |r| r.get(0),
    )
    .map_err(map_err)?;
    let placed = report.placement.as_ref();
    let district = placed.and_then(|p| p.district.as_ref());
    conn.prepare_cached(
        "INSERT INTO reports (id, station_id, device_id, content_hash, content_json,
                              category, status, complete, received_at, lat, lon, created_at,
                              place_seq, follow_up_of, district_code, district_name, zones_json,
                              outside_jurisdiction, boundary_distance_m)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,
                 ?16, ?17, ?18)",
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
            ts(report.received_at),
            lat,
            lon,
            ts(created_at),
            place_seq,
            report.content.follow_up_of.map(|p| p.to_string()),
            district.map(|d| d.code.as_str()),
            district.map(|d| d.name.as_str()),
            zones_json,
            placed.map(|p| p.outside_jurisdiction),
            placed.and_then(|p| p.boundary_distance_m),
        ])
    })
    .map_err(map_err)?;
    // Same transaction: the index never misses a stored report.
    let t = super::nearby::tree_time(created_at);
    conn.prepare_cached(
        "INSERT INTO report_rtree (id, min_lat, max_lat, min_lon, max_lon, min_t, max_t)
         VALUES (?1, ?2, ?2, ?3, ?3, ?4, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![place_seq, lat, lon, t]))
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
    if let Some(change) = parent_change(&report) {
        feed::append_change(conn, station, &change, now)?;
    }
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
        &format!("SELECT {REPORT_COLUMNS} FROM reports WHERE station_id = ?1 AND id = ?2"),
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
        placement: Placement,
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
            placement,
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

    async fn follow_ups(
        &self,
        station: StationId,
        parent: ReportId,
    ) -> Result<Vec<FollowUp>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                "SELECT r.id, r.created_at, r.received_at,
                        (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id)
                 FROM reports r WHERE r.station_id = ?1 AND r.follow_up_of = ?2
                 ORDER BY r.received_at, r.id",
                params![station.to_string(), parent.to_string()],
                |r| follow_up_from(r),
            )
        })
        .await
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
                // Any other decision takes a merged report back out of its merge.
                "UPDATE reports SET status = ?3, status_reason = ?4, merged_into = NULL
                 WHERE station_id = ?1 AND id = ?2",
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
