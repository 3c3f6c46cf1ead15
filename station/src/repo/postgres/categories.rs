//! Admin-managed categories in PostgreSQL: the station's list, and adding
//! and retiring entries, each with its feed entry (the whole list) and audit
//! row, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{CategoryInfo, CategoryList};

use super::{PgRepository, execute, feed, lock_station, map_err, query, query_opt};
use crate::repo::categories::{category_from, code_taken, needs_retiring};
use crate::repo::columns::{Columns, micros};
use crate::repo::feed::ActionLog;
use crate::repo::{Actor, CategoryStore, RepoError, StationId};

/// The station's list, retired entries included, in position order.
async fn load<C: GenericClient>(c: &C, station: StationId) -> Result<CategoryList, RepoError> {
    let rows = query(
        c,
        "SELECT code, name_ko, name_en, guidance, retired FROM categories
         WHERE station_id = $1 ORDER BY position",
        &[&station.0],
    )
    .await?;
    rows.iter()
        .map(category_from)
        .collect::<Result<Vec<_>, _>>()
        .map(CategoryList::new)
}

/// Adds a category at the end of the list; see [`CategoryStore::add_category`].
async fn add(
    client: &mut Object,
    station: StationId,
    info: &CategoryInfo,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<CategoryList, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let exists = query_opt(
        &tx,
        "SELECT 1 FROM categories WHERE station_id = $1 AND code = $2",
        &[&station.0, &info.code.as_str()],
    )
    .await?;
    if exists.is_some() {
        return Err(code_taken(&info.code));
    }
    execute(
        &tx,
        "INSERT INTO categories (station_id, code, position, name_ko, name_en, guidance, retired)
         VALUES ($1, $2,
                 (SELECT coalesce(max(position), -1) + 1 FROM categories WHERE station_id = $1),
                 $3, $4, $5, false)",
        &[
            &station.0,
            &info.code.as_str(),
            &info.name_ko,
            &info.name_en,
            &info.guidance,
        ],
    )
    .await?;
    let list = load(&tx, station).await?;
    feed::log(
        &tx,
        station,
        &ActionLog::category_added(actor, info, &list)?,
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok(list)
}

/// Retires a category; see [`CategoryStore::retire_category`].
async fn retire(
    client: &mut Object,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(CategoryList, bool), RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    lock_station(&tx, station).await?;
    let retired = query_opt(
        &tx,
        "SELECT retired FROM categories WHERE station_id = $1 AND code = $2",
        &[&station.0, &code],
    )
    .await?;
    if !needs_retiring(retired.map(|r| r.flag(0)).transpose()?)? {
        return Ok((load(&tx, station).await?, false));
    }
    execute(
        &tx,
        "UPDATE categories SET retired = true WHERE station_id = $1 AND code = $2",
        &[&station.0, &code],
    )
    .await?;
    let list = load(&tx, station).await?;
    feed::log(
        &tx,
        station,
        &ActionLog::category_retired(actor, code, &list)?,
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok((list, true))
}

#[async_trait]
impl CategoryStore for PgRepository {
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError> {
        load(&self.client().await?, station).await
    }

    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError> {
        let mut client = self.client().await?;
        add(&mut client, station, &info, actor, now).await
    }

    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError> {
        let mut client = self.client().await?;
        retire(&mut client, station, code, actor, now).await
    }
}
