//! Stations in PostgreSQL: creating one (with its counters, built-in
//! categories and first feed entry) and finding them.

use async_trait::async_trait;
use chrono::Utc;
use deadpool_postgres::{GenericClient, Object};
use postcso_model::CategoryList;
use tokio_postgres::Row;
use uuid::Uuid;

use super::{PgRepository, execute, feed, get, map_err, micros, query, query_opt};
use crate::repo::{RepoError, Station, StationId, StationStore};

/// `id, slug, name, created_at`
pub(super) fn station_from_row(r: &Row) -> Result<Station, RepoError> {
    Ok(Station {
        id: StationId(get(r, 0)?),
        slug: get(r, 1)?,
        name: get(r, 2)?,
        created_at: get(r, 3)?,
    })
}

/// Creates a station with its counters, categories and first feed entry.
async fn create_station(client: &mut Object, slug: &str, name: &str) -> Result<Station, RepoError> {
    let station = Station {
        id: StationId(Uuid::now_v7()),
        slug: slug.to_owned(),
        name: name.to_owned(),
        created_at: micros(Utc::now()),
    };
    let tx = client.transaction().await.map_err(map_err)?;
    let inserted = execute(
        &tx,
        "INSERT INTO stations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (slug) DO NOTHING",
        &[
            &station.id.0,
            &station.slug,
            &station.name,
            &station.created_at,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(RepoError::Conflict(format!(
            "a station with slug `{}` already exists",
            station.slug
        )));
    }
    execute(
        &tx,
        "INSERT INTO station_counters (station_id) VALUES ($1)",
        &[&station.id.0],
    )
    .await?;
    let list = CategoryList::default();
    for (position, info) in list.entries().iter().enumerate() {
        execute(
            &tx,
            "INSERT INTO categories (station_id, code, position, name_ko, name_en, guidance, retired)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &station.id.0,
                &info.code.as_str(),
                &(position as i32),
                &info.name_ko,
                &info.name_en,
                &info.guidance,
                &info.retired,
            ],
        )
        .await?;
    }
    feed::append_categories(&tx, station.id, &list, station.created_at).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(station)
}

/// A station by slug.
async fn station_by_slug<C: GenericClient>(
    c: &C,
    slug: &str,
) -> Result<Option<Station>, RepoError> {
    query_opt(
        c,
        "SELECT id, slug, name, created_at FROM stations WHERE slug = $1",
        &[&slug],
    )
    .await?
    .as_ref()
    .map(station_from_row)
    .transpose()
}

/// Every station by slug.
async fn list_stations<C: GenericClient>(c: &C) -> Result<Vec<Station>, RepoError> {
    query(
        c,
        "SELECT id, slug, name, created_at FROM stations ORDER BY slug",
        &[],
    )
    .await?
    .iter()
    .map(station_from_row)
    .collect()
}

#[async_trait]
impl StationStore for PgRepository {
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError> {
        let mut client = self.client().await?;
        create_station(&mut client, slug, name).await
    }

    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError> {
        station_by_slug(&self.client().await?, slug).await
    }

    async fn list_stations(&self) -> Result<Vec<Station>, RepoError> {
        list_stations(&self.client().await?).await
    }
}
