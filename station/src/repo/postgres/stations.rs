//! Stations in PostgreSQL: creating one (with its counters, built-in
//! categories and first feed entry) and finding them.

use async_trait::async_trait;
use chrono::Utc;
use deadpool_postgres::{GenericClient, Object};
use postcso_model::CategoryList;

use super::{PgRepository, execute, feed, map_err, query, query_opt};
use crate::repo::columns::micros;
use crate::repo::feed::NewChange;
use crate::repo::stations::{slug_taken, station_from};
use crate::repo::{RepoError, Station, StationStore};

/// Creates a station with its counters, categories and first feed entry.
async fn create_station(client: &mut Object, slug: &str, name: &str) -> Result<Station, RepoError> {
    let station = Station::new(slug, name, micros(Utc::now()));
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
        return Err(slug_taken(&station.slug));
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
    let change = NewChange::categories(&list)?;
    feed::append_change(&tx, station.id, &change, station.created_at).await?;
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
    .map(station_from)
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
    .map(station_from)
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
