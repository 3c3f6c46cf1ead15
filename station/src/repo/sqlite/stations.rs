//! Stations in SQLite: creating one (with its built-in categories and the
//! first feed entry) and finding them.

use async_trait::async_trait;
use chrono::Utc;
use postcso_model::CategoryList;
use rusqlite::params;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::columns::{Columns, micros};
use crate::repo::feed::NewChange;
use crate::repo::stations::{slug_taken, station_from};
use crate::repo::{RepoError, Station, StationStore};

#[async_trait]
impl StationStore for SqliteRepository {
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError> {
        let station = Station::new(slug, name, micros(Utc::now()));
        let stored = station.clone();
        self.write_tx(move |tx| {
            let taken = first_row(
                tx,
                "SELECT id FROM stations WHERE slug = ?1",
                [&stored.slug],
                |r| r.text(0),
            )?;
            if taken.is_some() {
                return Err(slug_taken(&stored.slug));
            }
            tx.execute(
                "INSERT INTO stations (id, slug, name, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    stored.id.to_string(),
                    stored.slug,
                    stored.name,
                    ts(stored.created_at)
                ],
            )
            .map_err(map_err)?;
            let list = CategoryList::default();
            for (position, info) in list.entries().iter().enumerate() {
                tx.execute(
                    "INSERT INTO categories (station_id, code, position, name_ko, name_en, guidance, retired)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        stored.id.to_string(),
                        info.code.as_str(),
                        position as i64,
                        info.name_ko,
                        info.name_en,
                        info.guidance,
                        info.retired
                    ],
                )
                .map_err(map_err)?;
            }
            feed::append_change(
                tx,
                stored.id,
                &NewChange::categories(&list)?,
                stored.created_at,
            )
        })
        .await?;
        Ok(station)
    }

    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError> {
        let slug = slug.to_owned();
        self.read(move |conn| {
            first_row(
                conn,
                "SELECT id, slug, name, created_at FROM stations WHERE slug = ?1",
                [slug],
                |r| station_from(r),
            )
        })
        .await
    }

    async fn list_stations(&self) -> Result<Vec<Station>, RepoError> {
        self.read(|conn| {
            all_rows(
                conn,
                "SELECT id, slug, name, created_at FROM stations ORDER BY slug",
                [],
                |r| station_from(r),
            )
        })
        .await
    }
}
