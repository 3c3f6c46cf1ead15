//! Upload rows in SQLite, and the completion transaction that turns a finished
//! upload into a received photo.

use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use super::audit::{self, AuditRecord};
use super::changes;
use super::rows::{get_ts, invalid_text, ts};
use super::{cached_execute, cached_row, map_err};
use crate::repo::{
    Actor, NewUpload, RepoError, ReportEventKind, StationId, Upload, UploadCompletion,
};

const COLUMNS: &str = "id, station_id, device_id, report_id, sha256, length, upload_offset,
                       hash_state, created_at, expires_at, completed_at";

fn upload_from_row(r: &Row<'_>) -> rusqlite::Result<Upload> {
    let uuid = |idx: usize| -> rusqlite::Result<uuid::Uuid> {
        let text: String = r.get(idx)?;
        uuid::Uuid::parse_str(&text).map_err(|_| invalid_text(idx, "bad uuid"))
    };
    let report: String = r.get(3)?;
    let completed: Option<String> = r.get(10)?;
    Ok(Upload {
        id: r.get(0)?,
        station_id: StationId(uuid(1)?),
        device_id: uuid(2)?,
        report_id: ReportId::parse(&report).map_err(|_| invalid_text(3, "bad report id"))?,
        sha256: r.get(4)?,
        length: r.get::<_, i64>(5)?.max(0) as u64,
        offset: r.get::<_, i64>(6)?.max(0) as u64,
        hash_state: r.get(7)?,
        created_at: get_ts(r, 8)?,
        expires_at: get_ts(r, 9)?,
        completed_at: completed
            .map(|t| {
                DateTime::parse_from_rfc3339(&t)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| invalid_text(10, "bad timestamp"))
            })
            .transpose()?,
    })
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Inserts a new upload row.
pub(super) fn insert(conn: &Connection, u: &NewUpload) -> Result<(), RepoError> {
    cached_execute(
        conn,
        "INSERT INTO uploads (id, station_id, device_id, report_id, sha256, length,
                              created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            u.id,
            u.station_id.to_string(),
            u.device_id.to_string(),
            u.report_id.to_string(),
            u.sha256,
            as_i64(u.length),
            ts(u.created_at),
            ts(u.expires_at)
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

/// One upload of the station.
pub(super) fn get(
    conn: &Connection,
    station: StationId,
    id: &str,
) -> Result<Option<Upload>, RepoError> {
    cached_row(
        conn,
        &format!("SELECT {COLUMNS} FROM uploads WHERE station_id = ?1 AND id = ?2"),
        params![station.to_string(), id],
        upload_from_row,
    )
    .optional()
    .map_err(map_err)
}

/// Moves the durable offset of an unfinished upload.
pub(super) fn progress(
    conn: &Connection,
    station: StationId,
    id: &str,
    offset: u64,
    hash_state: Option<Vec<u8>>,
) -> Result<(), RepoError> {
    let n = cached_execute(
        conn,
        "UPDATE uploads SET upload_offset = ?3, hash_state = ?4
             WHERE station_id = ?1 AND id = ?2 AND completed_at IS NULL",
        params![station.to_string(), id, as_i64(offset), hash_state],
    )
    .map_err(map_err)?;
    if n == 0 {
        return Err(RepoError::NotFound("upload"));
    }
    Ok(())
}

/// The completion, inside the caller's write transaction; see
/// `Repository::complete_upload`.
pub(super) fn complete(
    tx: &Connection,
    station: StationId,
    id: &str,
    now: DateTime<Utc>,
    keep_until: DateTime<Utc>,
) -> Result<UploadCompletion, RepoError> {
    let upload = get(tx, station, id)?.ok_or(RepoError::NotFound("upload"))?;
    let report = upload.report_id.to_string();
    let report_complete = |conn: &Connection| -> Result<bool, RepoError> {
        cached_row(
            conn,
            "SELECT complete FROM reports WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), report],
            |r| r.get(0),
        )
        .map_err(map_err)
    };
    if upload.completed_at.is_some() {
        return Ok(UploadCompletion {
            newly_received: false,
            report_complete: report_complete(tx)?,
        });
    }
    let keep = ts(keep_until.max(upload.expires_at));
    cached_execute(
        tx,
        "UPDATE uploads SET upload_offset = length, hash_state = NULL, completed_at = ?3,
                            expires_at = ?4
         WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id, ts(now), keep],
    )
    .map_err(map_err)?;
    let received = cached_execute(
        tx,
        "UPDATE report_photos SET received_at = ?4
             WHERE station_id = ?1 AND report_id = ?2 AND sha256 = ?3 AND received_at IS NULL",
        params![station.to_string(), report, upload.sha256, ts(now)],
    )
    .map_err(map_err)?;
    let was_complete = report_complete(tx)?;
    let missing = changes::photos_missing(tx, station, &report)?;
    let now_complete = missing == 0;
    if now_complete && !was_complete {
        cached_execute(
            tx,
            "UPDATE reports SET complete = 1 WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), report],
        )
        .map_err(map_err)?;
    }
    if received > 0 {
        let event = if now_complete && !was_complete {
            ReportEventKind::Complete
        } else {
            ReportEventKind::Photo
        };
        changes::append_report(tx, station, upload.report_id, event, now)?;
        audit::append(
            tx,
            station,
            &Actor::device(upload.device_id),
            AuditRecord::photo_received(
                upload.report_id,
                &upload.sha256,
                id,
                (was_complete, now_complete),
            ),
            now,
        )?;
    }
    Ok(UploadCompletion {
        newly_received: received > 0,
        report_complete: now_complete,
    })
}

/// Deletes one upload row.
pub(super) fn delete(conn: &Connection, station: StationId, id: &str) -> Result<bool, RepoError> {
    let n = cached_execute(
        conn,
        "DELETE FROM uploads WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id],
    )
    .map_err(map_err)?;
    Ok(n > 0)
}

/// Deletes every expired upload and returns their ids.
pub(super) fn remove_expired(
    conn: &mut Connection,
    now: DateTime<Utc>,
) -> Result<Vec<String>, RepoError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let ids = {
        let mut stmt = tx
            .prepare("SELECT id FROM uploads WHERE expires_at <= ?1")
            .map_err(map_err)?;
        let rows = stmt
            .query_map([ts(now)], |r| r.get::<_, String>(0))
            .map_err(map_err)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?
    };
    cached_execute(&tx, "DELETE FROM uploads WHERE expires_at <= ?1", [ts(now)])
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(ids)
}

/// Every upload of every station.
pub(super) fn all(conn: &Connection) -> Result<Vec<Upload>, RepoError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM uploads ORDER BY created_at"
        ))
        .map_err(map_err)?;
    let rows = stmt.query_map([], upload_from_row).map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}
