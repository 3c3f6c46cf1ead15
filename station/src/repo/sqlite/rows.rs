//! How SQLite columns hold timestamps and ids, as text.
//!
//! Kept apart from the queries so the text formats are defined once and every
//! query reads them the same way; each concern's row readers use these.

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

use crate::repo::RepoError;

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

/// A column that holds text which does not convert: a corrupt row.
pub(super) fn conversion(
    idx: usize,
    e: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
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

/// Reads a nullable timestamp column.
pub(super) fn get_opt_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.get(idx)?;
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| conversion(idx, e))
    })
    .transpose()
}

/// Reads an id column.
pub(super) fn get_uuid(row: &Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text: String = row.get(idx)?;
    Uuid::parse_str(&text).map_err(|e| conversion(idx, e))
}
