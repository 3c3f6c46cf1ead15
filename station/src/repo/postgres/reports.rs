//! Reports in PostgreSQL: the idempotent delivery, reading a report with its
//! manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::{PgRepository, get, map_err, micros, query_opt};
use crate::auth::Role;
use crate::repo::{
    Actor, PutOutcome, RepoError, ReportEventKind, ReportStore, StationId, StatusChange,
    StoredPhoto, StoredReport,
};

/// A first delivery in one statement, so one round trip: the report, its
/// manifest, the feed entry and the audit row (both numbered after commit, see
/// `feed`). It inserts nothing when the id exists (then no row comes back).
/// No per-station row is locked, so deliveries commit in parallel.
const INSERT_REPORT: &str = "
WITH r AS (
    INSERT INTO reports (id, station_id, device_id, content_hash, content_json, category,
                         status, complete, received_at)
    VALUES ($1, $2, $3, $4, $5, $6, 'received', $7, $8)
    ON CONFLICT (id) DO NOTHING
    RETURNING id, station_id
), p AS (
    INSERT INTO report_photos (report_id, station_id, position, sha256, size, content_type)
    SELECT r.id, r.station_id, ph.position, ph.sha256, ph.size, ph.content_type
    FROM r, unnest($9::integer[], $10::text[], $11::bigint[], $12::text[])
         AS ph(position, sha256, size, content_type)
), ch AS (
    INSERT INTO changes (station_id, kind, event, report_id, device_id, status, reason,
                         complete, photos_missing, at)
    SELECT r.station_id, 'report', 'created', r.id, $3, 'received', NULL, $7,
           cardinality($10::text[]), $8
    FROM r
), a AS (
    INSERT INTO audit_log (station_id, at, actor_role, actor_device_id, action,
                           target_kind, target_id, after_json)
    SELECT r.station_id, $8, $13, $3, 'report.create', 'report', r.id::text, $14
    FROM r
)
SELECT 1 FROM r";

/// Stores a report exactly once; see [`ReportStore::put_report`].
async fn put(
    client: &Object,
    station: StationId,
    device_id: Uuid,
    content: ReportContent,
    content_hash: String,
    now: DateTime<Utc>,
) -> Result<PutOutcome, RepoError> {
    let now = micros(now);
    let content_json = serde_json::to_string(&content)
        .map_err(|e| RepoError::Storage(format!("cannot serialise report: {e}")))?;
    let id = content.id.as_uuid();
    let positions: Vec<i32> = (0..content.photos.len() as i32).collect();
    let hashes: Vec<&str> = content.photos.iter().map(|p| p.sha256.as_str()).collect();
    let sizes: Vec<i64> = content
        .photos
        .iter()
        .map(|p| super::to_i64(p.size))
        .collect();
    let types: Vec<&str> = content
        .photos
        .iter()
        .map(|p| p.content_type.as_str())
        .collect();
    let complete = content.photos.is_empty();
    let audit_after = json!({
        "content_hash": content_hash,
        "category": content.category.as_str(),
        "photos": content.photos.len(),
        "status": "received",
    })
    .to_string();
    let created = query_opt(
        client,
        INSERT_REPORT,
        &[
            &id,
            &station.0,
            &device_id,
            &content_hash,
            &content_json,
            &content.category.as_str(),
            &complete,
            &now,
            &positions,
            &hashes,
            &sizes,
            &types,
            &Role::Carrier.as_str(),
            &audit_after,
        ],
    )
    .await?;
    if created.is_some() {
        let photos = content
            .photos
            .iter()
            .enumerate()
            .map(|(position, p)| StoredPhoto {
                position: position as u32,
                sha256: p.sha256.clone(),
                size: p.size,
                content_type: p.content_type.clone(),
                received: false,
            })
            .collect();
        return Ok(PutOutcome::Created(StoredReport {
            id: content.id,
            station_id: station,
            device_id,
            content,
            content_hash,
            status: ReviewStatus::Received,
            status_reason: None,
            complete,
            received_at: now,
            photos,
        }));
    }
    // The id exists. Looked up without the station filter on purpose: ids are
    // unique across stations, and a clash must be a conflict, never a second row.
    let existing = query_opt(
        client,
        "SELECT station_id, device_id, content_hash FROM reports WHERE id = $1",
        &[&id],
    )
    .await?
    .ok_or_else(|| RepoError::Unavailable("report delivery raced; retry".into()))?;
    let same = get::<Uuid>(&existing, 0)? == station.0
        && get::<Uuid>(&existing, 1)? == device_id
        && get::<String>(&existing, 2)? == content_hash;
    if !same {
        return Ok(PutOutcome::Conflict);
    }
    let stored = load(client, station, content.id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    Ok(PutOutcome::Unchanged(stored))
}

/// One manifest entry as `load` aggregates it.
#[derive(Deserialize)]
struct PhotoRow {
    position: u32,
    sha256: String,
    size: u64,
    content_type: String,
    received: bool,
}

/// Loads a report with its manifest, within the station only, in one query.
pub(super) async fn load<C: GenericClient>(
    c: &C,
    station: StationId,
    id: ReportId,
) -> Result<Option<StoredReport>, RepoError> {
    let row = query_opt(
        c,
        "SELECT r.device_id, r.content_hash, r.content_json, r.status, r.complete,
                r.received_at, r.status_reason,
                coalesce((SELECT json_agg(json_build_object(
                              'position', p.position, 'sha256', p.sha256, 'size', p.size,
                              'content_type', p.content_type,
                              'received', p.received_at IS NOT NULL) ORDER BY p.position)
                          FROM report_photos p
                          WHERE p.station_id = r.station_id AND p.report_id = r.id),
                         '[]'::json)
         FROM reports r WHERE r.station_id = $1 AND r.id = $2",
        &[&station.0, &id.as_uuid()],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let content_json: String = get(&row, 2)?;
    let content: ReportContent = serde_json::from_str(&content_json)
        .map_err(|e| RepoError::Storage(format!("stored report does not parse: {e}")))?;
    let photos: Vec<PhotoRow> = serde_json::from_value(get(&row, 7)?)
        .map_err(|e| RepoError::Storage(format!("stored manifest does not parse: {e}")))?;
    Ok(Some(StoredReport {
        id,
        station_id: station,
        device_id: get(&row, 0)?,
        content,
        content_hash: get(&row, 1)?,
        status: ReviewStatus::from(get::<String>(&row, 3)?),
        status_reason: get(&row, 6)?,
        complete: get(&row, 4)?,
        received_at: get(&row, 5)?,
        photos: photos
            .into_iter()
            .map(|p| StoredPhoto {
                position: p.position,
                sha256: p.sha256,
                size: p.size,
                content_type: p.content_type,
                received: p.received,
            })
            .collect(),
    }))
}

/// Sets a report's review status with its feed entry and audit row.
async fn set_status(
    client: &mut Object,
    station: StationId,
    id: ReportId,
    status: ReviewStatus,
    reason: Option<String>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Option<StatusChange>, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    // Lock the report first (the same order as photo completion), so two
    // decisions on one report queue and each sees the other's result.
    let locked = query_opt(
        &tx,
        "SELECT 1 FROM reports WHERE station_id = $1 AND id = $2 FOR UPDATE",
        &[&station.0, &id.as_uuid()],
    )
    .await?;
    if locked.is_none() {
        return Ok(None);
    }
    let before = load(&tx, station, id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    if before.status == status && before.status_reason == reason {
        return Ok(Some(StatusChange {
            before: before.status.clone(),
            report: before,
            changed: false,
        }));
    }
    super::execute(
        &tx,
        "UPDATE reports SET status = $3, status_reason = $4 WHERE station_id = $1 AND id = $2",
        &[&station.0, &id.as_uuid(), &status.as_str(), &reason],
    )
    .await?;
    feed::append_report(&tx, station, id, ReportEventKind::Status, now).await?;
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
    )
    .await?;
    let report = load(&tx, station, id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    tx.commit().await.map_err(map_err)?;
    Ok(Some(StatusChange {
        before: before.status,
        report,
        changed: true,
    }))
}

#[async_trait]
impl ReportStore for PgRepository {
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError> {
        let client = self.client().await?;
        put(&client, station, device_id, content, content_hash, now).await
    }

    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError> {
        load(&self.client().await?, station, id).await
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
        let mut client = self.client().await?;
        set_status(&mut client, station, id, status, reason, actor, now).await
    }
}
