//! The embedded SQLite backend: one file per data dir, for a single station
//! machine.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. Writes go
//! through one writer connection behind a mutex: SQLite allows one writer at a
//! time anyway, and queueing in-process avoids `SQLITE_BUSY` retries. Reads use a
//! small pool of extra connections, which WAL lets run beside the writer.
//! The hot writes (report PUTs, photo completions) are group-committed: see
//! [`group_commit`].

mod audit;
mod categories;
mod changes;
mod group_commit;
mod inspections;
mod migrate;
mod rows;
mod uploads;
mod zones;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryInfo, CategoryList, ReportContent, ReportId, ReviewStatus};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde_json::json;
use uuid::Uuid;

pub use migrate::LATEST_VERSION;

use super::prelude::*;
use super::{
    Actor, AssignOutcome, Audience, AuditEntry, Change, Device, Inspection, NewEnrolmentCode,
    NewFindings, NewUpload, NewUser, NewZone, PutOutcome, RedeemOutcome, RepoError,
    ReportEventKind, Session, StaffUser, Station, StationId, StatusChange, StoredPhoto,
    StoredReport, Upload, UploadCompletion, User, UserCredentials, UserDisabled, Zone, ZoneUpdate,
};
use audit::AuditRecord;
use group_commit::WriteQueue;
use rows::{
    device_from_row, load_report, staff_user_from_row, station_from_row, ts, user_from_row,
};

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

/// One report PUT, in its savepoint of a group-commit batch.
struct ReportPut {
    station: StationId,
    device_id: Uuid,
    content: ReportContent,
    content_hash: String,
    content_json: String,
    now: DateTime<Utc>,
}

/// One report PUT inside its savepoint of a group-commit batch: the
/// idempotency check, the rows, the feed entry and the audit row.
fn put_one(conn: &Connection, put: ReportPut) -> Result<PutOutcome, RepoError> {
    let ReportPut {
        station,
        device_id,
        content,
        content_hash,
        content_json,
        now,
    } = put;
    let id = content.id.to_string();
    let station_text = station.to_string();
    // Looked up without the station filter on purpose: ids are unique across
    // stations, and a clash must be a conflict, never a second row.
    let existing: Option<(String, String, String)> = conn
        .prepare_cached("SELECT station_id, device_id, content_hash FROM reports WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()
        })
        .map_err(map_err)?;
    if let Some((owner_station, owner_device, stored_hash)) = existing {
        let same = owner_station == station_text
            && owner_device == device_id.to_string()
            && stored_hash == content_hash;
        if !same {
            return Ok(PutOutcome::Conflict);
        }
        let stored =
            load_report(conn, station, content.id)?.ok_or(RepoError::NotFound("report"))?;
        return Ok(PutOutcome::Unchanged(stored));
    }
    let received_at = ts(now);
    conn.prepare_cached(
        "INSERT INTO reports (id, station_id, device_id, content_hash, content_json,
                              category, status, complete, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'received', ?7, ?8)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            id,
            station_text,
            device_id.to_string(),
            content_hash,
            content_json,
            content.category.as_str(),
            content.photos.is_empty(),
            received_at
        ])
    })
    .map_err(map_err)?;
    {
        let mut insert_photo = conn
            .prepare_cached(
                "INSERT INTO report_photos (report_id, station_id, position, sha256, size, content_type)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(map_err)?;
        for (position, photo) in content.photos.iter().enumerate() {
            insert_photo
                .execute(params![
                    id,
                    station_text,
                    position as i64,
                    photo.sha256,
                    i64::try_from(photo.size).unwrap_or(i64::MAX),
                    photo.content_type
                ])
                .map_err(map_err)?;
        }
    }
    changes::append_report(conn, station, content.id, ReportEventKind::Created, now)?;
    audit::append(
        conn,
        station,
        &Actor::device(device_id),
        AuditRecord {
            action: "report.create",
            target_kind: "report",
            target_id: id,
            before: None,
            after: Some(json!({
                "content_hash": content_hash,
                "category": content.category.as_str(),
                "photos": content.photos.len(),
                "status": "received",
            })),
        },
        now,
    )?;
    // What was just written, built from the job rather than read back and
    // re-parsed: a new report has no status reason and no photo received yet.
    Ok(PutOutcome::Created(StoredReport {
        id: content.id,
        station_id: station,
        device_id,
        content: content.clone(),
        content_hash,
        status: ReviewStatus::Received,
        status_reason: None,
        complete: content.photos.is_empty(),
        received_at: rows::parse_ts(&received_at)?,
        photos: content
            .photos
            .iter()
            .enumerate()
            .map(|(position, p)| StoredPhoto {
                position: u32::try_from(position).unwrap_or(u32::MAX),
                sha256: p.sha256.clone(),
                size: p.size,
                content_type: p.content_type.clone(),
                received: false,
            })
            .collect(),
    }))
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
            changes::append_categories(&tx, stored.id, &CategoryList::default(), stored.created_at)?;
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

#[async_trait]
impl CategoryStore for SqliteRepository {
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError> {
        self.read(move |conn| categories::load(conn, station)).await
    }

    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError> {
        self.write_tx(move |tx| categories::add(tx, station, &info, &actor, now))
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
        self.write_tx(move |tx| categories::retire(tx, station, &code, &actor, now))
            .await
    }
}

#[async_trait]
impl AccountStore for SqliteRepository {
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError> {
        let stored = User {
            id: Uuid::now_v7(),
            station_id: station,
            username: user.username,
            role: user.role,
            created_at: Utc::now(),
        };
        let result = stored.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let inserted = tx
                .execute(
                    "INSERT INTO users (id, station_id, username, role, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (station_id, username) DO NOTHING",
                    params![
                        stored.id.to_string(),
                        station.to_string(),
                        stored.username,
                        stored.role.as_str(),
                        user.password_hash,
                        ts(stored.created_at)
                    ],
                )
                .map_err(map_err)?;
            if inserted == 0 {
                return Err(RepoError::Conflict(format!(
                    "user `{}` already exists in this station",
                    stored.username
                )));
            }
            audit::append(
                &tx,
                station,
                &Actor::console(),
                AuditRecord::user_added(stored.id, &stored.username, stored.role),
                stored.created_at,
            )?;
            tx.commit().map_err(map_err)
        })
        .await?;
        Ok(result)
    }

    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                 WHERE station_id = ?1 ORDER BY username",
            )
            .and_then(|mut stmt| {
                stmt.query_map([station.to_string()], staff_user_from_row)?
                    .collect()
            })
            .map_err(map_err)
        })
        .await
    }

    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError> {
        let username = username.to_owned();
        self.write_tx(move |tx| {
            let staff = tx
                .query_row(
                    "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                     WHERE station_id = ?1 AND username = ?2",
                    params![station.to_string(), username],
                    staff_user_from_row,
                )
                .optional()
                .map_err(map_err)?
                .ok_or(RepoError::NotFound("user"))?;
            if staff.disabled_at.is_some() {
                return Ok(UserDisabled {
                    user: staff.user,
                    newly: false,
                    sessions_ended: 0,
                });
            }
            let user_id = staff.user.id.to_string();
            tx.execute(
                "UPDATE users SET disabled_at = ?1 WHERE station_id = ?2 AND id = ?3",
                params![ts(now), station.to_string(), user_id],
            )
            .map_err(map_err)?;
            let sessions_ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE station_id = ?2 AND user_id = ?3 AND revoked_at IS NULL
                       AND expires_at > ?1",
                    params![ts(now), station.to_string(), user_id],
                )
                .map_err(map_err)? as u64;
            audit::append(
                tx,
                station,
                &Actor::console(),
                AuditRecord::user_disabled(
                    staff.user.id,
                    &staff.user.username,
                    now,
                    sessions_ended,
                ),
                now,
            )?;
            Ok(UserDisabled {
                user: staff.user,
                newly: true,
                sessions_ended,
            })
        })
        .await
    }

    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        let username = username.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, station_id, username, role, created_at, password_hash FROM users
                 WHERE station_id = ?1 AND username = ?2 AND disabled_at IS NULL",
                params![station.to_string(), username],
                |r| {
                    Ok(UserCredentials {
                        user: user_from_row(r)?,
                        password_hash: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let token_hash = token_hash.to_owned();
        let user = user.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let now = Utc::now();
            tx.execute(
                "INSERT INTO sessions (token_hash, station_id, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token_hash,
                    user.station_id.to_string(),
                    user.id.to_string(),
                    ts(now),
                    ts(expires_at)
                ],
            )
            .map_err(map_err)?;
            audit::append(
                &tx,
                user.station_id,
                &Actor::user(&user),
                AuditRecord::session_created(user.id, expires_at),
                now,
            )?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let session = session.clone();
        self.write_tx(move |tx| {
            let ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE token_hash = ?2 AND station_id = ?3 AND revoked_at IS NULL",
                    params![
                        ts(now),
                        session.token_hash,
                        session.user.station_id.to_string()
                    ],
                )
                .map_err(map_err)?
                > 0;
            if ended {
                audit::append(
                    tx,
                    session.user.station_id,
                    &Actor::user(&session.user),
                    AuditRecord::session_ended(session.user.id, session.expires_at, now),
                    now,
                )?;
            }
            Ok(ended)
        })
        .await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT u.id, u.station_id, u.username, u.role, u.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id AND u.station_id = s.station_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
                   AND u.disabled_at IS NULL",
                params![token_hash, ts(now)],
                |r| {
                    Ok(Session {
                        user: user_from_row(r)?,
                        expires_at: rows::get_ts(r, 5)?,
                        token_hash: token_hash.clone(),
                    })
                },
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }
}

#[async_trait]
impl DeviceStore for SqliteRepository {
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT count(*) FROM enrolment_codes WHERE station_id = ?1",
                [station.to_string()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
            .map_err(map_err)
        })
        .await
    }

    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let at = Utc::now();
            let now = ts(at);
            for code in &codes {
                tx.execute(
                    "INSERT INTO enrolment_codes (code_hash, station_id, label, created_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        code.code_hash,
                        station.to_string(),
                        code.label,
                        now,
                        ts(code.expires_at)
                    ],
                )
                .map_err(|e| match map_err(e) {
                    RepoError::Conflict(_) => RepoError::Conflict(format!(
                        "enrolment code label `{}` already exists in this station",
                        code.label
                    )),
                    other => other,
                })?;
                audit::append(
                    &tx,
                    station,
                    &Actor::console(),
                    AuditRecord::code_created(&code.label, code.expires_at),
                    at,
                )?;
            }
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        device_token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RedeemOutcome, RepoError> {
        let code_hash = code_hash.to_owned();
        let token_hash = device_token_hash.to_owned();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let found: Option<(String, String, String, Option<String>)> = tx
                .query_row(
                    "SELECT station_id, label, expires_at, redeemed_at FROM enrolment_codes
                     WHERE code_hash = ?1",
                    [&code_hash],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .map_err(map_err)?;
            let Some((station_id, label, expires_at, redeemed_at)) = found else {
                return Ok(RedeemOutcome::Unknown);
            };
            if redeemed_at.is_some() {
                return Ok(RedeemOutcome::AlreadyUsed);
            }
            if rows::parse_ts(&expires_at)? <= now {
                return Ok(RedeemOutcome::Expired);
            }
            let device_id = Uuid::now_v7();
            tx.execute(
                "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![device_id.to_string(), station_id, label, token_hash, ts(now)],
            )
            .map_err(map_err)?;
            let updated = tx
                .execute(
                    "UPDATE enrolment_codes SET redeemed_at = ?1, device_id = ?2
                     WHERE code_hash = ?3 AND redeemed_at IS NULL",
                    params![ts(now), device_id.to_string(), code_hash],
                )
                .map_err(map_err)?;
            if updated != 1 {
                return Ok(RedeemOutcome::AlreadyUsed);
            }
            let device = tx
                .query_row(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices WHERE id = ?1",
                    [device_id.to_string()],
                    device_from_row,
                )
                .map_err(map_err)?;
            let station = tx
                .query_row(
                    "SELECT id, slug, name, created_at FROM stations WHERE id = ?1",
                    [&station_id],
                    station_from_row,
                )
                .map_err(map_err)?;
            audit::append(
                &tx,
                station.id,
                &Actor::device(device.id),
                AuditRecord::code_redeemed(device.id, &device.label),
                now,
            )?;
            tx.commit().map_err(map_err)?;
            Ok(RedeemOutcome::Enrolled(device, station))
        })
        .await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            cached_row(
                conn,
                "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                 WHERE token_hash = ?1",
                [token_hash],
                device_from_row,
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }

    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                     WHERE station_id = ?1 ORDER BY label, enrolled_at",
                )
                .map_err(map_err)?;
            let rows = stmt
                .query_map([station.to_string()], device_from_row)
                .map_err(map_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
        })
        .await
    }

    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError> {
        let key = id_or_label.to_owned();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let mut stmt = tx
                .prepare(
                    "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
                     WHERE station_id = ?1 AND (id = ?2 OR label = ?2)",
                )
                .map_err(map_err)?;
            let matches = stmt
                .query_map(params![station.to_string(), key], device_from_row)
                .map_err(map_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(map_err)?;
            drop(stmt);
            let mut device = match matches.as_slice() {
                [] => return Err(RepoError::NotFound("device")),
                [one] => one.clone(),
                _ => {
                    return Err(RepoError::Conflict(format!(
                        "{} devices match `{key}`; revoke by device id",
                        matches.len()
                    )));
                }
            };
            if device.revoked_at.is_some() {
                return Ok((device, false));
            }
            tx.execute(
                "UPDATE devices SET revoked_at = ?1 WHERE station_id = ?2 AND id = ?3",
                params![ts(now), station.to_string(), device.id.to_string()],
            )
            .map_err(map_err)?;
            audit::append(
                &tx,
                station,
                &Actor::console(),
                AuditRecord::device_revoked(device.id, &device.label, now),
                now,
            )?;
            tx.commit().map_err(map_err)?;
            device.revoked_at = Some(now);
            Ok((device, true))
        })
        .await
    }
}

#[async_trait]
impl ReportStore for SqliteRepository {
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError> {
        let content_json = serde_json::to_string(&content)
            .map_err(|e| RepoError::Storage(format!("cannot serialise report: {e}")))?;
        let put = ReportPut {
            station,
            device_id,
            content,
            content_hash,
            content_json,
            now,
        };
        self.write_batched(move |conn| put_one(conn, put)).await
    }

    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError> {
        self.read(move |conn| load_report(conn, station, id)).await
    }

    async fn set_report_status(
        &self,
        station: StationId,
        id: ReportId,
        status: ReviewStatus,
        reason: Option<String>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StatusChange>, RepoError> {
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
            let Some(before) = load_report(&tx, station, id)? else {
                return Ok(None);
            };
            if before.status == status && before.status_reason == reason {
                return Ok(Some(StatusChange {
                    before: before.status.clone(),
                    report: before,
                    changed: false,
                }));
            }
            tx.execute(
                "UPDATE reports SET status = ?3, status_reason = ?4 WHERE station_id = ?1 AND id = ?2",
                params![station.to_string(), id.to_string(), status.as_str(), reason],
            )
            .map_err(map_err)?;
            changes::append_report(&tx, station, id, ReportEventKind::Status, now)?;
            audit::append(
                &tx,
                station,
                &actor,
                AuditRecord::status_changed(
                    id,
                    (&before.status, before.status_reason.as_deref()),
                    (&status, reason.as_deref()),
                ),
                now,
            )?;
            let report = load_report(&tx, station, id)?.ok_or(RepoError::NotFound("report"))?;
            tx.commit().map_err(map_err)?;
            Ok(Some(StatusChange {
                before: before.status,
                report,
                changed: true,
            }))
        })
        .await
    }
}

#[async_trait]
impl UploadStore for SqliteRepository {
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError> {
        self.write(move |conn| {
            uploads::insert(conn, &upload)?;
            uploads::get(conn, upload.station_id, &upload.id)?.ok_or(RepoError::NotFound("upload"))
        })
        .await
    }

    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError> {
        let id = id.to_owned();
        self.read(move |conn| uploads::get(conn, station, &id))
            .await
    }

    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError> {
        let id = id.to_owned();
        self.write(move |conn| {
            // A progress record is a checkpoint, not a promise: losing the
            // last ones in a power cut only moves the offset back (the part
            // file is cut to it and the client re-sends from there), so it is
            // committed without its own WAL fsync. The next synchronous
            // commit makes it durable with everything before it.
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(map_err)?;
            let recorded = uploads::progress(conn, station, &id, offset, hash_state);
            let restored = conn.pragma_update(None, "synchronous", "FULL");
            recorded?;
            restored.map_err(map_err)
        })
        .await
    }

    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError> {
        let id = id.to_owned();
        self.write_batched(move |conn| uploads::complete(conn, station, &id, now, keep_until))
            .await
    }

    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError> {
        self.write_batched(move |conn| {
            uploads::insert(conn, &upload)?;
            let done = uploads::complete(conn, upload.station_id, &upload.id, now, keep_until)?;
            let stored = uploads::get(conn, upload.station_id, &upload.id)?
                .ok_or(RepoError::NotFound("upload"))?;
            Ok((stored, done))
        })
        .await
    }

    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError> {
        let id = id.to_owned();
        self.write(move |conn| uploads::delete(conn, station, &id))
            .await
    }

    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
        self.write(move |conn| uploads::remove_expired(conn, now))
            .await
    }

    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError> {
        self.read(uploads::all).await
    }
}

#[async_trait]
impl ZoneStore for SqliteRepository {
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError> {
        self.read(move |conn| zones::load_all(conn, station)).await
    }

    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError> {
        self.write_tx(move |tx| zones::add(tx, station, &zone, &actor, now))
            .await
    }

    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let code = code.to_owned();
        self.write_tx(move |tx| zones::update(tx, station, &code, &update, &actor, now))
            .await
    }

    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let code = code.to_owned();
        self.write_tx(move |tx| zones::retire(tx, station, &code, &actor, now))
            .await
    }
}

#[async_trait]
impl InspectionStore for SqliteRepository {
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError> {
        let username = inspector_username.to_owned();
        self.write_tx(move |tx| inspections::assign(tx, station, report, &username, &actor, now))
            .await
    }

    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError> {
        self.read(move |conn| inspections::get(conn, station, report))
            .await
    }

    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError> {
        self.read(move |conn| inspections::list(conn, station, inspector))
            .await
    }

    async fn record_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector: Uuid,
        findings: NewFindings,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Inspection>, RepoError> {
        self.write_tx(move |tx| {
            inspections::record(tx, station, report, inspector, &findings, &actor, now)
        })
        .await
    }
}

#[async_trait]
impl FeedStore for SqliteRepository {
    async fn changes(
        &self,
        station: StationId,
        audience: Audience,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        self.read(move |conn| changes::read(conn, station, audience, after, limit))
            .await
    }

    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        self.read(move |conn| audit::read(conn, station, after, limit))
            .await
    }
}
