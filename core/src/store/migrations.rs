//! Versioned, forward-only schema migrations.
//!
//! Each step is a numbered `.sql` file applied in its own `BEGIN IMMEDIATE`
//! transaction together with the `PRAGMA user_version` bump, so a crash mid-upgrade
//! leaves the database at the previous version, never half-way. Steps convert rows;
//! none may drop a carrier's unsent report.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The migration steps; step `i` takes the schema from version `i` to `i + 1`.
const STEPS: &[&str] = &[
    include_str!("migrations/0001_initial.sql"),
    include_str!("migrations/0002_flags_and_categories.sql"),
    include_str!("migrations/0003_delivery.sql"),
    include_str!("migrations/0004_zones.sql"),
    include_str!("migrations/0005_zone_details.sql"),
    include_str!("migrations/0006_places.sql"),
    include_str!("migrations/0007_key_canary.sql"),
];

/// The schema version this build of the app writes.
pub const CURRENT_VERSION: u32 = STEPS.len() as u32;

/// Reads the schema version recorded in the database file.
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.query_row("PRAGMA user_version", [], |row| row.get(0))?)
}

/// Brings the schema up to `target`, one step per transaction.
///
/// Refuses a database written by a newer app: downgrading could lose data, and the
/// file is left exactly as it is.
pub fn upgrade_to(conn: &mut Connection, target: u32) -> Result<(), StoreError> {
    let found = version(conn)?;
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for step in found..target.min(CURRENT_VERSION) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(STEPS[step as usize])?;
        tx.pragma_update(None, "user_version", step + 1)?;
        tx.commit()?;
        tracing::info!(from = step, to = step + 1, "migrated report queue schema");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrades_an_empty_database_step_by_step() {
        let mut conn = Connection::open_in_memory().unwrap();
        upgrade_to(&mut conn, 1).unwrap();
        assert_eq!(version(&conn).unwrap(), 1);
        upgrade_to(&mut conn, CURRENT_VERSION).unwrap();
        assert_eq!(version(&conn).unwrap(), CURRENT_VERSION);
        // Idempotent once current.
        upgrade_to(&mut conn, CURRENT_VERSION).unwrap();
    }

    #[test]
    fn refuses_a_newer_database_without_touching_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", CURRENT_VERSION + 3)
            .unwrap();
        let err = upgrade_to(&mut conn, CURRENT_VERSION).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { found, .. } if found == CURRENT_VERSION + 3));
        assert_eq!(version(&conn).unwrap(), CURRENT_VERSION + 3);
    }
}
