//! Upload rows in SQLite, and the completion transaction that turns a finished
//! upload into a received photo.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, TransactionBehavior, params};

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, cached_execute, cached_row, feed, map_err};
use crate::repo::uploads::{Completion, UPLOAD_COLUMNS, upload_from};
use crate::repo::{NewUpload, RepoError, StationId, Upload, UploadCompletion, UploadStore};

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Inserts a new upload row.
fn insert(conn: &Connection, u: &NewUpload) -> Result<(), RepoError> {
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
fn get(conn: &Connection, station: StationId, id: &str) -> Result<Option<Upload>, RepoError> {
    first_row(
        conn,
        &format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE station_id = ?1 AND id = ?2"),
        params![station.to_string(), id],
        |r| upload_from(r),
    )
}

/// Moves the durable offset of an unfinished upload.
fn progress(
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
/// [`UploadStore::complete_upload`] and [`Completion::decide`].
fn complete(
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
        return Ok(UploadCompletion::repeated(report_complete(tx)?));
    }
    cached_execute(
        tx,
        "UPDATE uploads SET upload_offset = length, hash_state = NULL, completed_at = ?3,
                            expires_at = ?4
         WHERE station_id = ?1 AND id = ?2",
        params![
            station.to_string(),
            id,
            ts(now),
            ts(upload.kept_until(keep_until))
        ],
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
    let missing = feed::photos_missing(tx, station, &report)?;
    let done = Completion::decide(
        &upload,
        was_complete,
        received > 0,
        u64::try_from(missing).unwrap_or(0),
    );
    if done.mark_report_complete {
        cached_execute(
            tx,
            "UPDATE reports SET complete = 1 WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), report],
        )
        .map_err(map_err)?;
    }
    if let Some(log) = &done.log {
        feed::log(tx, station, log, now)?;
    }
    Ok(done.answer)
}

/// Deletes one upload row.
fn delete(conn: &Connection, station: StationId, id: &str) -> Result<bool, RepoError> {
    let n = cached_execute(
        conn,
        "DELETE FROM uploads WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id],
    )
    .map_err(map_err)?;
    Ok(n > 0)
}

/// Deletes every expired upload and returns their ids.
fn remove_expired(conn: &mut Connection, now: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let ids = all_rows(
        &tx,
        "SELECT id FROM uploads WHERE expires_at <= ?1",
        [ts(now)],
        |r| r.get::<_, String>(0).map_err(map_err),
    )?;
    cached_execute(&tx, "DELETE FROM uploads WHERE expires_at <= ?1", [ts(now)])
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(ids)
}

/// Every upload of every station.
fn all(conn: &Connection) -> Result<Vec<Upload>, RepoError> {
    all_rows(
        conn,
        &format!("SELECT {UPLOAD_COLUMNS} FROM uploads ORDER BY created_at"),
        [],
        |r| upload_from(r),
    )
}

#[async_trait]
impl UploadStore for SqliteRepository {
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError> {
        self.write(move |conn| {
            insert(conn, &upload)?;
            get(conn, upload.station_id, &upload.id)?.ok_or(RepoError::NotFound("upload"))
        })
        .await
    }

    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError> {
        let id = id.to_owned();
        self.read(move |conn| get(conn, station, &id)).await
    }

    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError> {
        let id = id.to_owned();
        self.write(move |conn| {
            // A progress record is a checkpoint, not a promise: losing the
            // last ones in a power cut only moves the offset back (the part
            // file is cut to it and the client re-sends from there), so it is
            // committed without its own WAL fsync. The next synchronous
            // commit makes it durable with everything before it.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(map_err)?;
            let recorded = progress(conn, station, &id, offset, hash_state);
            let restored = conn.pragma_update(None, "synchronous", "FULL");
            recorded?;
            restored.map_err(map_err)
        })
        .await
    }

    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError> {
        let id = id.to_owned();
        self.write_batched(move |conn| complete(conn, station, &id, now, keep_until))
            .await
    }

    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError> {
        self.write_batched(move |conn| {
            insert(conn, &upload)?;
            let done = complete(conn, upload.station_id, &upload.id, now, keep_until)?;
            let stored =
                get(conn, upload.station_id, &upload.id)?.ok_or(RepoError::NotFound("upload"))?;
            Ok((stored, done))
        })
        .await
    }

    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError> {
        let id = id.to_owned();
        self.write(move |conn| delete(conn, station, &id)).await
    }

    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
        self.write(move |conn| remove_expired(conn, now)).await
    }

    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError> {
        self.read(all).await
    }
}
