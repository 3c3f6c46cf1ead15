//! The station's figures in PostgreSQL: the four queries of
//! [`crate::repo::statistics`], read in one snapshot.

use async_trait::async_trait;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::{PgRepository, map_err, query};
use crate::repo::review::Dialect;
use crate::repo::statistics::{
    RawStatistics, Statistics, StatisticsQuery, StatisticsSql, StatisticsStore, day_from,
    group_from, keyed_count_from, milestones_from,
};
use crate::repo::{RepoError, StationId};

#[async_trait]
impl StatisticsStore for PgRepository {
    async fn statistics(
        &self,
        station: StationId,
        q: &StatisticsQuery,
    ) -> Result<Statistics, RepoError> {
        let sql = StatisticsSql::new(Dialect::Postgres);
        let (from, to) = (q.window.from_utc(), q.window.to_utc());
        let mut client = self.client().await?;
        // One read-only snapshot: the figures agree with each other even
        // while reports arrive.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await
            .map_err(map_err)?;
        let params: [&(dyn ToSql + Sync); 3] = [&station.0, &from, &to];
        let rows = |text: &str| {
            let text = text.to_owned();
            let tx = &tx;
            async move { query(tx, &text, &params).await }
        };
        let (groups, days, zones, devices, milestones) = (
            rows(&sql.groups).await?,
            rows(&sql.days).await?,
            rows(&sql.zones).await?,
            rows(&sql.devices).await?,
            rows(&sql.milestones).await?,
        );
        tx.commit().await.map_err(map_err)?;
        let raw = RawStatistics {
            groups: groups.iter().map(group_from).collect::<Result<_, _>>()?,
            days: days.iter().map(day_from).collect::<Result<_, _>>()?,
            zones: zones
                .iter()
                .map(keyed_count_from)
                .collect::<Result<_, _>>()?,
            devices: devices
                .iter()
                .map(keyed_count_from)
                .collect::<Result<_, _>>()?,
            milestones: milestones
                .iter()
                .map(milestones_from)
                .collect::<Result<_, _>>()?,
        };
        Ok(raw.figures(q))
    }
}
