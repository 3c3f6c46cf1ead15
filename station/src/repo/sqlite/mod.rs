//! The embedded SQLite backend: one file per data dir, for a single station
//! machine.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. Writes go
//! through one writer connection behind a mutex: SQLite allows one writer at a
//! time anyway, and queueing in-process avoids `SQLITE_BUSY` retries. Reads use a
//! small pool of extra connections, which WAL lets run beside the writer.
//! The hot writes (report PUTs, photo completions) are group-committed: see
//! [`group_commit`].
//!
//! Each store is implemented in the file of its concern (`accounts`,
//! `devices`, `reports`, ...), named as in the PostgreSQL backend; this file
//! holds the connections and how a call gets one.

mod accounts;
mod agencies;
mod categories;
mod devices;
mod exports;
mod feed;
mod group_commit;
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

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use migrate::LATEST_VERSION;

use super::{RepoError, Repository};
use group_commit::WriteQueue;

/// Idle read connections kept open; more are opened under load and closed after.
const MAX_IDLE_READERS: usize = 8;

/// How long a connection waits on a lock held by another process (e.g. the
/// admin CLI writing while the server runs) before giving up with 503.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The SQLite implementation of [`Repository`].
#[derive(Clone)]
pub struct SqliteRepository {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Hot writes waiting to be committed together.
    batched: WriteQueue,
}

/// Maps a rusqlite error to what the caller should do about it.
pub(crate) fn map_err(e: rusqlite::Error) -> RepoError {
    use rusqlite::ErrorCode as C;
    if let rusqlite::Error::SqliteFailure(failure, _) = &e {
        match failure.code {
            C::DiskFull => return RepoError::Full(e.to_string()),
            C::DatabaseBusy
            | C::DatabaseLocked
            | C::CannotOpen
            | C::SystemIoFailure
            | C::OutOfMemory
            | C::ReadOnly => return RepoError::Unavailable(e.to_string()),
            C::ConstraintViolation => return RepoError::Conflict(e.to_string()),
            _ => {}
        }
    }
    RepoError::Storage(e.to_string())
}

/// Statements kept prepared per connection: more than the hot paths use.
const STATEMENT_CACHE: usize = 128;

/// `execute` through the connection's statement cache: the hot paths (report
/// and upload intake, the feed, the audit log) run the same statements
/// thousands of times a second, and parsing them each time showed in profiles.
pub(crate) fn cached_execute(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(params)
}

/// `query_row` through the connection's statement cache; see [`cached_execute`].
pub(crate) fn cached_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    conn.prepare_cached(sql)?.query_row(params, f)
}

fn connect(path: &Path) -> Result<Connection, RepoError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(map_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(map_err)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(RepoError::Storage(format!(
            "could not switch the database to WAL mode (got {mode})"
        )));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(map_err)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(map_err)?;
    Ok(conn)
}

fn blocking_failed(e: tokio::task::JoinError) -> RepoError {
    RepoError::Storage(format!("database task failed: {e}"))
}

impl SqliteRepository {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub async fn open(path: &Path) -> Result<Self, RepoError> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(blocking_failed)?
    }

    /// Opens an existing database; `NotFound` when there is none. The admin
    /// commands use this so a mistyped `--data-dir` is reported, not created.
    pub async fn open_existing(path: &Path) -> Result<Self, RepoError> {
        if !path.is_file() {
            return Err(RepoError::NotFound("station database"));
        }
        Self::open(path).await
    }

    fn open_blocking(path: PathBuf) -> Result<Self, RepoError> {
        let mut writer = connect(&path)?;
        migrate::migrate(&mut writer)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                batched: WriteQueue::default(),
            }),
        })
    }

    /// Runs `f` on the writer connection on the blocking pool.
    async fn write<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, RepoError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock leaves no open transaction behind
            // (rusqlite rolls back on drop), so the connection is still usable.
            let mut conn = inner.writer.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(blocking_failed)?
    }

    /// Runs `f` in one `BEGIN IMMEDIATE … COMMIT` on the writer: committed
    /// only when `f` succeeds, rolled back (on drop) when it fails.
    async fn write_tx<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, RepoError> + Send + 'static,
    {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let value = f(&tx)?;
            tx.commit().map_err(map_err)?;
            Ok(value)
        })
        .await
    }

    /// Runs `f` in its savepoint of the next group-commit batch (see
    /// [`group_commit`]): for writes that arrive many at once, so that they
    /// share one WAL fsync. Answered after the batch's `COMMIT`.
    async fn write_batched<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, RepoError> + Send + 'static,
    {
        let (job, answer) = group_commit::job(f);
        if self.inner.batched.push(job) {
            let inner = Arc::clone(&self.inner);
            // Not awaited: it answers through the job, and runs to the end
            // even if this request is cancelled.
            drop(tokio::task::spawn_blocking(move || {
                group_commit::drain(&inner.batched, &inner.writer);
            }));
        }
        // A drainer that panicked drops the job's sender: an error, not a hang.
        answer
            .await
            .map_err(|_| RepoError::Storage("the write was abandoned".into()))?
    }

    /// Runs `f` on a pooled read connection on the blocking pool.
    async fn read<T, F>(&self, f: F) -> Result<T, RepoError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, RepoError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => connect(&inner.path)?,
            };
            let result = f(&conn);
            let mut idle = inner.readers.lock().unwrap_or_else(|p| p.into_inner());
            if idle.len() < MAX_IDLE_READERS {
                idle.push(conn);
            }
            result
        })
        .await
        .map_err(blocking_failed)?
    }
}

#[async_trait]
impl Repository for SqliteRepository {
    async fn ping(&self) -> Result<(), RepoError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM stations", [], |r| r.get::<_, i64>(0))
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }
}
