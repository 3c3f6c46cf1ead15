//! Reports in PostgreSQL: the idempotent delivery, reading a report with its
//! manifest, and triage decisions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use uuid::Uuid;

use super::nearby::cell;
use super::{PgRepository, feed, get, map_err, query, query_opt};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::follow_ups::follow_up_from;
use crate::repo::reports::{REPORT_COLUMNS, ReportOwner, report_from};
use crate::repo::{
    Actor, FollowUp, Placement, PutOutcome, RepoError, ReportStore, StationId, StatusChange,
    StoredPhoto, StoredReport,
};

/// A first delivery in one statement, so one round trip: the report, its
/// manifest, the feed entry and the audit row (both numbered after commit, see
/// `feed`). It inserts nothing when the id exists (then no row comes back).
/// `ON CONFLICT` names no target on purpose: `reports` has two unique indexes
/// on the id (`id` and `(station_id, id)`), and with `(id)` as the only arbiter
/// a delivery racing another of the same id could pass the arbiter's check and
/// then fail on the other index with a unique violation (a spurious `409`
/// under load, seen in the 20-parallel-PUT test on PostgreSQL).
/// No per-station row is locked, so deliveries commit in parallel. A
/// follow-up's first delivery also appends its parent's `follow_up` feed
/// entry (`$22`, checked by the caller), after its own `created` one.
const INSERT_REPORT: &str = "
WITH r AS (
    INSERT INTO reports (id, station_id, device_id, content_hash, content_json, category,
                         status, complete, received_at, lat, lon, created_at, cell,
                         follow_up_of, district_code, district_name, zones_json,
                         outside_jurisdiction, boundary_distance_m)
    VALUES ($1, $2, $3, $4, $5, $6, 'received', $7, $8, $18, $19, $20, $21, $22, $23, $24,
            $25, $26, $27)
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
    SELECT e.station_id, 'report', e.event, e.report_id, e.device_id, e.status, e.reason,
           e.complete, e.photos_missing, $8
    FROM (
        SELECT 1 AS o, r.station_id, 'created' AS event, r.id AS report_id,
               $3::uuid AS device_id, 'received' AS status, NULL::text AS reason,
               $7::boolean AS complete, cardinality($10::text[]) AS photos_missing
        FROM r
        UNION ALL
        SELECT 2, pa.station_id, 'follow_up', pa.id, pa.device_id, pa.status, pa.status_reason,
               pa.complete,
               (SELECT count(*)::integer FROM report_photos ph
                WHERE ph.station_id = pa.station_id AND ph.report_id = pa.id
                  AND ph.received_at IS NULL)
        FROM r JOIN reports pa ON pa.station_id = r.station_id AND pa.id = $22
    ) e
    ORDER BY e.o
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
    placement: Placement,
    now: DateTime<Utc>,
) -> Result<PutOutcome, RepoError> {
    let now = micros(now);
    let content_json = serde_json::to_string(&content)
        .map_err(|e| RepoError::Storage(format!("cannot serialise report: {e}")))?;
    let zones_json = placement.zones_json()?;
    let report = StoredReport::received(station, device_id, content, content_hash, placement, now);
    let (lat, lon) = (report.content.location.lat(), report.content.location.lon());
    let follow_up_of = report.content.follow_up_of.map(|p| p.as_uuid());
    let placed = report.placement.as_ref();
    let district = placed.and_then(|p| p.district.as_ref());
    let district_code = district.map(|d| d.code.as_str());
    let district_name = district.map(|d| d.name.as_str());
    let outside = placed.map(|p| p.outside_jurisdiction);
    let boundary = placed.and_then(|p| p.boundary_distance_m);
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
            &lat,
            &lon,
            &report.created_at_utc(),
            &cell(lat, lon),
            &follow_up_of,
            &district_code,
            &district_name,
            &zones_json,
            &outside,
            &boundary,
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
        &format!(
            "SELECT {REPORT_COLUMNS},
                    coalesce((SELECT json_agg(json_build_object(
                                  'position', p.position, 'sha256', p.sha256, 'size', p.size,
                                  'content_type', p.content_type,
                                  'received', p.received_at IS NOT NULL) ORDER BY p.position)
                              FROM report_photos p
                              WHERE p.station_id = r.station_id AND p.report_id = r.id),
                             '[]'::json)
             FROM reports r WHERE r.station_id = $1 AND r.id = $2"
        ),
        &[&station.0, &id.as_uuid()],
    )
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let photos: Vec<StoredPhoto> = serde_json::from_value(get(&row, 14)?)
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
        // Any other decision takes a merged report back out of its merge.
        "UPDATE reports SET status = $3, status_reason = $4, merged_into = NULL
         WHERE station_id = $1 AND id = $2",
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
        placement: Placement,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError> {
        let client = self.client().await?;
        put(
            &client,
            station,
            device_id,
            content,
            content_hash,
            placement,
            now,
        )
        .await
    }

    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError> {
        load(&self.client().await?, station, id).await
    }

    async fn follow_ups(
        &self,
        station: StationId,
        parent: ReportId,
    ) -> Result<Vec<FollowUp>, RepoError> {
        let rows = query(
            &self.client().await?,
            "SELECT r.id, r.created_at, r.received_at,
                    (SELECT count(*) FROM report_photos p
                     WHERE p.station_id = r.station_id AND p.report_id = r.id)
             FROM reports r WHERE r.station_id = $1 AND r.follow_up_of = $2
             ORDER BY r.received_at, r.id",
            &[&station.0, &parent.as_uuid()],
        )
        .await?;
        rows.iter().map(follow_up_from).collect()
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
