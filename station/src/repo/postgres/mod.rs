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

mod accounts;
mod categories;
mod feed;
mod inspections;
mod migrate;
mod reports;
mod uploads;
mod zones;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{
    GenericClient, Manager, ManagerConfig, Object, Pool, PoolError, RecyclingMethod,
};
use postcso_model::{CategoryInfo, CategoryList, ReportContent, ReportId, ReviewStatus};
use tokio_postgres::types::{FromSql, ToSql};
use tokio_postgres::{NoTls, Row};
use uuid::Uuid;

pub use migrate::LATEST_VERSION;

use super::prelude::*;
use super::{
    Actor, AssignOutcome, Audience, AuditEntry, Change, Device, Inspection, NewEnrolmentCode,
    NewFindings, NewUpload, NewUser, NewZone, PutOutcome, RedeemOutcome, RepoError, Session,
    StaffUser, Station, StationId, StatusChange, StoredReport, Upload, UploadCompletion, User,
    UserCredentials, UserDisabled, Zone, ZoneUpdate,
};

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

/// Reads column `idx` of a row; a type mismatch is a storage error (a bug).
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, idx: usize) -> Result<T, RepoError> {
    row.try_get(idx)
        .map_err(|e| RepoError::Storage(format!("unexpected value in column {idx}: {e}")))
}

/// Converts a stored non-negative count or size.
pub(crate) fn to_u64(n: i64) -> u64 {
    n.max(0) as u64
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

/// Drops sub-microsecond precision, which `timestamptz` cannot hold, so values
/// handed back from memory equal what a later read returns.
pub(crate) fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
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

#[async_trait]
impl StationStore for PgRepository {
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError> {
        let mut client = self.client().await?;
        accounts::create_station(&mut client, slug, name).await
    }

    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError> {
        accounts::station_by_slug(&self.client().await?, slug).await
    }

    async fn list_stations(&self) -> Result<Vec<Station>, RepoError> {
        accounts::list_stations(&self.client().await?).await
    }
}

#[async_trait]
impl CategoryStore for PgRepository {
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError> {
        accounts::categories(&self.client().await?, station).await
    }

    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError> {
        let mut client = self.client().await?;
        categories::add(&mut client, station, &info, &actor, now).await
    }

    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError> {
        let mut client = self.client().await?;
        categories::retire(&mut client, station, code, &actor, now).await
    }
}

#[async_trait]
impl AccountStore for PgRepository {
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError> {
        let mut client = self.client().await?;
        accounts::add_user(&mut client, station, user).await
    }

    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError> {
        accounts::list_users(&self.client().await?, station).await
    }

    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError> {
        let mut client = self.client().await?;
        accounts::disable_user(&mut client, station, username, now).await
    }

    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        accounts::user_credentials(&self.client().await?, station, username).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let mut client = self.client().await?;
        accounts::create_session(&mut client, token_hash, user, expires_at).await
    }

    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let mut client = self.client().await?;
        accounts::end_session(&mut client, session, now).await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        accounts::session_by_token_hash(&self.client().await?, token_hash, now).await
    }
}

#[async_trait]
impl DeviceStore for PgRepository {
    async fn count_enrolment_codes(&self, station: StationId) -> Result<u64, RepoError> {
        accounts::count_enrolment_codes(&self.client().await?, station).await
    }

    async fn add_enrolment_codes(
        &self,
        station: StationId,
        codes: Vec<NewEnrolmentCode>,
    ) -> Result<(), RepoError> {
        let mut client = self.client().await?;
        accounts::add_enrolment_codes(&mut client, station, codes).await
    }

    async fn redeem_enrolment_code(
        &self,
        code_hash: &str,
        device_token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<RedeemOutcome, RepoError> {
        let mut client = self.client().await?;
        accounts::redeem_enrolment_code(&mut client, code_hash, device_token_hash, now).await
    }

    async fn device_by_token_hash(&self, token_hash: &str) -> Result<Option<Device>, RepoError> {
        accounts::device_by_token_hash(&self.client().await?, token_hash).await
    }

    async fn list_devices(&self, station: StationId) -> Result<Vec<Device>, RepoError> {
        accounts::list_devices(&self.client().await?, station).await
    }

    async fn revoke_device(
        &self,
        station: StationId,
        id_or_label: &str,
        now: DateTime<Utc>,
    ) -> Result<(Device, bool), RepoError> {
        let mut client = self.client().await?;
        accounts::revoke_device(&mut client, station, id_or_label, now).await
    }
}

#[async_trait]
impl ReportStore for PgRepository {
    async fn put_report(
        &self,
        station: StationId,
        device_id: Uuid,
        content: ReportContent,
        content_hash: String,
        now: DateTime<Utc>,
    ) -> Result<PutOutcome, RepoError> {
        let client = self.client().await?;
        reports::put(&client, station, device_id, content, content_hash, now).await
    }

    async fn report(
        &self,
        station: StationId,
        id: ReportId,
    ) -> Result<Option<StoredReport>, RepoError> {
        reports::load(&self.client().await?, station, id).await
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
        let mut client = self.client().await?;
        reports::set_status(&mut client, station, id, status, reason, actor, now).await
    }
}

#[async_trait]
impl UploadStore for PgRepository {
    async fn create_upload(&self, upload: NewUpload) -> Result<Upload, RepoError> {
        uploads::insert(&self.client().await?, upload).await
    }

    async fn upload(&self, station: StationId, id: &str) -> Result<Option<Upload>, RepoError> {
        uploads::find(&self.client().await?, station, id).await
    }

    async fn record_upload_progress(
        &self,
        station: StationId,
        id: &str,
        offset: u64,
        hash_state: Option<Vec<u8>>,
    ) -> Result<(), RepoError> {
        // A progress record is a checkpoint, not a promise (see the SQLite
        // backend): committed without waiting for the WAL flush.
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        tx.batch_execute("SET LOCAL synchronous_commit = off")
            .await
            .map_err(map_err)?;
        uploads::progress(&tx, station, id, offset, hash_state).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn complete_upload(
        &self,
        station: StationId,
        id: &str,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<UploadCompletion, RepoError> {
        let mut client = self.client().await?;
        uploads::complete(&mut client, station, id, now, keep_until).await
    }

    async fn create_completed_upload(
        &self,
        upload: NewUpload,
        now: DateTime<Utc>,
        keep_until: DateTime<Utc>,
    ) -> Result<(Upload, UploadCompletion), RepoError> {
        let mut client = self.client().await?;
        uploads::create_completed(&mut client, upload, now, keep_until).await
    }

    async fn delete_upload(&self, station: StationId, id: &str) -> Result<bool, RepoError> {
        uploads::delete(&self.client().await?, station, id).await
    }

    async fn remove_expired_uploads(&self, now: DateTime<Utc>) -> Result<Vec<String>, RepoError> {
        uploads::remove_expired(&self.client().await?, now).await
    }

    async fn all_uploads(&self) -> Result<Vec<Upload>, RepoError> {
        uploads::all(&self.client().await?).await
    }
}

#[async_trait]
impl ZoneStore for PgRepository {
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError> {
        zones::load_all(&self.client().await?, station).await
    }

    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError> {
        let mut client = self.client().await?;
        zones::add(&mut client, station, &zone, &actor, now).await
    }

    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let mut client = self.client().await?;
        zones::update(&mut client, station, code, &update, &actor, now).await
    }

    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError> {
        let mut client = self.client().await?;
        zones::retire(&mut client, station, code, &actor, now).await
    }
}

#[async_trait]
impl InspectionStore for PgRepository {
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError> {
        let mut client = self.client().await?;
        inspections::assign(
            &mut client,
            station,
            report,
            inspector_username,
            &actor,
            now,
        )
        .await
    }

    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError> {
        inspections::get_one(&self.client().await?, station, report).await
    }

    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError> {
        inspections::list(&self.client().await?, station, inspector).await
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
        let mut client = self.client().await?;
        inspections::record(
            &mut client,
            station,
            report,
            inspector,
            &findings,
            &actor,
            now,
        )
        .await
    }
}

#[async_trait]
impl FeedStore for PgRepository {
    async fn changes(
        &self,
        station: StationId,
        audience: Audience,
        after: u64,
        limit: u32,
    ) -> Result<Vec<Change>, RepoError> {
        let mut client = self.client().await?;
        feed::read_changes(&mut client, station, audience, after, limit).await
    }

    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        let mut client = self.client().await?;
        feed::read_audit(&mut client, station, after, limit).await
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

    #[test]
    fn micros_truncates_nanoseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("time");
        assert_eq!(micros(t).timestamp_subsec_nanos(), 123_456_000);
    }
}
