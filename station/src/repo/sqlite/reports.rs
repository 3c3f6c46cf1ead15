//! Reports in SQLite: the idempotent delivery (group-committed), reading a
//! report with its manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::rows::{self, get_ts, get_uuid, ts};
use super::{SqliteRepository, cached_row, map_err};
use crate::repo::{
    Actor, PutOutcome, RepoError, ReportEventKind, ReportStore, StationId, StatusChange,
    StoredPhoto, StoredReport,
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
    let station_text = station.to_string();
    // Looked up without the station filter on purpose: ids are unique across
    // stations, and a clash must be a conflict, never a second row.
    let existing: Option<(String, String, String)> = conn
        .prepare_cached("SELECT station_id, device_id, content_hash FROM reports WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(map_err)?;
    if let Some((owner_station, owner_device, stored_hash)) = existing {
        let same = owner_station == station_text
            && owner_device == device_id.to_string()
            && stored_hash == content_hash;
        if !same {
            return Ok(PutOutcome::Conflict);
        }
        let stored = load(conn, station, content.id)?.ok_or(RepoError::NotFound("report"))?;
        return Ok(PutOutcome::Unchanged(stored));
    }
    let received_at = ts(now);
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
            content_hash,
            content_json,
            content.category.as_str(),
            content.photos.is_empty(),
            received_at
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
        for (position, photo) in content.photos.iter().enumerate() {
            insert_photo
                .execute(params![
                    id,
                    station_text,
                    position as i64,
                    photo.sha256,
                    i64::try_from(photo.size).unwrap_or(i64::MAX),
                    photo.content_type
                ])
                .map_err(map_err)?;
        }
    }
    feed::append_report(conn, station, content.id, ReportEventKind::Created, now)?;
    feed::append_audit(
        conn,
        station,
        &Actor::device(device_id),
        AuditRecord {
            action: "report.create",
            target_kind: "report",
            target_id: id,
            before: None,
            after: Some(json!({
                "content_hash": content_hash,
                "category": content.category.as_str(),
                "photos": content.photos.len(),
                "status": "received",
            })),
        },
        now,
    )?;
    // What was just written, built from the job rather than read back and
    // re-parsed: a new report has no status reason and no photo received yet.
    Ok(PutOutcome::Created(StoredReport {
        id: content.id,
        station_id: station,
        device_id,
        content: content.clone(),
        content_hash,
        status: ReviewStatus::Received,
        status_reason: None,
        complete: content.photos.is_empty(),
        received_at: rows::parse_ts(&received_at)?,
        photos: content
            .photos
            .iter()
            .enumerate()
            .map(|(position, p)| StoredPhoto {
                position: u32::try_from(position).unwrap_or(u32::MAX),
                sha256: p.sha256.clone(),
                size: p.size,
                content_type: p.content_type.clone(),
                received: false,
            })
            .collect(),
    }))
}

/// Loads a report with its photo manifest, within the station only.
pub(super) fn load(
    conn: &Connection,
    station: StationId,
    id: ReportId,
) -> Result<Option<StoredReport>, RepoError> {
    let head = cached_row(
        conn,
        "SELECT device_id, content_hash, content_json, status, complete, received_at,
                    status_reason
             FROM reports WHERE station_id = ?1 AND id = ?2",
        [station.to_string(), id.to_string()],
        |r| {
            Ok((
                get_uuid(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                get_ts(r, 5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        },
    )
    .optional()
    .map_err(map_err)?;
    let Some((device_id, content_hash, content_json, status, complete, received_at, status_reason)) =
        head
    else {
        return Ok(None);
    };
    let content: ReportContent = serde_json::from_str(&content_json)
        .map_err(|e| RepoError::Storage(format!("stored report does not parse: {e}")))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT position, sha256, size, content_type, received_at IS NOT NULL
             FROM report_photos WHERE station_id = ?1 AND report_id = ?2 ORDER BY position",
        )
        .map_err(map_err)?;
    let photos = stmt
        .query_map([station.to_string(), id.to_string()], |r| {
            Ok(StoredPhoto {
                position: r.get(0)?,
                sha256: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                content_type: r.get(3)?,
                received: r.get(4)?,
            })
        })
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    Ok(Some(StoredReport {
        id,
        station_id: station,
        device_id,
        content,
        content_hash,
        status: ReviewStatus::from(status),
        status_reason,
        complete,
        received_at,
        photos,
    }))
}

/// How many photos of a report's manifest have not arrived yet.
pub(super) fn photos_missing(
    conn: &Connection,
    station: StationId,
    report: &str,
) -> Result<i64, RepoError> {
    cached_row(
        conn,
        "SELECT count(*) FROM report_photos
         WHERE station_id = ?1 AND report_id = ?2 AND received_at IS NULL",
        params![station.to_string(), report],
        |r| r.get(0),
    )
    .map_err(map_err)
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
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let Some(before) = load(&tx, station, id)? else {
                return Ok(None);
            };
            if before.status == status && before.status_reason == reason {
                return Ok(Some(StatusChange {
                    before: before.status.clone(),
                    report: before,
                    changed: false,
                }));
            }
            tx.execute(
                "UPDATE reports SET status = ?3, status_reason = ?4 WHERE station_id = ?1 AND id = ?2",
                params![station.to_string(), id.to_string(), status.as_str(), reason],
            )
            .map_err(map_err)?;
            feed::append_report(&tx, station, id, ReportEventKind::Status, now)?;
            feed::append_audit(
                &tx,
                station,
                &actor,
                AuditRecord::status_changed(
                    id,
                    (&before.status, before.status_reason.as_deref()),
                    (&status, reason.as_deref()),
                ),
                now,
            )?;
            let report = load(&tx, station, id)?.ok_or(RepoError::NotFound("report"))?;
            tx.commit().map_err(map_err)?;
            Ok(Some(StatusChange {
                before: before.status,
                report,
                changed: true,
            }))
        })
        .await
    }
}
