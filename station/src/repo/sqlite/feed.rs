//! The changes feed and the audit log in SQLite: appending entries inside the
//! caller's transaction (numbered there: the single writer makes `max + 1`
//! race-free), and reading them back in order, the feed per audience. The
//! audit table's triggers refuse updates and deletes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryList, ReportId, ReviewStatus};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{get_ts, invalid_text, ts};
use super::{SqliteRepository, cached_execute, cached_row, map_err, reports};
use crate::repo::{
    Actor, Audience, AuditEntry, Change, ChangeBody, FeedStore, RepoError, ReportEventKind,
    StationId, Zone,
};

pub(crate) use crate::repo::audit::AuditRecord;

/// The next per-station sequence number. Only called inside a write
/// transaction, where the single writer makes `max + 1` race-free.
fn next_seq(conn: &Connection, station: StationId) -> Result<i64, RepoError> {
    cached_row(
        conn,
        "SELECT coalesce(max(seq), 0) + 1 FROM changes WHERE station_id = ?1",
        [station.to_string()],
        |r| r.get(0),
    )
    .map_err(map_err)
}

/// Appends a feed entry with the report's state as it is now in `conn`'s
/// transaction.
pub(super) fn append_report(
    conn: &Connection,
    station: StationId,
    report: ReportId,
    event: ReportEventKind,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let id = report.to_string();
    let state: Option<(String, String, Option<String>, bool)> = cached_row(
        conn,
        "SELECT device_id, status, status_reason, complete FROM reports
             WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )
    .optional()
    .map_err(map_err)?;
    let (device_id, status, reason, complete) = state.ok_or(RepoError::NotFound("report"))?;
    let missing = reports::photos_missing(conn, station, &id)?;
    let seq = next_seq(conn, station)?;
    cached_execute(
        conn,
        "INSERT INTO changes (station_id, seq, kind, event, report_id, device_id, status, reason,
                              complete, photos_missing, at)
         VALUES (?1, ?2, 'report', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            station.to_string(),
            seq,
            event.as_str(),
            id,
            device_id,
            status,
            reason,
            complete,
            missing,
            ts(now)
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Appends a feed entry carrying the station's full category list.
pub(super) fn append_categories(
    conn: &Connection,
    station: StationId,
    list: &CategoryList,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let json = serde_json::to_string(list.entries())
        .map_err(|e| RepoError::Storage(format!("cannot serialise categories: {e}")))?;
    let seq = next_seq(conn, station)?;
    cached_execute(
        conn,
        "INSERT INTO changes (station_id, seq, kind, data_json, at)
         VALUES (?1, ?2, 'categories', ?3, ?4)",
        params![station.to_string(), seq, json, ts(now)],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Appends a feed entry carrying the station's full zone list.
pub(super) fn append_zones(
    conn: &Connection,
    station: StationId,
    zones: &[Zone],
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let json = serde_json::to_string(zones)
        .map_err(|e| RepoError::Storage(format!("cannot serialise zones: {e}")))?;
    let seq = next_seq(conn, station)?;
    cached_execute(
        conn,
        "INSERT INTO changes (station_id, seq, kind, data_json, at)
         VALUES (?1, ?2, 'zones', ?3, ?4)",
        params![station.to_string(), seq, json, ts(now)],
    )
    .map_err(map_err)?;
    Ok(())
}

fn change_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Change> {
    let seq: i64 = r.get(0)?;
    let kind: String = r.get(1)?;
    let body = if kind == "categories" {
        let text: String = r.get(10)?;
        ChangeBody::Categories(
            serde_json::from_str(&text).map_err(|_| invalid_text(10, "bad category JSON"))?,
        )
    } else if kind == "zones" {
        let text: String = r.get(10)?;
        ChangeBody::Zones(
            serde_json::from_str(&text).map_err(|_| invalid_text(10, "bad zone JSON"))?,
        )
    } else {
        let event: String = r.get(2)?;
        let report_id: String = r.get(3)?;
        let device_id: String = r.get(4)?;
        ChangeBody::Report {
            event: ReportEventKind::parse(&event).ok_or_else(|| invalid_text(2, "bad event"))?,
            report_id: ReportId::parse(&report_id).map_err(|_| invalid_text(3, "bad report id"))?,
            device_id: uuid::Uuid::parse_str(&device_id)
                .map_err(|_| invalid_text(4, "bad device id"))?,
            status: ReviewStatus::from(r.get::<_, String>(5)?),
            reason: r.get(6)?,
            complete: r.get(7)?,
            photos_missing: r.get::<_, i64>(8)?.clamp(0, i64::from(u32::MAX)) as u32,
        }
    };
    Ok(Change {
        seq: seq.max(0) as u64,
        at: get_ts(r, 9)?,
        body,
    })
}

/// Feed entries after `after` that `audience` may see.
fn read_changes(
    conn: &Connection,
    station: StationId,
    audience: Audience,
    after: u64,
    limit: u32,
) -> Result<Vec<Change>, RepoError> {
    let (filter, device) = match audience {
        Audience::Device(device) => (
            "(kind IN ('categories', 'zones') OR (kind = 'report' AND device_id = ?4
                                      AND event IN ('status', 'complete')))",
            device.to_string(),
        ),
        Audience::Station => (
            "kind IN ('categories', 'report') AND ?4 = ?4",
            String::new(),
        ),
        Audience::CategoriesOnly => ("kind = 'categories' AND ?4 = ?4", String::new()),
    };
    let sql = format!(
        "SELECT seq, kind, event, report_id, device_id, status, reason, complete, photos_missing,
                at, data_json
         FROM changes WHERE station_id = ?1 AND seq > ?2 AND {filter}
         ORDER BY seq LIMIT ?3"
    );
    let mut stmt = conn.prepare(&sql).map_err(map_err)?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(
            params![station.to_string(), after, i64::from(limit), device],
            change_from_row,
        )
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

/// Appends one audit row.
pub(super) fn append_audit(
    conn: &Connection,
    station: StationId,
    actor: &Actor,
    record: AuditRecord<'_>,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    cached_execute(
        conn,
        "INSERT INTO audit_log (station_id, at, actor_role, actor_user_id, actor_username,
                                actor_device_id, action, target_kind, target_id,
                                before_json, after_json)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            station.to_string(),
            ts(now),
            actor.role.as_str(),
            actor.user_id.map(|u| u.to_string()),
            actor.username,
            actor.device_id.map(|d| d.to_string()),
            record.action,
            record.target_kind,
            record.target_id,
            record.before.map(|v| v.to_string()),
            record.after.map(|v| v.to_string()),
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

fn json_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<serde_json::Value>> {
    let text: Option<String> = r.get(idx)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

fn uuid_column(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Option<uuid::Uuid>> {
    let text: Option<String> = r.get(idx)?;
    text.map(|t| {
        uuid::Uuid::parse_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

/// The station's audit rows after `after`, oldest first.
fn read_audit(
    conn: &Connection,
    station: StationId,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, RepoError> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, at, actor_role, actor_user_id, actor_username, actor_device_id, action,
                    target_kind, target_id, before_json, after_json
             FROM audit_log WHERE station_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )
        .map_err(map_err)?;
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![station.to_string(), after, i64::from(limit)], |r| {
            Ok(AuditEntry {
                seq: r.get::<_, i64>(0)?.max(0) as u64,
                at: get_ts(r, 1)?,
                actor_role: r.get(2)?,
                actor_user_id: uuid_column(r, 3)?,
                actor_username: r.get(4)?,
                actor_device_id: uuid_column(r, 5)?,
                action: r.get(6)?,
                target_kind: r.get(7)?,
                target_id: r.get(8)?,
                before: json_column(r, 9)?,
                after: json_column(r, 10)?,
            })
        })
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

#[async_trait]
impl FeedStore for SqliteRepository {
    async fn changes(
        &self,
        station: StationId,
        audience: Audience,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        self.read(move |conn| read_changes(conn, station, audience, after, limit))
            .await
    }

    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        self.read(move |conn| read_audit(conn, station, after, limit))
            .await
    }
}
