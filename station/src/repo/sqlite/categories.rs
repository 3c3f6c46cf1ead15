//! Admin-managed categories in SQLite: the station's list, and adding and
//! retiring entries, each with its feed entry (the whole list) and audit row
//! inside the caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryInfo, CategoryList};
use rusqlite::{Connection, params};

use super::rows::{all_rows, first_row};
use super::{SqliteRepository, feed, map_err};
use crate::repo::categories::{category_from, code_taken, needs_retiring};
use crate::repo::columns::Columns;
use crate::repo::feed::ActionLog;
use crate::repo::{Actor, CategoryStore, RepoError, StationId};

/// The station's list, retired entries included, in position order.
fn load(conn: &Connection, station: StationId) -> Result<CategoryList, RepoError> {
    all_rows(
        conn,
        "SELECT code, name_ko, name_en, guidance, retired FROM categories
         WHERE station_id = ?1 ORDER BY position",
        [station.to_string()],
        |r| category_from(r),
    )
    .map(CategoryList::new)
}

/// Adds a category at the end of the list; see [`CategoryStore::add_category`].
fn add(
    conn: &Connection,
    station: StationId,
    info: &CategoryInfo,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<CategoryList, RepoError> {
    let exists = first_row(
        conn,
        "SELECT 1 FROM categories WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), info.code.as_str()],
        |r| r.int(0),
    )?;
    if exists.is_some() {
        return Err(code_taken(&info.code));
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
    feed::log(
        conn,
        station,
        &ActionLog::category_added(actor, info, &list)?,
        now,
    )?;
    Ok(list)
}

/// Retires a category; see [`CategoryStore::retire_category`].
fn retire(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(CategoryList, bool), RepoError> {
    let retired = first_row(
        conn,
        "SELECT retired FROM categories WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), code],
        |r| r.flag(0),
    )?;
    if !needs_retiring(retired)? {
        return Ok((load(conn, station)?, false));
    }
    conn.execute(
        "UPDATE categories SET retired = 1 WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), code],
    )
    .map_err(map_err)?;
    let list = load(conn, station)?;
    feed::log(
        conn,
        station,
        &ActionLog::category_retired(actor, code, &list)?,
        now,
    )?;
    Ok((list, true))
}

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
        self.write_tx(move |tx| add(tx, station, &info, actor, now))
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
        self.write_tx(move |tx| retire(tx, station, &code, actor, now))
            .await
    }
}
