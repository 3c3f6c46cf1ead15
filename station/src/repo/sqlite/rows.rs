//! Conversions between SQLite rows and the repository's types.
//!
//! Kept apart from the queries so the text formats (timestamps, ids) are defined
//! once and every query reads them the same way.

use chrono::{DateTime, SecondsFormat, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Row};
use uuid::Uuid;

use super::{cached_row, map_err};
use crate::auth::Role;
use crate::repo::{
    Device, RepoError, StaffUser, Station, StationId, StoredPhoto, StoredReport, User,
};

/// Formats a timestamp so that text order is time order.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses a stored timestamp outside a row closure.
pub(super) fn parse_ts(s: &str) -> Result<DateTime<Utc>, RepoError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| RepoError::Storage(format!("bad timestamp in database: {e}")))
}

fn conversion(idx: usize, e: impl std::error::Error + Send + Sync + 'static) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e))
}

/// A text column `idx` that does not hold what it should; `detail` says what.
pub(super) fn invalid_text(idx: usize, detail: &str) -> rusqlite::Error {
    conversion(
        idx,
        std::io::Error::new(std::io::ErrorKind::InvalidData, detail.to_owned()),
    )
}

/// Reads a timestamp column.
pub(super) fn get_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    let text: String = row.get(idx)?;
    DateTime::parse_from_rfc3339(&text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| conversion(idx, e))
}

fn get_opt_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| conversion(idx, e))
    })
    .transpose()
}

fn get_uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(idx)?;
    Uuid::parse_str(&text).map_err(|e| conversion(idx, e))
}

/// `id, slug, name, created_at`
pub(super) fn station_from_row(row: &Row<'_>) -> rusqlite::Result<Station> {
    Ok(Station {
        id: StationId(get_uuid(row, 0)?),
        slug: row.get(1)?,
        name: row.get(2)?,
        created_at: get_ts(row, 3)?,
    })
}

/// `id, station_id, username, role, created_at`
pub(super) fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    let role = Role::parse(&role).ok_or_else(|| {
        conversion(
            3,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "unknown role"),
        )
    })?;
    Ok(User {
        id: get_uuid(row, 0)?,
        station_id: StationId(get_uuid(row, 1)?),
        username: row.get(2)?,
        role,
        created_at: get_ts(row, 4)?,
    })
}

/// `id, station_id, username, role, created_at, disabled_at`
pub(super) fn staff_user_from_row(row: &Row<'_>) -> rusqlite::Result<StaffUser> {
    Ok(StaffUser {
        user: user_from_row(row)?,
        disabled_at: get_opt_ts(row, 5)?,
    })
}

/// `id, station_id, label, enrolled_at, revoked_at`
pub(super) fn device_from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: get_uuid(row, 0)?,
        station_id: StationId(get_uuid(row, 1)?),
        label: row.get(2)?,
        enrolled_at: get_ts(row, 3)?,
        revoked_at: get_opt_ts(row, 4)?,
    })
}

/// Loads a report with its photo manifest, within the station only.
pub(super) fn load_report(
    conn: &Connection,
    station: StationId,
    id: ReportId,
) -> Result<Option<StoredReport>, RepoError> {
    let head = cached_row(
        conn,
        "SELECT device_id, content_hash, content_json, status, complete, received_at,
                    status_reason
             FROM reports WHERE station_id = ?1 AND id = ?2",
        [station.to_string(), id.to_string()],
        |r| {
            Ok((
                get_uuid(r, 0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, bool>(4)?,
                get_ts(r, 5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        },
    )
    .optional()
    .map_err(map_err)?;
    let Some((device_id, content_hash, content_json, status, complete, received_at, status_reason)) =
        head
    else {
        return Ok(None);
    };
    let content: ReportContent = serde_json::from_str(&content_json)
        .map_err(|e| RepoError::Storage(format!("stored report does not parse: {e}")))?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT position, sha256, size, content_type, received_at IS NOT NULL
             FROM report_photos WHERE station_id = ?1 AND report_id = ?2 ORDER BY position",
        )
        .map_err(map_err)?;
    let photos = stmt
        .query_map([station.to_string(), id.to_string()], |r| {
            Ok(StoredPhoto {
                position: r.get(0)?,
                sha256: r.get(1)?,
                size: r.get::<_, i64>(2)?.max(0) as u64,
                content_type: r.get(3)?,
                received: r.get(4)?,
            })
        })
        .map_err(map_err)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(map_err)?;
    Ok(Some(StoredReport {
        id,
        station_id: station,
        device_id,
        content,
        content_hash,
        status: ReviewStatus::from(status),
        status_reason,
        complete,
        received_at,
        photos,
    }))
}
