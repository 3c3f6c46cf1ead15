//! How SQLite columns hold timestamps and ids (as text, timestamps in RFC 3339
//! with microseconds so that text order is time order), and reading rows
//! through the shared row readers of `repo/` (see [`Columns`]).

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, Params, Row};
use uuid::Uuid;

use super::map_err;
use crate::repo::RepoError;
use crate::repo::columns::{Columns, bad_column};

/// Formats a timestamp for a column.
pub(super) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(idx: usize, text: &str) -> Result<DateTime<Utc>, RepoError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| bad_column(idx, e))
}

fn parse_uuid(idx: usize, text: &str) -> Result<Uuid, RepoError> {
    Uuid::parse_str(text).map_err(|e| bad_column(idx, e))
}

impl Columns for Row<'_> {
    fn text(&self, idx: usize) -> Result<String, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn opt_text(&self, idx: usize) -> Result<Option<String>, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn uuid(&self, idx: usize) -> Result<Uuid, RepoError> {
        parse_uuid(idx, &self.text(idx)?)
    }

    fn opt_uuid(&self, idx: usize) -> Result<Option<Uuid>, RepoError> {
        self.opt_text(idx)?
            .map(|text| parse_uuid(idx, &text))
            .transpose()
    }

    fn time(&self, idx: usize) -> Result<DateTime<Utc>, RepoError> {
        parse_ts(idx, &self.text(idx)?)
    }

    fn opt_time(&self, idx: usize) -> Result<Option<DateTime<Utc>>, RepoError> {
        self.opt_text(idx)?
            .map(|text| parse_ts(idx, &text))
            .transpose()
    }

    fn int(&self, idx: usize) -> Result<i64, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn flag(&self, idx: usize) -> Result<bool, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn opt_bytes(&self, idx: usize) -> Result<Option<Vec<u8>>, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn float(&self, idx: usize) -> Result<f64, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn opt_float(&self, idx: usize) -> Result<Option<f64>, RepoError> {
        self.get(idx).map_err(map_err)
    }

    fn opt_flag(&self, idx: usize) -> Result<Option<bool>, RepoError> {
        self.get(idx).map_err(map_err)
    }
}

/// The first row a statement returns, read by `read`; `None` when there is
/// none. The statement is kept prepared (see [`super::cached_execute`]).
pub(super) fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    read: impl FnOnce(&Row<'_>) -> Result<T, RepoError>,
) -> Result<Option<T>, RepoError> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut rows = stmt.query(params).map_err(map_err)?;
    rows.next().map_err(map_err)?.map(read).transpose()
}

/// Every row a statement returns, each read by `read`. The statement is
/// kept prepared.
pub(super) fn all_rows<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    mut read: impl FnMut(&Row<'_>) -> Result<T, RepoError>,
) -> Result<Vec<T>, RepoError> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    let mut rows = stmt.query(params).map_err(map_err)?;
    let mut read_all = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        read_all.push(read(row)?);
    }
    Ok(read_all)
}
