//! Admin-managed categories in SQLite: add and retire, each with its feed
//! entry (the whole list) and audit row, inside the caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryCode, CategoryInfo, CategoryList};
use rusqlite::{Connection, OptionalExtension, params};

use super::feed::{self, AuditRecord};
use super::{SqliteRepository, map_err};
use crate::repo::{Actor, CategoryStore, RepoError, StationId};

#[async_trait]
impl CategoryStore for SqliteRepository {
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError> {
        self.read(move |conn| load(conn, station)).await
    }

    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError> {
        self.write_tx(move |tx| add(tx, station, &info, &actor, now))
            .await
    }

    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError> {
        let code = code.to_owned();
        self.write_tx(move |tx| retire(tx, station, &code, &actor, now))
            .await
    }
}

/// The station's list, retired entries included, in position order.
fn load(conn: &Connection, station: StationId) -> Result<CategoryList, RepoError> {
    let mut stmt = conn
        .prepare(
            "SELECT code, name_ko, name_en, guidance, retired FROM categories
             WHERE station_id = ?1 ORDER BY position",
        )
        .map_err(map_err)?;
    let rows = stmt
        .query_map([station.to_string()], |r| {
            let code: String = r.get(0)?;
            let code = CategoryCode::parse(&code).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            Ok(CategoryInfo {
                code,
                name_ko: r.get(1)?,
                name_en: r.get(2)?,
                guidance: r.get(3)?,
                retired: r.get(4)?,
            })
        })
        .map_err(map_err)?;
    let entries = rows.collect::<Result<Vec<_>, _>>().map_err(map_err)?;
    Ok(CategoryList::new(entries))
}

/// Adds a category at the end of the list; see [`CategoryStore::add_category`].
fn add(
    conn: &Connection,
    station: StationId,
    info: &CategoryInfo,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<CategoryList, RepoError> {
    let exists: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM categories WHERE station_id = ?1 AND code = ?2",
            params![station.to_string(), info.code.as_str()],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    if exists.is_some() {
        return Err(RepoError::Conflict(format!(
            "category `{}` already exists in this station (retired categories keep their code)",
            info.code
        )));
    }
    conn.execute(
        "INSERT INTO categories (station_id, code, position, name_ko, name_en, guidance, retired)
         VALUES (?1, ?2,
                 (SELECT coalesce(max(position), -1) + 1 FROM categories WHERE station_id = ?1),
                 ?3, ?4, ?5, 0)",
        params![
            station.to_string(),
            info.code.as_str(),
            info.name_ko,
            info.name_en,
            info.guidance
        ],
    )
    .map_err(map_err)?;
    let list = load(conn, station)?;
    feed::append_categories(conn, station, &list, now)?;
    feed::append_audit(conn, station, actor, AuditRecord::category_added(info), now)?;
    Ok(list)
}

/// Retires a category; see [`CategoryStore::retire_category`].
fn retire(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(CategoryList, bool), RepoError> {
    let retired: Option<bool> = conn
        .query_row(
            "SELECT retired FROM categories WHERE station_id = ?1 AND code = ?2",
            params![station.to_string(), code],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    match retired {
        None => return Err(RepoError::NotFound("category")),
        Some(true) => return Ok((load(conn, station)?, false)),
        Some(false) => {}
    }
    conn.execute(
        "UPDATE categories SET retired = 1 WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), code],
    )
    .map_err(map_err)?;
    let list = load(conn, station)?;
    feed::append_categories(conn, station, &list, now)?;
    feed::append_audit(
        conn,
        station,
        actor,
        AuditRecord::category_retired(code),
        now,
    )?;
    Ok((list, true))
}
