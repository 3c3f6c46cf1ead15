//! Reports in PostgreSQL: the idempotent delivery, reading a report with its
//! manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use uuid::Uuid;

use super::{PgRepository, feed, get, map_err, query_opt};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::reports::{ReportOwner, report_from};
use crate::repo::{
    Actor, PutOutcome, RepoError, ReportStore, StationId, StatusChange, StoredPhoto, StoredReport,
};

/// A first delivery in one statement, so one round trip: the report, its
/// manifest, the feed entry and the audit row (both numbered after commit, see
/// `feed`). It inserts nothing when the id exists (then no row comes back).
/// `ON CONFLICT` names no target on purpose: `reports` has two unique indexes
/// on the id (`id` and `(station_id, id)`), and with `(id)` as the only arbiter
/// a delivery racing another of the same id could pass the arbiter's check and
/// then fail on the other index with a unique violation (a spurious `409`
/// under load, seen in the 20-parallel-PUT test on PostgreSQL).
/// No per-station row is locked, so deliveries commit in parallel.
const INSERT_REPORT: &str = "
WITH r AS (
    INSERT INTO reports (id, station_id, device_id, content_hash, content_json, category,
                         status, complete, received_at)
    VALUES ($1, $2, $3, $4, $5, $6, 'received', $7, $8)
    ON CONFLICT DO NOTHING
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
    SELECT r.station_id, $8, $13, $3, $14, $15, $16, $17
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
    let report = StoredReport::received(station, device_id, content, content_hash, now);
    let log = ActionLog::report_created(&report);
    let id = report.id.as_uuid();
    let photos = &report.photos;
    let positions: Vec<i32> = photos
        .iter()
        .map(|p| i32::try_from(p.position).unwrap_or(i32::MAX))
        .collect();
    let hashes: Vec<&str> = photos.iter().map(|p| p.sha256.as_str()).collect();
    let sizes: Vec<i64> = photos.iter().map(|p| super::to_i64(p.size)).collect();
    let types: Vec<&str> = photos.iter().map(|p| p.content_type.as_str()).collect();
    let created = query_opt(
        client,
        INSERT_REPORT,
        &[
            &id,
            &station.0,
            &device_id,
            &report.content_hash,
            &content_json,
            &report.content.category.as_str(),
            &report.complete,
            &now,
            &positions,
            &hashes,
            &sizes,
            &types,
            &log.actor.role.as_str(),
            &log.audit.action,
            &log.audit.target_kind,
            &log.audit.target_id,
            &log.audit.after_json(),
        ],
    )
    .await?;
    if created.is_some() {
        return Ok(PutOutcome::Created(report));
    }
    // The id exists. Looked up without the station filter on purpose: ids are
    // unique across stations, and a clash must be a conflict, never a second row.
    let owner = query_opt(
        client,
        "SELECT station_id, device_id, content_hash FROM reports WHERE id = $1",
        &[&id],
    )
    .await?
    .ok_or_else(|| RepoError::Unavailable("report delivery raced; retry".into()))?;
    if !ReportOwner::from_row(&owner)?.is_retry(station, device_id, &report.content_hash) {
        return Ok(PutOutcome::Conflict);
    }
    let stored = load(client, station, report.id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    Ok(PutOutcome::Unchanged(stored))
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
                r.received_at, r.status_reason, r.version,
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
    let photos: Vec<StoredPhoto> = serde_json::from_value(get(&row, 8)?)
        .map_err(|e| RepoError::Storage(format!("stored manifest does not parse: {e}")))?;
    report_from(&row, station, id, photos).map(Some)
}

/// Sets a report's review status with its feed entry and audit row.
#[allow(clippy::too_many_arguments)]
async fn set_status(
    client: &mut Object,
    station: StationId,
    id: ReportId,
    status: ReviewStatus,
    reason: Option<String>,
    if_version: Option<u64>,
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
    StatusChange::check_version(&before, if_version)?;
    if let Some(same) = StatusChange::unchanged(&before, &status, reason.as_deref()) {
        return Ok(Some(same));
    }
    super::execute(
        &tx,
        "UPDATE reports SET status = $3, status_reason = $4 WHERE station_id = $1 AND id = $2",
        &[&station.0, &id.as_uuid(), &status.as_str(), &reason],
    )
    .await?;
    let log = ActionLog::report_status(actor, &before, &status, reason.as_deref());
    feed::log(&tx, station, &log, now).await?;
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
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError> {
        let mut client = self.client().await?;
        set_status(
            &mut client,
            station,
            id,
            status,
            reason,
            if_version,
            actor,
            now,
        )
        .await
    }
}
