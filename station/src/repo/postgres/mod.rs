//! The PostgreSQL backend, for a shared deployment serving many stations.
//!
//! Built on `tokio-postgres` with a `deadpool-postgres` pool rather than sqlx:
//! it is async end to end (no blocking pool), statements are prepared once per
//! connection and cached, and it does not link `libsqlite3-sys`, so it sits next
//! to rusqlite's bundled SQLite without a version clash in the workspace.
//!
//! Hot paths take one round trip: a first report delivery is a single statement
//! (report, manifest, feed entry and audit row in data-modifying CTEs, atomic
//! as one implicit transaction) and locks no shared row, so one station's
//! deliveries commit in parallel and share WAL flushes. Feed and audit
//! entries are numbered after they commit, before a read, under a per-station
//! lock, so numbers are gapless, in commit order, and a cursor never skips an
//! entry that commits late (see `feed`).
//!
//! Connections are plain TCP or a Unix socket without TLS: run PostgreSQL on
//! the same host or a trusted network (`sslmode=disable`).
//!
//! Each store is implemented in the file of its concern (`accounts`,
//! `devices`, `reports`, ...), named as in the SQLite backend; this file holds
//! the pool and the statement helpers every concern uses.

mod accounts;
mod agencies;
mod categories;
mod devices;
mod exports;
mod feed;
mod inspections;
mod merges;
mod migrate;
mod nearby;
mod notes;
mod places;
mod referrals;
mod reports;
mod review;
mod rows;
mod stations;
mod statistics;
mod uploads;
mod zones;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod,
};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

pub use migrate::LATEST_VERSION;

pub(crate) use rows::get;

use super::{RepoError, Repository, StationId};

/// Connections at most, by default. Commits of concurrent deliveries share
/// WAL flushes, so more connections in flight mean more deliveries per flush:
/// on the 2-core test machine the delivery statement alone ran at ~2,150/s
/// with 24 connections, ~2,550/s with 48 and ~2,750/s with 64. 48 leaves room
/// under PostgreSQL's default `max_connections` (100) for the admin CLI and a
/// second process. Override with `pool_max_size` in the URL's query
/// (stripped before connecting).
const DEFAULT_POOL_SIZE: usize = 48;

/// How long a request waits for a free connection, a new connection or a
/// recycled one before it is answered 503.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// The PostgreSQL implementation of [`Repository`].
#[derive(Clone)]
pub struct PgRepository {
    pool: Pool,
}

/// Maps a driver error to what the caller should do about it.
pub(crate) fn map_err(e: tokio_postgres::Error) -> RepoError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let class = &code[..code.len().min(2)];
        if code == "53100" {
            // disk_full
            return RepoError::Full(db.to_string());
        }
        return match class {
            // Integrity constraint violations: a uniqueness or reference rule.
            "23" => RepoError::Conflict(db.message().to_owned()),
            // Connection exceptions, insufficient resources, operator
            // intervention (shutdown, cannot connect now), serialization
            // failures and deadlocks, lock not available: retry later.
            "08" | "53" | "57" | "40" | "55" | "58" => RepoError::Unavailable(db.to_string()),
            _ => RepoError::Storage(db.to_string()),
        };
    }
    if e.is_closed() {
        return RepoError::Unavailable(e.to_string());
    }
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    let text = e.to_string();
    if io || text.starts_with("timeout") || text.contains("connecting") {
        return RepoError::Unavailable(text);
    }
    RepoError::Storage(text)
}

/// Runs a cached prepared statement and returns its rows.
pub(crate) async fn query<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, RepoError> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    c.query(&stmt, params).await.map_err(map_err)
}

/// Runs a cached prepared statement expected to return at most one row.
pub(crate) async fn query_opt<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, RepoError> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    c.query_opt(&stmt, params).await.map_err(map_err)
}

/// Runs a cached prepared statement expected to return exactly one row.
pub(crate) async fn query_one<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Row, RepoError> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    c.query_one(&stmt, params).await.map_err(map_err)
}

/// Runs a cached prepared statement and returns how many rows it changed.
pub(crate) async fn execute<C: GenericClient>(
    c: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, RepoError> {
    let stmt = c.prepare_cached(sql).await.map_err(map_err)?;
    c.execute(&stmt, params).await.map_err(map_err)
}

/// Converts a size or offset for a `bigint` column.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Locks the station's row for the rest of the transaction, so one station's
/// category and zone changes queue (each reads the list the previous one left).
/// `FOR NO KEY UPDATE` does not conflict with the key-share locks that
/// foreign-key checks take, so deliveries and other writes are not held up.
pub(crate) async fn lock_station<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<(), RepoError> {
    match query_opt(
        c,
        "SELECT 1 FROM stations WHERE id = $1 FOR NO KEY UPDATE",
        &[&station.0],
    )
    .await?
    {
        Some(_) => Ok(()),
        None => Err(RepoError::NotFound("station")),
    }
}

fn pool_err(e: PoolError) -> RepoError {
    match e {
        PoolError::Backend(e) => map_err(e),
        other => RepoError::Unavailable(format!("database pool: {other}")),
    }
}

/// The `pool_max_size=N` query parameter, removed from the URL because
/// libpq-style URLs do not know it.
fn split_pool_size(url: &str) -> Result<(String, usize), RepoError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_POOL_SIZE));
    };
    let mut size = DEFAULT_POOL_SIZE;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("pool_max_size=") {
            Some(n) => {
                size = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    RepoError::Storage("pool_max_size must be a positive number".into())
                })?;
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, size))
}

impl PgRepository {
    /// Connects to `url` (`postgres://user@host:port/db`), checks the server
    /// answers and migrates the schema. An unreachable server is `Unavailable`.
    pub async fn connect(url: &str) -> Result<Self, RepoError> {
        let (url, size) = split_pool_size(url)?;
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| RepoError::Storage(format!("invalid database URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(POOL_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("postcso-station");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(size)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| RepoError::Storage(format!("cannot build the database pool: {e}")))?;
        let repo = Self { pool };
        let mut client = repo.client().await?;
        migrate::migrate(&mut client).await?;
        Ok(repo)
    }

    /// A pooled connection.
    async fn client(&self) -> Result<Object, RepoError> {
        self.pool.get().await.map_err(pool_err)
    }
}

#[async_trait]
impl Repository for PgRepository {
    async fn ping(&self) -> Result<(), RepoError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT count(*) FROM stations")
            .await
            .map_err(map_err)?;
        client.query_one(&stmt, &[]).await.map_err(map_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_is_taken_out_of_the_url() {
        let (url, size) =
            split_pool_size("postgres://u@h/db?pool_max_size=7&sslmode=disable").expect("parse");
        assert_eq!(url, "postgres://u@h/db?sslmode=disable");
        assert_eq!(size, 7);
        let (url, size) = split_pool_size("postgres://u@h/db").expect("parse");
        assert_eq!(
            (url.as_str(), size),
            ("postgres://u@h/db", DEFAULT_POOL_SIZE)
        );
        assert!(split_pool_size("postgres://u@h/db?pool_max_size=0").is_err());
    }
}
