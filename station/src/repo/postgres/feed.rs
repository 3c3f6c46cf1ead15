//! The changes feed and the audit log in PostgreSQL: appending inside the
//! caller's transaction, numbering, and reading back.
//!
//! Writers append entries unnumbered (`seq` NULL) and take no per-station
//! lock, so one station's deliveries commit in parallel and share WAL
//! flushes. Before a read, [`number`] gives every committed unnumbered entry
//! of the station the next numbers, in `id` order, in a short transaction
//! holding the station's `station_counters` row lock. Only committed entries
//! are visible to it and batches are numbered one after another, so numbers
//! are gapless and follow commit order: a reader that saw n has seen every
//! entry numbered below n, and an entry that commits late gets a number
//! above every number already handed out, so no cursor ever skips it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{CategoryList, ReportId, ReviewStatus};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PgRepository, execute, get, map_err, query, query_one, to_i64, to_u64};
use crate::repo::{
    Actor, Audience, AuditEntry, Change, ChangeBody, FeedStore, RepoError, ReportEventKind,
    StationId, Zone,
};

pub(crate) use crate::repo::audit::AuditRecord;

/// Numbers the station's committed, unnumbered feed and audit entries; see
/// the module doc. Does nothing (one cheap query) when there are none.
async fn number(client: &mut Object, station: StationId) -> Result<(), RepoError> {
    let pending = query_one(
        &*client,
        "SELECT EXISTS (SELECT 1 FROM changes WHERE station_id = $1 AND seq IS NULL),
                EXISTS (SELECT 1 FROM audit_log WHERE station_id = $1 AND seq IS NULL)",
        &[&station.0],
    )
    .await?;
    if !get::<bool>(&pending, 0)? && !get::<bool>(&pending, 1)? {
        return Ok(());
    }
    let tx = client.transaction().await.map_err(map_err)?;
    // The lock is taken by its own statement, so the numbering statements
    // below take their snapshots after it: they see everything the previous
    // numbering (which held the lock) committed.
    let counters = query_one(
        &tx,
        "SELECT change_seq, audit_seq FROM station_counters WHERE station_id = $1 FOR UPDATE",
        &[&station.0],
    )
    .await?;
    let change_base: i64 = get(&counters, 0)?;
    let audit_base: i64 = get(&counters, 1)?;
    let changes = execute(
        &tx,
        "UPDATE changes c SET seq = $2 + p.n
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM changes
               WHERE station_id = $1 AND seq IS NULL) p
         WHERE c.id = p.id",
        &[&station.0, &change_base],
    )
    .await?;
    let audits = execute(
        &tx,
        "UPDATE audit_log a SET seq = $2 + p.n
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_log
               WHERE station_id = $1 AND seq IS NULL) p
         WHERE a.id = p.id",
        &[&station.0, &audit_base],
    )
    .await?;
    execute(
        &tx,
        "UPDATE station_counters SET change_seq = change_seq + $2, audit_seq = audit_seq + $3
         WHERE station_id = $1",
        &[&station.0, &to_i64(changes), &to_i64(audits)],
    )
    .await?;
    tx.commit().await.map_err(map_err)
}

/// Appends an (unnumbered) feed entry with the report's state as it is now in
/// the transaction.
pub(super) async fn append_report<C: GenericClient>(
    c: &C,
    station: StationId,
    report: ReportId,
    event: ReportEventKind,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let n = execute(
        c,
        "INSERT INTO changes (station_id, kind, event, report_id, device_id, status, reason,
                              complete, photos_missing, at)
         SELECT r.station_id, 'report', $3, r.id, r.device_id, r.status, r.status_reason,
                r.complete,
                (SELECT count(*) FROM report_photos p
                 WHERE p.station_id = r.station_id AND p.report_id = r.id
                   AND p.received_at IS NULL)::integer,
                $4
         FROM reports r WHERE r.station_id = $1 AND r.id = $2",
        &[&station.0, &report.as_uuid(), &event.as_str(), &now],
    )
    .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(RepoError::NotFound("report"))
    }
}

/// Appends an (unnumbered) feed entry carrying the station's full category list.
pub(super) async fn append_categories<C: GenericClient>(
    c: &C,
    station: StationId,
    list: &CategoryList,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let json = serde_json::to_string(list.entries())
        .map_err(|e| RepoError::Storage(format!("cannot serialise categories: {e}")))?;
    execute(
        c,
        "INSERT INTO changes (station_id, kind, data_json, at)
         VALUES ($1, 'categories', $2, $3)",
        &[&station.0, &json, &now],
    )
    .await?;
    Ok(())
}

/// Appends an (unnumbered) feed entry carrying the station's full zone list.
pub(super) async fn append_zones<C: GenericClient>(
    c: &C,
    station: StationId,
    zones: &[Zone],
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let json = serde_json::to_string(zones)
        .map_err(|e| RepoError::Storage(format!("cannot serialise zones: {e}")))?;
    execute(
        c,
        "INSERT INTO changes (station_id, kind, data_json, at) VALUES ($1, 'zones', $2, $3)",
        &[&station.0, &json, &now],
    )
    .await?;
    Ok(())
}

/// Appends one (unnumbered) audit row.
pub(super) async fn append_audit<C: GenericClient>(
    c: &C,
    station: StationId,
    actor: &Actor,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        c,
        "INSERT INTO audit_log (station_id, at, actor_role, actor_user_id, actor_username,
                                actor_device_id, action, target_kind, target_id,
                                before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &station.0,
            &now,
            &actor.role.as_str(),
            &actor.user_id,
            &actor.username,
            &actor.device_id,
            &record.action,
            &record.target_kind,
            &record.target_id,
            &record.before.map(|v| v.to_string()),
            &record.after.map(|v| v.to_string()),
        ],
    )
    .await?;
    Ok(())
}

const CHANGE_COLUMNS: &str = "seq, kind, event, report_id, device_id, status, reason, complete,
                              photos_missing, at, data_json";

fn change_from_row(r: &Row) -> Result<Change, RepoError> {
    let kind: String = get(r, 1)?;
    let body = if kind == "categories" {
        let text: String = get(r, 10)?;
        ChangeBody::Categories(
            serde_json::from_str(&text)
                .map_err(|e| RepoError::Storage(format!("bad category JSON in feed: {e}")))?,
        )
    } else if kind == "zones" {
        let text: String = get(r, 10)?;
        ChangeBody::Zones(
            serde_json::from_str(&text)
                .map_err(|e| RepoError::Storage(format!("bad zone JSON in feed: {e}")))?,
        )
    } else {
        let event: String = get(r, 2)?;
        let report: Uuid = get(r, 3)?;
        let missing: i32 = get(r, 8)?;
        ChangeBody::Report {
            event: ReportEventKind::parse(&event)
                .ok_or_else(|| RepoError::Storage(format!("bad feed event `{event}`")))?,
            report_id: ReportId::parse(&report.to_string())
                .map_err(|e| RepoError::Storage(format!("bad report id in feed: {e}")))?,
            device_id: get(r, 4)?,
            status: ReviewStatus::from(get::<String>(r, 5)?),
            reason: get(r, 6)?,
            complete: get(r, 7)?,
            photos_missing: missing.max(0) as u32,
        }
    };
    Ok(Change {
        seq: to_u64(get(r, 0)?),
        at: get(r, 9)?,
        body,
    })
}

/// Feed entries after `after` that `audience` may see, oldest first.
async fn read_changes(
    client: &mut Object,
    station: StationId,
    audience: Audience,
    after: u64,
    limit: u32,
) -> Result<Vec<Change>, RepoError> {
    number(client, station).await?;
    let c = &*client;
    let after = to_i64(after);
    let limit = i64::from(limit);
    let rows = match audience {
        Audience::Device(device) => {
            query(
                c,
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes
                     WHERE station_id = $1 AND seq > $2
                       AND (kind IN ('categories', 'zones')
                            OR (kind = 'report' AND device_id = $4
                                AND event IN ('status', 'complete')))
                     ORDER BY seq LIMIT $3"
                ),
                &[&station.0, &after, &limit, &device],
            )
            .await?
        }
        Audience::Station => {
            query(
                c,
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes
                     WHERE station_id = $1 AND seq > $2 AND kind IN ('categories', 'report')
                     ORDER BY seq LIMIT $3"
                ),
                &[&station.0, &after, &limit],
            )
            .await?
        }
        Audience::CategoriesOnly => {
            query(
                c,
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes
                     WHERE station_id = $1 AND seq > $2 AND kind = 'categories'
                     ORDER BY seq LIMIT $3"
                ),
                &[&station.0, &after, &limit],
            )
            .await?
        }
    };
    rows.iter().map(change_from_row).collect()
}

fn json_column(r: &Row, idx: usize) -> Result<Option<serde_json::Value>, RepoError> {
    let text: Option<String> = get(r, idx)?;
    text.map(|t| {
        serde_json::from_str(&t)
            .map_err(|e| RepoError::Storage(format!("bad JSON in audit log: {e}")))
    })
    .transpose()
}

/// The station's audit rows after `after`, oldest first.
async fn read_audit(
    client: &mut Object,
    station: StationId,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, RepoError> {
    number(client, station).await?;
    let c = &*client;
    let rows = query(
        c,
        "SELECT seq, at, actor_role, actor_user_id, actor_username, actor_device_id, action,
                target_kind, target_id, before_json, after_json
         FROM audit_log WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        &[&station.0, &to_i64(after), &i64::from(limit)],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AuditEntry {
                seq: to_u64(get(r, 0)?),
                at: get(r, 1)?,
                actor_role: get(r, 2)?,
                actor_user_id: get(r, 3)?,
                actor_username: get(r, 4)?,
                actor_device_id: get(r, 5)?,
                action: get(r, 6)?,
                target_kind: get(r, 7)?,
                target_id: get(r, 8)?,
                before: json_column(r, 9)?,
                after: json_column(r, 10)?,
            })
        })
        .collect()
}

#[async_trait]
impl FeedStore for PgRepository {
    async fn changes(
        &self,
        station: StationId,
        audience: Audience,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        let mut client = self.client().await?;
        read_changes(&mut client, station, audience, after, limit).await
    }

    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        let mut client = self.client().await?;
        read_audit(&mut client, station, after, limit).await
    }
}
