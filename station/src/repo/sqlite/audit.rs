//! The audit log in SQLite: appended inside the caller's transaction, read in
//! order. The table's triggers refuse updates and deletes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::rows::{get_ts, ts};
use super::{cached_execute, map_err};
use crate::repo::{Actor, AuditEntry, RepoError, StationId};

pub(crate) use crate::repo::audit::AuditRecord;

/// Appends one audit row.
pub(super) fn append(
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
pub(super) fn read(
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
