//! The changes feed in SQLite: appending entries inside the caller's
//! transaction, and reading them back per audience.

use chrono::{DateTime, Utc};
use postcso_model::{CategoryList, ReportId, ReviewStatus};
use rusqlite::{Connection, OptionalExtension, params};

use super::rows::{get_ts, invalid_text, ts};
use super::{cached_execute, cached_row, map_err};
use crate::repo::{Audience, Change, ChangeBody, RepoError, ReportEventKind, StationId, Zone};

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
pub(super) fn read(
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
