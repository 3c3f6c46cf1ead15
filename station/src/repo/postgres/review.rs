//! The review queue and a report's history in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use tokio_postgres::types::ToSql;

use super::{PgRepository, feed, query, query_one};
use crate::repo::audit::{AUDIT_COLUMNS, audit_entry_from};
use crate::repo::columns::Columns;
use crate::repo::review::{
    Dialect, MAX_QUEUE_PAGE, Param, QueuePage, QueueQuery, queue_columns, queue_row_from,
};
use crate::repo::{AuditEntry, RepoError, ReviewStore, StationId};

/// How `report_photos p` is tied to `reports r` (with its station, so the
/// composite index serves it).
const PHOTOS_OF_R: &str = "p.station_id = r.station_id AND p.report_id = r.id";

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
impl ReviewStore for PgRepository {
    async fn review_queue(
        &self,
        station: StationId,
        q: &QueueQuery,
    ) -> Result<QueuePage, RepoError> {
        let client = self.client().await?;
        let filter = q.filter.where_clause(Dialect::Postgres, 2);
        let mut values: Vec<Value> = filter
            .params
            .into_iter()
            .map(|p| match p {
                Param::Text(t) => Value::Text(t),
                Param::Time(t) => Value::Time(t),
            })
            .collect();
        let join = "JOIN devices d ON d.station_id = r.station_id AND d.id = r.device_id";
        // The count joins the devices only when the filter names them.
        let count_join = if filter.needs_devices { join } else { "" };
        let counted = format!(
            "FROM reports r {count_join} WHERE r.station_id = $1{}",
            filter.sql
        );
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&station.0];
        params.extend(values.iter().map(Value::as_sql));
        let total = query_one(&client, &format!("SELECT count(*) {counted}"), &params)
            .await?
            .count(0)?;
        let (limit, offset) = (params.len() + 1, params.len() + 2);
        values.push(Value::Int(i64::from(q.limit.min(MAX_QUEUE_PAGE))));
        values.push(Value::Int(i64::try_from(q.offset).unwrap_or(i64::MAX)));
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&station.0];
        params.extend(values.iter().map(Value::as_sql));
        // The page's ids first, then their columns: PostgreSQL would
        // otherwise compute every matching row's columns (the manifest
        // subqueries, the content) before sorting them.
        let order = q.order.sql();
        let rows = query(
            &client,
            &format!(
                "WITH page AS (SELECT r.id {counted} ORDER BY {order} LIMIT ${limit} OFFSET ${offset})
                 SELECT {} FROM page JOIN reports r ON r.station_id = $1 AND r.id = page.id
                 {join} ORDER BY {order}",
                queue_columns(PHOTOS_OF_R),
            ),
            &params,
        )
        .await?;
        Ok(QueuePage {
            rows: rows.iter().map(queue_row_from).collect::<Result<_, _>>()?,
            total,
        })
    }

    async fn report_history(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        let mut client = self.client().await?;
        // Audit rows are numbered after commit, by readers (see `feed`).
        feed::number(&mut client, station).await?;
        let rows = query(
            &client,
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_log
                 WHERE station_id = $1 AND target_id = $2 AND seq IS NOT NULL ORDER BY seq"
            ),
            &[&station.0, &report.to_string()],
        )
        .await?;
        rows.iter().map(audit_entry_from).collect()
    }
}
