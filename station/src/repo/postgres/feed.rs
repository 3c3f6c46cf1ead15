//! The changes feed and the audit log in PostgreSQL: numbering, appending
//! inside the caller's transaction, and reading back.
//!
//! Numbers come from the station's `station_counters` row, bumped with an
//! `UPDATE … RETURNING` inside the writing transaction. The row lock is held
//! until that transaction ends, so a second writer of the same station gets
//! n+1 only after the first committed n (or rolled back, and then it gets n).
//! Hence a reader that sees entry n+1 also sees every entry before it, and a
//! cursor can move forward without ever skipping an entry that commits late.
//! The cost is that one station's feed writers queue on that row for the
//! moment between their bump and their commit; writers should bump last.
//! Stations do not wait on each other.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use postcso_core::model::{CategoryList, ReportId, ReviewStatus};
use tokio_postgres::Row;
use uuid::Uuid;

use super::{execute, get, query, query_one, to_u64};
use crate::repo::{
    Actor, Audience, AuditEntry, Change, ChangeBody, RepoError, ReportEventKind, StationId,
};

/// What an audit row records besides its actor and time.
pub(super) struct AuditRecord<'a> {
    /// e.g. `report.status`.
    pub action: &'a str,
    /// e.g. `report`.
    pub target_kind: &'a str,
    /// The target's id.
    pub target_id: String,
    /// State before.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
}

/// Takes the next `changes` feed numbers and `audits` audit numbers of the
/// station; returns the last of each (after the bump). Locks the counter row
/// until the transaction ends.
pub(super) async fn bump<C: GenericClient>(
    c: &C,
    station: StationId,
    changes: i64,
    audits: i64,
) -> Result<(i64, i64), RepoError> {
    let row = query_one(
        c,
        "UPDATE station_counters SET change_seq = change_seq + $2, audit_seq = audit_seq + $3
         WHERE station_id = $1 RETURNING change_seq, audit_seq",
        &[&station.0, &changes, &audits],
    )
    .await?;
    Ok((get(&row, 0)?, get(&row, 1)?))
}

/// Appends a feed entry with the report's state as it is now in the
/// transaction, numbered `seq`.
pub(super) async fn append_report<C: GenericClient>(
    c: &C,
    station: StationId,
    seq: i64,
    report: ReportId,
    event: ReportEventKind,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let n = execute(
        c,
        "INSERT INTO changes (station_id, seq, kind, event, report_id, device_id, status, reason,
                              complete, photos_missing, at)
         SELECT r.station_id, $3, 'report', $4, r.id, r.device_id, r.status, r.status_reason,
                r.complete,
                (SELECT count(*) FROM report_photos p
                 WHERE p.station_id = r.station_id AND p.report_id = r.id
                   AND p.received_at IS NULL)::integer,
                $5
         FROM reports r WHERE r.station_id = $1 AND r.id = $2",
        &[&station.0, &report.as_uuid(), &seq, &event.as_str(), &now],
    )
    .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(RepoError::NotFound("report"))
    }
}

/// Appends a feed entry carrying the station's full category list.
pub(super) async fn append_categories<C: GenericClient>(
    c: &C,
    station: StationId,
    seq: i64,
    list: &CategoryList,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let json = serde_json::to_string(list.entries())
        .map_err(|e| RepoError::Storage(format!("cannot serialise categories: {e}")))?;
    execute(
        c,
        "INSERT INTO changes (station_id, seq, kind, data_json, at)
         VALUES ($1, $2, 'categories', $3, $4)",
        &[&station.0, &seq, &json, &now],
    )
    .await?;
    Ok(())
}

/// Appends one audit row numbered `seq`.
pub(super) async fn append_audit<C: GenericClient>(
    c: &C,
    station: StationId,
    seq: i64,
    actor: &Actor,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        c,
        "INSERT INTO audit_log (station_id, seq, at, actor_role, actor_user_id, actor_username,
                                actor_device_id, action, target_kind, target_id,
                                before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &station.0,
            &seq,
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
pub(super) async fn read_changes<C: GenericClient>(
    c: &C,
    station: StationId,
    audience: Audience,
    after: u64,
    limit: u32,
) -> Result<Vec<Change>, RepoError> {
    let after = super::to_i64(after);
    let limit = i64::from(limit);
    let rows = match audience {
        Audience::Device(device) => {
            query(
                c,
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes
                     WHERE station_id = $1 AND seq > $2
                       AND (kind = 'categories'
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
                     WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
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
pub(super) async fn read_audit<C: GenericClient>(
    c: &C,
    station: StationId,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, RepoError> {
    let rows = query(
        c,
        "SELECT seq, at, actor_role, actor_user_id, actor_username, actor_device_id, action,
                target_kind, target_id, before_json, after_json
         FROM audit_log WHERE station_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        &[&station.0, &super::to_i64(after), &i64::from(limit)],
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
