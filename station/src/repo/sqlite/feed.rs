//! The changes feed and the audit log in SQLite: appending entries inside the
//! caller's transaction (numbered there: the single writer makes `max + 1`
//! race-free), and reading them back in order, the feed per audience. The
//! audit table's triggers refuse updates and deletes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{all_rows, ts};
use super::{SqliteRepository, cached_execute, cached_row, map_err};
use crate::repo::audit::{AUDIT_COLUMNS, AuditRecord, audit_entry_from};
use crate::repo::feed::{ActionLog, CHANGE_COLUMNS, NewChange, change_from};
use crate::repo::{
    Actor, Audience, AuditEntry, Change, FeedStore, RepoError, ReportEventKind, StationId,
};

/// How many photos of a report's manifest have not arrived yet: what a
/// report's feed entry says, and what decides its completion.
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

/// Writes what an action leaves in the logs (its feed entry, if any, and its
/// audit row) inside `conn`'s transaction.
pub(super) fn log(
    conn: &Connection,
    station: StationId,
    log: &ActionLog,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    if let Some(change) = &log.change {
        append_change(conn, station, change, now)?;
    }
    append_audit(conn, station, &log.actor, &log.audit, now)
}

/// Appends a feed entry inside `conn`'s transaction.
pub(super) fn append_change(
    conn: &Connection,
    station: StationId,
    change: &NewChange,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    match change {
        NewChange::Report { report, event } => append_report(conn, station, *report, *event, now),
        NewChange::List { kind, json } => {
            let seq = next_seq(conn, station)?;
            cached_execute(
                conn,
                "INSERT INTO changes (station_id, seq, kind, data_json, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![station.to_string(), seq, kind, json, ts(now)],
            )
            .map_err(map_err)?;
            Ok(())
        }
    }
}

/// Appends a feed entry with the report's state as it is now in `conn`'s
/// transaction.
fn append_report(
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
    let missing = photos_missing(conn, station, &id)?;
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

/// Appends one audit row inside `conn`'s transaction.
fn append_audit(
    conn: &Connection,
    station: StationId,
    actor: &Actor,
    record: &AuditRecord,
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
            record.before_json(),
            record.after_json(),
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Feed entries after `after` that `audience` may see, oldest first.
fn read_changes(
    conn: &Connection,
    station: StationId,
    audience: Audience,
    after: u64,
    limit: u32,
) -> Result<Vec<Change>, RepoError> {
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE station_id = ?1 AND seq > ?2 AND {}
         ORDER BY seq LIMIT ?3",
        audience.visible("?4")
    );
    let (station, after, limit) = (
        station.to_string(),
        i64::try_from(after).unwrap_or(i64::MAX),
        i64::from(limit),
    );
    match audience.device() {
        Some(device) => all_rows(
            conn,
            &sql,
            params![station, after, limit, device.to_string()],
            |r| change_from(r),
        ),
        None => all_rows(conn, &sql, params![station, after, limit], |r| {
            change_from(r)
        }),
    }
}

/// The station's audit rows after `after`, oldest first.
fn read_audit(
    conn: &Connection,
    station: StationId,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, RepoError> {
    all_rows(
        conn,
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE station_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3"
        ),
        params![
            station.to_string(),
            i64::try_from(after).unwrap_or(i64::MAX),
            i64::from(limit)
        ],
        |r| audit_entry_from(r),
    )
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
