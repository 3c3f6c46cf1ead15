//! How PostgreSQL columns hold the station's values (native `uuid`,
//! `timestamptz`, integers of several widths), read through the shared row
//! readers of `repo/` (see [`Columns`]).

use chrono::{DateTime, Utc};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, Type};
use uuid::Uuid;

use crate::repo::RepoError;
use crate::repo::columns::{Columns, bad_column};

/// Reads column `idx` of a row; a type mismatch is a storage error (a bug).
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, RepoError> {
    row.try_get(idx).map_err(|e| bad_column(idx, e))
}

impl Columns for Row {
    fn text(&self, idx: usize) -> Result<String, RepoError> {
        get(self, idx)
    }

    fn opt_text(&self, idx: usize) -> Result<Option<String>, RepoError> {
        get(self, idx)
    }

    fn uuid(&self, idx: usize) -> Result<Uuid, RepoError> {
        get(self, idx)
    }

    fn opt_uuid(&self, idx: usize) -> Result<Option<Uuid>, RepoError> {
        get(self, idx)
    }

    fn time(&self, idx: usize) -> Result<DateTime<Utc>, RepoError> {
        get(self, idx)
    }

    fn opt_time(&self, idx: usize) -> Result<Option<DateTime<Utc>>, RepoError> {
        get(self, idx)
    }

    fn int(&self, idx: usize) -> Result<i64, RepoError> {
        let column = self.columns().get(idx).map(|c| c.type_().clone());
        match column {
            Some(Type::INT2) => get::<i16>(self, idx).map(i64::from),
            Some(Type::INT4) => get::<i32>(self, idx).map(i64::from),
            _ => get(self, idx),
        }
    }

    fn flag(&self, idx: usize) -> Result<bool, RepoError> {
        get(self, idx)
    }

    fn opt_bytes(&self, idx: usize) -> Result<Option<Vec<u8>>, RepoError> {
        get(self, idx)
    }

    fn float(&self, idx: usize) -> Result<f64, RepoError> {
        get(self, idx)
    }

    fn opt_float(&self, idx: usize) -> Result<Option<f64>, RepoError> {
        get(self, idx)
    }

    fn opt_flag(&self, idx: usize) -> Result<Option<bool>, RepoError> {
        get(self, idx)
    }
}
