//! The report queue's SQLite database: opening it safely, migrating it, and
//! giving the rest of the core one serialised writer and a separate reader.
//!
//! # Durability
//! `journal_mode = WAL` with `synchronous = FULL`: every commit appends to the
//! write-ahead log and fsyncs it before `COMMIT` returns, so a committed report
//! survives a process kill, an OS kill and a power cut. (`synchronous = NORMAL`,
//! the usual WAL setting, only syncs at checkpoints and may lose the last commits
//! on power loss.) `fullfsync` is on as well: on iOS and macOS a plain `fsync`
//! does not flush the drive's cache, `F_FULLFSYNC` does.

mod migrations;
mod open;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

pub use migrations::CURRENT_VERSION;
#[doc(hidden)]
pub use migrations::upgrade_to;

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file was written by a newer version of the app. It is left untouched.
    #[error(
        "the report database has schema version {found}, newer than this app supports ({supported}); update the app — the file was left untouched"
    )]
    TooNew {
        /// Version found in the file.
        found: u32,
        /// Highest version this build knows.
        supported: u32,
    },
    /// The file is not a readable SQLite database; it was renamed and kept for recovery.
    #[error("the report database is damaged ({reason}); it was set aside as {set_aside}")]
    Corrupt {
        /// Where the damaged file now is.
        set_aside: PathBuf,
        /// What SQLite said.
        reason: String,
    },
    /// No space left (or the configured page limit reached). Nothing was changed.
    #[error("the device storage is full; nothing was changed")]
    Full,
    /// A sealed report's stored content no longer parses (tampering or a bug);
    /// the row is kept as it is for support to inspect.
    #[error("the sealed content of report {0} cannot be read")]
    SealedContentUnreadable(crate::model::ReportId),
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// A filesystem failure around the database file.
    #[error("storage I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::Full,
            _ => Self::Sqlite(e),
        }
    }
}

/// Knobs for opening the database.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// Caps the database size in pages. Used by tests to simulate a full disk; a
    /// real full disk gives the same `SQLITE_FULL` error.
    pub max_page_count: Option<u64>,
}

/// The opened database: one writer connection, serialised by a mutex, and one
/// read-only connection, so listing the queue never waits behind a write.
///
/// Both are `Send`, so the store can be shared across the platform's I/O threads.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if absent) and migrates the database at `path`.
    ///
    /// A damaged file is renamed aside and reported, never recreated silently over
    /// unsent reports; a file from a newer app is refused and left untouched.
    pub fn open(path: &Path, options: &StoreOptions) -> Result<Self, StoreError> {
        let mut writer = open::open_writer(path, options)?;
        migrations::upgrade_to(&mut writer, CURRENT_VERSION)?;
        let reader = open::open_reader(path)?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// The database file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in an immediate write transaction that commits only if `f` returns `Ok`.
    ///
    /// Callers are serialised; the commit is durable when this returns `Ok`.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let value = f(&tx)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(value)
    }

    /// Runs `f` on the read-only connection, inside one read transaction so it sees
    /// a consistent snapshot.
    pub fn read<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut conn = lock(&self.reader);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Deferred)
            .map_err(StoreError::from)?;
        f(&tx)
    }
}

/// Takes a connection's lock. A poisoned lock only means another thread panicked
/// while holding it; SQLite rolled that transaction back, so the connection is fine.
fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
