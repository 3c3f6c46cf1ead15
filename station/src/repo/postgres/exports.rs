//! Exports of the queue's reports in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_postgres::types::ToSql;

use super::{PgRepository, feed, map_err, query};
use crate::repo::columns::micros;
use crate::repo::exports::{EXPORT_COLUMNS, ExportRecord, ExportRow, ExportStore, export_row_from};
use crate::repo::feed::ActionLog;
use crate::repo::review::{Dialect, Param};
use crate::repo::{Actor, QueueFilter, RepoError, StationId};

/// A bound value, owned for the statement's lifetime.
enum Value {
    Text(String),
    Time(DateTime<Utc>),
    Int(i64),
}

impl Value {
    fn as_sql(&self) -> &(dyn ToSql + Sync) {
        match self {
            Self::Text(t) => t,
            Self::Time(t) => t,
            Self::Int(n) => n,
        }
    }
}

#[async_trait]
impl ExportStore for PgRepository {
    async fn export_reports(
        &self,
        station: StationId,
        filter: &QueueFilter,
        limit: u32,
    ) -> Result<Vec<ExportRow>, RepoError> {
        let clause = filter.where_clause(Dialect::Postgres, 2);
        let mut values: Vec<Value> = clause
            .params
            .into_iter()
            .map(|p| match p {
                Param::Text(t) => Value::Text(t),
                Param::Time(t) => Value::Time(t),
            })
            .collect();
        values.push(Value::Int(i64::from(limit)));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&station.0];
        params.extend(values.iter().map(Value::as_sql));
        let rows = query(
            &self.client().await?,
            &format!(
                "SELECT {EXPORT_COLUMNS} FROM reports r
                 JOIN devices d ON d.station_id = r.station_id AND d.id = r.device_id
                 WHERE r.station_id = $1{} ORDER BY r.received_at, r.id LIMIT ${}",
                clause.sql,
                params.len()
            ),
            &params,
        )
        .await?;
        rows.iter().map(export_row_from).collect()
    }

    async fn record_export(
        &self,
        station: StationId,
        actor: Actor,
        record: &ExportRecord,
        now: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let log = ActionLog::report_export(actor, station, record);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        feed::log(&tx, station, &log, micros(now)).await?;
        tx.commit().await.map_err(map_err)
    }
}
