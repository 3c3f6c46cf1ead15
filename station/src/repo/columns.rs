//! Reading a stored row by column position the same way on both backends, so
//! that each concern's row readers (`station_from`, `upload_from`, ...) are
//! written once, next to the types they build. SQLite keeps ids and
//! timestamps as text, PostgreSQL as native types: each backend's
//! implementation of [`Columns`] hides that, and nothing else.

use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use super::RepoError;

/// A row of either backend, read column by column into the shared types.
/// A column that does not hold what it should is a [`RepoError::Storage`]:
/// a corrupt row or a bug, never the caller's fault.
pub(crate) trait Columns {
    /// A text column.
    fn text(&self, idx: usize) -> Result<String, RepoError>;
    /// A nullable text column.
    fn opt_text(&self, idx: usize) -> Result<Option<String>, RepoError>;
    /// An id column.
    fn uuid(&self, idx: usize) -> Result<Uuid, RepoError>;
    /// A nullable id column.
    fn opt_uuid(&self, idx: usize) -> Result<Option<Uuid>, RepoError>;
    /// A timestamp column.
    fn time(&self, idx: usize) -> Result<DateTime<Utc>, RepoError>;
    /// A nullable timestamp column.
    fn opt_time(&self, idx: usize) -> Result<Option<DateTime<Utc>>, RepoError>;
    /// An integer column, whatever its width.
    fn int(&self, idx: usize) -> Result<i64, RepoError>;
    /// A boolean column.
    fn flag(&self, idx: usize) -> Result<bool, RepoError>;
    /// A nullable byte column.
    fn opt_bytes(&self, idx: usize) -> Result<Option<Vec<u8>>, RepoError>;
    /// A floating-point column (coordinates, distances).
    fn float(&self, idx: usize) -> Result<f64, RepoError>;
    /// A nullable floating-point column.
    fn opt_float(&self, idx: usize) -> Result<Option<f64>, RepoError>;
    /// A nullable boolean column.
    fn opt_flag(&self, idx: usize) -> Result<Option<bool>, RepoError>;

    /// A count or size, never negative when stored by the station.
    fn count(&self, idx: usize) -> Result<u64, RepoError> {
        Ok(u64::try_from(self.int(idx)?).unwrap_or(0))
    }

    /// A report id column.
    fn report_id(&self, idx: usize) -> Result<ReportId, RepoError> {
        self.uuid(idx).map(ReportId::from)
    }

    /// A text column holding JSON; `what` names it in the error.
    fn json<T: DeserializeOwned>(&self, idx: usize, what: &str) -> Result<T, RepoError> {
        parse_json(&self.text(idx)?, what)
    }

    /// A nullable text column holding JSON; `what` names it in the error.
    fn opt_json<T: DeserializeOwned>(
        &self,
        idx: usize,
        what: &str,
    ) -> Result<Option<T>, RepoError> {
        self.opt_text(idx)?
            .map(|text| parse_json(&text, what))
            .transpose()
    }
}

/// The error for a column `idx` that does not hold what it should.
pub(crate) fn bad_column(idx: usize, detail: impl std::fmt::Display) -> RepoError {
    RepoError::Storage(format!("unexpected value in column {idx}: {detail}"))
}

/// Parses stored JSON; `what` names it in the error.
fn parse_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T, RepoError> {
    serde_json::from_str(text).map_err(|e| RepoError::Storage(format!("bad {what} JSON: {e}")))
}

/// A timestamp as both backends keep it, to the microsecond: what a later
/// read returns, so values handed back from memory equal stored ones.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_truncates_nanoseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("time");
        assert_eq!(micros(t).timestamp_subsec_nanos(), 123_456_000);
    }
}
