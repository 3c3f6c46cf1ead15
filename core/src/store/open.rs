//! Opening the database file: integrity probe, setting a damaged file aside,
//! and the connection settings that make commits durable.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::{StoreError, StoreOptions, migrations};

const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Opens the writer connection: probes the file, refuses newer schemas, then
/// turns on WAL and full synchronous commits.
pub(super) fn open_writer(path: &Path, options: &StoreOptions) -> Result<Connection, StoreError> {
    let had_content = fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS.into()))?;
    if let Err(reason) = probe(&conn) {
        if !had_content {
            return Err(StoreError::Sqlite(reason));
        }
        drop(conn);
        let set_aside = set_aside(path)?;
        tracing::error!(set_aside = %set_aside.display(), "report database damaged; set aside");
        return Err(StoreError::Corrupt {
            set_aside,
            reason: reason.to_string(),
        });
    }
    let found = migrations::version(&conn)?;
    if found > migrations::CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: migrations::CURRENT_VERSION,
        });
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode, "could not switch the report database to WAL");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "fullfsync", true)?;
    conn.pragma_update(None, "checkpoint_fullfsync", true)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    if let Some(pages) = options.max_page_count {
        let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| {
            r.get(0)
        })?;
    }
    Ok(conn)
}

/// Opens the read-only connection used for listings.
pub(super) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS.into()))?;
    conn.pragma_update(None, "query_only", true)?;
    Ok(conn)
}

/// Checks that the file is a readable, structurally sound SQLite database.
///
/// Returns the damage found; I/O and permission errors are not damage and are
/// returned as `Ok(())` here so that they surface later as themselves.
fn probe(conn: &Connection) -> Result<(), rusqlite::Error> {
    let check: Result<String, rusqlite::Error> = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .and_then(|_| conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0)));
    match check {
        Ok(answer) if answer == "ok" => Ok(()),
        Ok(answer) => Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(answer),
        )),
        Err(e) if is_damage(&e) => Err(e),
        Err(_) => Ok(()),
    }
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Renames the damaged file and its WAL/SHM companions to
/// `<name>.corrupt-<UTC timestamp>`, so support staff can try to recover reports.
fn set_aside(path: &Path) -> Result<PathBuf, StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let with_suffix = |p: &Path| -> PathBuf {
        let mut name = p.as_os_str().to_owned();
        name.push(format!(".corrupt-{stamp}"));
        PathBuf::from(name)
    };
    let target = with_suffix(path);
    fs::rename(path, &target)?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let companion = PathBuf::from(companion);
        if companion.exists() {
            let mut aside = target.as_os_str().to_owned();
            aside.push(suffix);
            fs::rename(&companion, PathBuf::from(aside))?;
        }
    }
    if let Some(dir) = path.parent() {
        crate::fsutil::sync_dir(dir)?;
    }
    Ok(target)
}
