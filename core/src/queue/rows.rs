//! SQL for the reports and photos tables, and mapping rows to view types.

use chrono::{DateTime, FixedOffset, Utc};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::QueueError;
use super::view::{PhotoEntry, Report, ReportSummary};
use crate::model::{GeoFlags, GeoPoint, LocationSource, ReportId, ReportState, ReviewStatus};

const REPORT_COLUMNS: &str = "id, state, category, note, lat, lon, accuracy_m, altitude_m, fix_time, \
     location_source, created_at, content_hash, flag_low_accuracy, flag_stale, review_status, server_message, \
     follow_up_of";

/// Wraps a value read from the database that does not parse (a bug or tampering).
fn bad_column(idx: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        format!("stored {what} is invalid").into(),
    )
}

pub(super) fn parse_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<ReportId> {
    let text: String = row.get(idx)?;
    ReportId::parse(&text).map_err(|_| bad_column(idx, "report id"))
}

fn parse_optional_id(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<ReportId>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| ReportId::parse(&t).map_err(|_| bad_column(idx, "report id")))
        .transpose()
}

pub(super) fn parse_state(row: &Row<'_>, idx: usize) -> rusqlite::Result<ReportState> {
    let text: String = row.get(idx)?;
    ReportState::parse(&text).ok_or_else(|| bad_column(idx, "state"))
}

pub(super) fn parse_time(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<FixedOffset>> {
    let text: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&text).map_err(|_| bad_column(idx, "timestamp"))
}

fn parse_location(row: &Row<'_>) -> rusqlite::Result<Option<GeoPoint>> {
    let Some(lat) = row.get::<_, Option<f64>>(4)? else {
        return Ok(None);
    };
    let lon: f64 = row.get(5)?;
    let accuracy: Option<f64> = row.get(6)?;
    let altitude: Option<f64> = row.get(7)?;
    let fix_time = parse_time(row, 8)?.with_timezone(&Utc);
    let source: String = row.get(9)?;
    let source = LocationSource::parse(&source).ok_or_else(|| bad_column(9, "location source"))?;
    GeoPoint::new(lat, lon, accuracy, altitude, fix_time, source)
        .map(Some)
        .map_err(|_| bad_column(4, "location"))
}

fn report_from_row(row: &Row<'_>) -> rusqlite::Result<Report> {
    Ok(Report {
        id: parse_id(row, 0)?,
        state: parse_state(row, 1)?,
        category: row.get(2)?,
        note: row.get(3)?,
        location: parse_location(row)?,
        created_at: parse_time(row, 10)?,
        photos: Vec::new(),
        content_hash: row.get(11)?,
        flags: GeoFlags {
            low_accuracy: row.get(12)?,
            stale: row.get(13)?,
        },
        review_status: row.get::<_, Option<String>>(14)?.map(ReviewStatus::from),
        server_message: row.get(15)?,
        follow_up_of: parse_optional_id(row, 16)?,
    })
}

/// Loads one report with its photos.
pub(super) fn load_report(conn: &Connection, id: ReportId) -> Result<Option<Report>, QueueError> {
    let sql = format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = ?1");
    let report = conn
        .query_row(&sql, [id.to_string()], report_from_row)
        .optional()?;
    let Some(mut report) = report else {
        return Ok(None);
    };
    report.photos = load_photos(conn, id)?;
    Ok(Some(report))
}

/// Loads a report's photos in order.
pub(super) fn load_photos(conn: &Connection, id: ReportId) -> Result<Vec<PhotoEntry>, QueueError> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, sha256, size, width, height FROM report_photos \
         WHERE report_id = ?1 ORDER BY position",
    )?;
    let rows = stmt.query_map([id.to_string()], |row| {
        Ok(PhotoEntry {
            position: row.get(0)?,
            sha256: row.get(1)?,
            size: row.get::<_, i64>(2)?.max(0) as u64,
            width: row.get(3)?,
            height: row.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Reads only a report's state, to explain why an update touched no row.
pub(super) fn load_state(
    conn: &Connection,
    id: ReportId,
) -> Result<Option<ReportState>, QueueError> {
    let state: Option<String> = conn
        .query_row(
            "SELECT state FROM reports WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?;
    match state {
        None => Ok(None),
        Some(s) => ReportState::parse(&s)
            .map(Some)
            .ok_or_else(|| QueueError::from(bad_column(0, "state"))),
    }
}

/// Lists every report in creation order.
pub(super) fn list(conn: &Connection) -> Result<Vec<ReportSummary>, QueueError> {
    let mut stmt = conn.prepare_cached(
        "SELECT r.id, r.state, r.category, r.created_at, \
                (SELECT count(*) FROM report_photos p WHERE p.report_id = r.id), r.review_status, \
                r.follow_up_of \
         FROM reports r ORDER BY r.created_at_ms, r.id",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(ReportSummary {
            id: parse_id(row, 0)?,
            state: parse_state(row, 1)?,
            category: row.get(2)?,
            created_at: parse_time(row, 3)?,
            photo_count: row.get(4)?,
            review_status: row.get::<_, Option<String>>(5)?.map(ReviewStatus::from),
            follow_up_of: parse_optional_id(row, 6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces a report's photo rows with `photos`, renumbered from 0.
pub(super) fn rewrite_photos(
    conn: &Connection,
    id: ReportId,
    photos: &[PhotoEntry],
) -> Result<(), QueueError> {
    let key = id.to_string();
    conn.execute("DELETE FROM report_photos WHERE report_id = ?1", [&key])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO report_photos (report_id, position, sha256, size, width, height) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (position, p) in photos.iter().enumerate() {
        insert.execute(params![
            key,
            position as i64,
            p.sha256,
            p.size as i64,
            p.width,
            p.height
        ])?;
    }
    Ok(())
}
