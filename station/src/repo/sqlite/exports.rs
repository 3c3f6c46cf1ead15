//! Exports of the queue's reports in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params_from_iter;
use rusqlite::types::Value;

use super::rows::{all_rows, ts};
use super::{SqliteRepository, feed};
use crate::repo::columns::micros;
use crate::repo::exports::{EXPORT_COLUMNS, ExportRecord, ExportRow, ExportStore, export_row_from};
use crate::repo::feed::ActionLog;
use crate::repo::review::{Dialect, Param};
use crate::repo::{Actor, QueueFilter, RepoError, StationId};

#[async_trait]
impl ExportStore for SqliteRepository {
    async fn export_reports(
        &self,
        station: StationId,
        filter: &QueueFilter,
        limit: u32,
    ) -> Result<Vec<ExportRow>, RepoError> {
        let filter = filter.clone();
        self.read(move |conn| {
            let clause = filter.where_clause(Dialect::Sqlite, 2);
            let mut values = vec![Value::Text(station.to_string())];
            values.extend(clause.params.into_iter().map(|p| match p {
                Param::Text(text) => Value::Text(text),
                Param::Time(t) => Value::Text(ts(t)),
            }));
            values.push(Value::Integer(i64::from(limit)));
            all_rows(
                conn,
                &format!(
                    "SELECT {EXPORT_COLUMNS} FROM reports r JOIN devices d ON d.id = r.device_id
                     WHERE r.station_id = ?1{} ORDER BY r.received_at, r.id LIMIT ?{}",
                    clause.sql,
                    values.len()
                ),
                params_from_iter(values.iter()),
                |r| export_row_from(r),
            )
        })
        .await
    }

    async fn record_export(
        &self,
        station: StationId,
        actor: Actor,
        record: &ExportRecord,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let log = ActionLog::report_export(actor, station, record);
        let now = micros(now);
        self.write_tx(move |tx| feed::log(tx, station, &log, now))
            .await
    }
}
