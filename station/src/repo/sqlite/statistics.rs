//! The station's figures in SQLite: the four queries of
//! [`crate::repo::statistics`], read in one snapshot.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteRepository;
use super::rows::{all_rows, ts};
use crate::repo::review::Dialect;
use crate::repo::statistics::{
    RawStatistics, Statistics, StatisticsQuery, StatisticsSql, StatisticsStore, day_from,
    group_from, keyed_count_from, milestones_from,
};
use crate::repo::{RepoError, StationId};

#[async_trait]
impl StatisticsStore for SqliteRepository {
    async fn statistics(
        &self,
        station: StationId,
        query: &StatisticsQuery,
    ) -> Result<Statistics, RepoError> {
        let query = *query;
        self.read(move |conn| {
            let sql = StatisticsSql::new(Dialect::Sqlite);
            let (s, from, to) = (
                station.to_string(),
                ts(query.window.from_utc()),
                ts(query.window.to_utc()),
            );
            // One read transaction: the figures agree with each other even
            // while reports arrive.
            let tx = conn.unchecked_transaction().map_err(super::map_err)?;
            let raw = RawStatistics {
                groups: all_rows(&tx, &sql.groups, params![s, from, to], |r| group_from(r))?,
                days: all_rows(&tx, &sql.days, params![s, from, to], |r| day_from(r))?,
                zones: all_rows(&tx, &sql.zones, params![s, from, to], |r| {
                    keyed_count_from(r)
                })?,
                devices: all_rows(&tx, &sql.devices, params![s, from, to], |r| {
                    keyed_count_from(r)
                })?,
                milestones: all_rows(&tx, &sql.milestones, params![s, from, to], |r| {
                    milestones_from(r)
                })?,
            };
            tx.finish().map_err(super::map_err)?;
            Ok(raw.figures(&query))
        })
        .await
    }
}
