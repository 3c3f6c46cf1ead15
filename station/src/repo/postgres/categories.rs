//! Admin-managed categories in PostgreSQL: add and retire, each with its feed
//! entry (the whole list) and audit row, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{CategoryCode, CategoryInfo, CategoryList};

use super::feed::{self, AuditRecord};
use super::{PgRepository, execute, get, lock_station, map_err, micros, query, query_opt};
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
    let entries = rows
        .iter()
        .map(|r| {
            let code: String = get(r, 0)?;
            Ok(CategoryInfo {
                code: CategoryCode::parse(&code)
                    .map_err(|e| RepoError::Storage(format!("bad category code: {e}")))?,
                name_ko: get(r, 1)?,
                name_en: get(r, 2)?,
                guidance: get(r, 3)?,
                retired: get(r, 4)?,
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(CategoryList::new(entries))
}

/// Adds a category at the end of the list; see [`CategoryStore::add_category`].
async fn add(
    client: &mut Object,
    station: StationId,
    info: &CategoryInfo,
    actor: &Actor,
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
        return Err(RepoError::Conflict(format!(
            "category `{}` already exists in this station (retired categories keep their code)",
            info.code
        )));
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
    feed::append_categories(&tx, station, &list, now).await?;
    feed::append_audit(&tx, station, actor, AuditRecord::category_added(info), now).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(list)
}

/// Retires a category; see [`CategoryStore::retire_category`].
async fn retire(
    client: &mut Object,
    station: StationId,
    code: &str,
    actor: &Actor,
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
    match retired.map(|r| super::get::<bool>(&r, 0)).transpose()? {
        None => return Err(RepoError::NotFound("category")),
        Some(true) => return Ok((load(&tx, station).await?, false)),
        Some(false) => {}
    }
    execute(
        &tx,
        "UPDATE categories SET retired = true WHERE station_id = $1 AND code = $2",
        &[&station.0, &code],
    )
    .await?;
    let list = load(&tx, station).await?;
    feed::append_categories(&tx, station, &list, now).await?;
    feed::append_audit(
        &tx,
        station,
        actor,
        AuditRecord::category_retired(code),
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
        add(&mut client, station, &info, &actor, now).await
    }

    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError> {
        let mut client = self.client().await?;
        retire(&mut client, station, code, &actor, now).await
    }
}
