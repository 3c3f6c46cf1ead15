//! Forward-only schema migrations for PostgreSQL, tracked in `schema_migrations`.
//!
//! All pending migrations run in one transaction that first takes a
//! transaction-scoped advisory lock, so two station processes starting at once
//! queue instead of racing: the second finds the work done. PostgreSQL's DDL is
//! transactional, so a failure leaves the previous version intact. A database
//! newer than this binary is refused rather than guessed at.

use tokio_postgres::Client;

use super::map_err;
use crate::repo::RepoError;

/// The migrations in order; the version after applying entry `i` is `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_zones_inspections.sql"),
    include_str!("migrations/0003_zone_details.sql"),
    include_str!("migrations/0004_report_geography.sql"),
    include_str!("migrations/0005_report_version.sql"),
    include_str!("migrations/0006_report_merges.sql"),
    include_str!("migrations/0007_agencies_referrals.sql"),
];

/// The schema version this binary writes.
pub const LATEST_VERSION: i32 = MIGRATIONS.len() as i32;

/// Advisory lock key of the migration step ("PCSOMIGR" as ASCII).
const LOCK_KEY: i64 = 0x5043_534F_4D49_4752;

/// Brings the database up to [`LATEST_VERSION`] and returns it.
pub async fn migrate(client: &mut Client) -> Result<i32, RepoError> {
    let tx = client.transaction().await.map_err(map_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .await
        .map_err(map_err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version     integer PRIMARY KEY,
             applied_at  timestamptz NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(map_err)?;
    let current: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) FROM schema_migrations",
            &[],
        )
        .await
        .map_err(map_err)?
        .try_get(0)
        .map_err(map_err)?;
    if current > LATEST_VERSION {
        return Err(RepoError::Storage(format!(
            "database schema version {current} is newer than this binary's {LATEST_VERSION}; \
             upgrade postcso-station"
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let version = index as i32 + 1;
        tx.batch_execute(sql)
            .await
            .map_err(|e| RepoError::Storage(format!("migration {version} failed: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[&version],
        )
        .await
        .map_err(map_err)?;
        tracing::info!(version, "applied PostgreSQL schema migration");
    }
    tx.commit().await.map_err(map_err)?;
    Ok(LATEST_VERSION)
}
