//! Stations in SQLite: creating one (with its built-in categories and the
//! first feed entry) and finding them.

use async_trait::async_trait;
use chrono::Utc;
use postcso_model::CategoryList;
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::rows::{get_ts, get_uuid, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::{RepoError, Station, StationId, StationStore};

/// `id, slug, name, created_at`
pub(super) fn station_from_row(row: &Row<'_>) -> rusqlite::Result<Station> {
    Ok(Station {
        id: StationId(get_uuid(row, 0)?),
        slug: row.get(1)?,
        name: row.get(2)?,
        created_at: get_ts(row, 3)?,
    })
}

#[async_trait]
impl StationStore for SqliteRepository {
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError> {
        let station = Station {
            id: StationId(Uuid::now_v7()),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: Utc::now(),
        };
        let stored = station.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let taken: Option<String> = tx
                .query_row(
                    "SELECT id FROM stations WHERE slug = ?1",
                    [&stored.slug],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map_err)?;
            if taken.is_some() {
                return Err(RepoError::Conflict(format!(
                    "a station with slug `{}` already exists",
                    stored.slug
                )));
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
            for (position, info) in CategoryList::default().entries().iter().enumerate() {
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
            feed::append_categories(&tx, stored.id, &CategoryList::default(), stored.created_at)?;
            tx.commit().map_err(map_err)
        })
        .await?;
        Ok(station)
    }

    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError> {
        let slug = slug.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, slug, name, created_at FROM stations WHERE slug = ?1",
                [slug],
                station_from_row,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn list_stations(&self) -> Result<Vec<Station>, RepoError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, slug, name, created_at FROM stations ORDER BY slug")
                .map_err(map_err)?;
            let rows = stmt.query_map([], station_from_row).map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
        .await
    }
}
