//! Upload rows in PostgreSQL, and the completion transaction that turns a
//! finished upload into a received photo.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};

use super::{PgRepository, execute, feed, map_err, query, query_one, query_opt, to_i64};
use crate::repo::columns::{Columns, micros};
use crate::repo::uploads::{Completion, UPLOAD_COLUMNS, upload_from};
use crate::repo::{NewUpload, RepoError, StationId, Upload, UploadCompletion, UploadStore};

/// Inserts a new upload row and returns it as stored.
async fn insert<C: GenericClient>(c: &C, u: NewUpload) -> Result<Upload, RepoError> {
    let row = query_one(
        c,
        &format!(
            "INSERT INTO uploads (id, station_id, device_id, report_id, sha256, length,
                                  created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {UPLOAD_COLUMNS}"
        ),
        &[
            &u.id,
            &u.station_id.0,
            &u.device_id,
            &u.report_id.as_uuid(),
            &u.sha256,
            &to_i64(u.length),
            &micros(u.created_at),
            &micros(u.expires_at),
        ],
    )
    .await?;
    upload_from(&row)
}

/// One upload of the station.
async fn get_upload<C: GenericClient>(
    c: &C,
    station: StationId,
    id: &str,
    lock: bool,
) -> Result<Option<Upload>, RepoError> {
    let sql = if lock {
        format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE station_id = $1 AND id = $2 FOR UPDATE")
    } else {
        format!("SELECT {UPLOAD_COLUMNS} FROM uploads WHERE station_id = $1 AND id = $2")
    };
    query_opt(c, &sql, &[&station.0, &id])
        .await?
        .as_ref()
        .map(upload_from)
        .transpose()
}

/// One upload of the station, without locking it.
async fn find<C: GenericClient>(
    c: &C,
    station: StationId,
    id: &str,
) -> Result<Option<Upload>, RepoError> {
    get_upload(c, station, id, false).await
}

/// Moves the durable offset of an unfinished upload.
async fn progress<C: GenericClient>(
    c: &C,
    station: StationId,
    id: &str,
    offset: u64,
    hash_state: Option<Vec<u8>>,
) -> Result<(), RepoError> {
    let n = execute(
        c,
        "UPDATE uploads SET upload_offset = $3, hash_state = $4
         WHERE station_id = $1 AND id = $2 AND completed_at IS NULL",
        &[&station.0, &id, &to_i64(offset), &hash_state],
    )
    .await?;
    if n == 0 {
        return Err(RepoError::NotFound("upload"));
    }
    Ok(())
}

/// The completion transaction; see [`UploadStore::complete_upload`].
async fn complete(
    client: &mut Object,
    station: StationId,
    id: &str,
    now: DateTime<Utc>,
    keep_until: DateTime<Utc>,
) -> Result<UploadCompletion, RepoError> {
    let tx = client.transaction().await.map_err(map_err)?;
    let done = complete_in(&tx, station, id, now, keep_until).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(done)
}

/// An upload that arrived whole, stored finished in one transaction; see
/// [`UploadStore::create_completed_upload`].
async fn create_completed(
    client: &mut Object,
    upload: NewUpload,
    now: DateTime<Utc>,
    keep_until: DateTime<Utc>,
) -> Result<(Upload, UploadCompletion), RepoError> {
    let tx = client.transaction().await.map_err(map_err)?;
    let (station, id) = (upload.station_id, upload.id.clone());
    // Lock the report before inserting: the insert's foreign key takes a
    // KEY SHARE lock on it, and two uploads of one report that both held that
    // and then asked for the completion's FOR UPDATE would deadlock.
    execute(
        &tx,
        "SELECT 1 FROM reports WHERE station_id = $1 AND id = $2 FOR UPDATE",
        &[&station.0, &upload.report_id.as_uuid()],
    )
    .await?;
    insert(&tx, upload).await?;
    let done = complete_in(&tx, station, &id, now, keep_until).await?;
    let stored = find(&tx, station, &id)
        .await?
        .ok_or(RepoError::NotFound("upload"))?;
    tx.commit().await.map_err(map_err)?;
    Ok((stored, done))
}

/// The completion inside the caller's transaction.
async fn complete_in(
    tx: &Transaction<'_>,
    station: StationId,
    id: &str,
    now: DateTime<Utc>,
    keep_until: DateTime<Utc>,
) -> Result<UploadCompletion, RepoError> {
    let now = micros(now);
    let upload = get_upload(tx, station, id, true)
        .await?
        .ok_or(RepoError::NotFound("upload"))?;
    let report = upload.report_id.as_uuid();
    // The report row is locked before the manifest is counted, so two uploads
    // of one report finishing together queue, and the second one sees the
    // first one's photo: exactly one of them marks the report complete.
    let was_complete = query_one(
        tx,
        "SELECT complete FROM reports WHERE station_id = $1 AND id = $2 FOR UPDATE",
        &[&station.0, &report],
    )
    .await?
    .flag(0)?;
    if upload.completed_at.is_some() {
        return Ok(UploadCompletion::repeated(was_complete));
    }
    let keep = micros(upload.kept_until(keep_until));
    execute(
        tx,
        "UPDATE uploads SET upload_offset = length, hash_state = NULL, completed_at = $3,
                            expires_at = $4
         WHERE station_id = $1 AND id = $2",
        &[&station.0, &id, &now, &keep],
    )
    .await?;
    let received = execute(
        tx,
        "UPDATE report_photos SET received_at = $4
         WHERE station_id = $1 AND report_id = $2 AND sha256 = $3 AND received_at IS NULL",
        &[&station.0, &report, &upload.sha256, &now],
    )
    .await?;
    let missing = query_one(
        tx,
        "SELECT count(*) FROM report_photos
         WHERE station_id = $1 AND report_id = $2 AND received_at IS NULL",
        &[&station.0, &report],
    )
    .await?
    .count(0)?;
    let done = Completion::decide(&upload, was_complete, received > 0, missing);
    if done.mark_report_complete {
        execute(
            tx,
            "UPDATE reports SET complete = true WHERE station_id = $1 AND id = $2",
            &[&station.0, &report],
        )
        .await?;
    }
    if let Some(log) = &done.log {
        feed::log(tx, station, log, now).await?;
    }
    Ok(done.answer)
}

/// Deletes one upload row.
async fn delete<C: GenericClient>(c: &C, station: StationId, id: &str) -> Result<bool, RepoError> {
    let n = execute(
        c,
        "DELETE FROM uploads WHERE station_id = $1 AND id = $2",
        &[&station.0, &id],
    )
    .await?;
    Ok(n > 0)
}

/// Deletes every expired upload and returns their ids, in one statement.
async fn remove_expired<C: GenericClient>(
    c: &C,
    now: DateTime<Utc>,
) -> Result<Vec<String>, RepoError> {
    query(
        c,
        "DELETE FROM uploads WHERE expires_at <= $1 RETURNING id",
        &[&now],
    )
    .await?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// Every upload of every station.
async fn all<C: GenericClient>(c: &C) -> Result<Vec<Upload>, RepoError> {
    query(
        c,
        &format!("SELECT {UPLOAD_COLUMNS} FROM uploads ORDER BY created_at"),
        &[],
    )
    .await?
    .iter()
    .map(upload_from)
    .collect()
}

#[async_trait]
impl UploadStore for PgRepository {
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError> {
        insert(&self.client().await?, upload).await
    }

    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError> {
        find(&self.client().await?, station, id).await
    }

    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError> {
        // A progress record is a checkpoint, not a promise (see the SQLite
        // backend): committed without waiting for the WAL flush.
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")
            .await
            .map_err(map_err)?;
        progress(&tx, station, id, offset, hash_state).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError> {
        let mut client = self.client().await?;
        complete(&mut client, station, id, now, keep_until).await
    }

    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError> {
        let mut client = self.client().await?;
        create_completed(&mut client, upload, now, keep_until).await
    }

    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError> {
        delete(&self.client().await?, station, id).await
    }

    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
        remove_expired(&self.client().await?, now).await
    }

    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError> {
        all(&self.client().await?).await
    }
}
