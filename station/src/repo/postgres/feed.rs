//! The changes feed and the audit log in PostgreSQL: appending inside the
//! caller's transaction, numbering, and reading back.
//!
//! Writers append entries unnumbered (`seq` NULL) and take no per-station
//! lock, so one station's deliveries commit in parallel and share WAL
//! flushes. Before a read, [`number`] gives every committed unnumbered entry
//! of the station the next numbers, in `id` order, in a short transaction
//! holding the station's `station_counters` row lock. Only committed entries
//! are visible to it and batches are numbered one after another, so numbers
//! are gapless and follow commit order: a reader that saw n has seen every
//! entry numbered below n, and an entry that commits late gets a number
//! above every number already handed out, so no cursor ever skips it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::ReportId;

use super::{PgRepository, execute, get, map_err, query, query_one, to_i64};
use crate::repo::audit::{AUDIT_COLUMNS, AuditRecord, audit_entry_from};
use crate::repo::feed::{ActionLog, CHANGE_COLUMNS, NewChange, change_from};
use crate::repo::{
    Actor, Audience, AuditEntry, Change, FeedStore, RepoError, ReportEventKind, StationId,
};

/// Numbers the station's committed, unnumbered feed and audit entries; see
/// the module doc. Does nothing (one cheap query) when there are none.
pub(super) async fn number(client: &mut Object, station: StationId) -> Result<(), RepoError> {
    let pending = query_one(
        &*client,
        "SELECT EXISTS (SELECT 1 FROM changes WHERE station_id = $1 AND seq IS NULL),
                EXISTS (SELECT 1 FROM audit_log WHERE station_id = $1 AND seq IS NULL)",
        &[&station.0],
    )
    .await?;
    if !get::<bool>(&pending, 0)? && !get::<bool>(&pending, 1)? {
        return Ok(());
    }
    let tx = client.transaction().await.map_err(map_err)?;
    // The lock is taken by its own statement, so the numbering statements
    // below take their snapshots after it: they see everything the previous
    // numbering (which held the lock) committed.
    let counters = query_one(
        &tx,
        "SELECT change_seq, audit_seq FROM station_counters WHERE station_id = $1 FOR UPDATE",
        &[&station.0],
    )
    .await?;
    let change_base: i64 = get(&counters, 0)?;
    let audit_base: i64 = get(&counters, 1)?;
    let changes = execute(
        &tx,
        "UPDATE changes c SET seq = $2 + p.n
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM changes
               WHERE station_id = $1 AND seq IS NULL) p
         WHERE c.id = p.id",
        &[&station.0, &change_base],
    )
    .await?;
    let audits = execute(
        &tx,
        "UPDATE audit_log a SET seq = $2 + p.n
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_log
               WHERE station_id = $1 AND seq IS NULL) p
         WHERE a.id = p.id",
        &[&station.0, &audit_base],
    )
    .await?;
    execute(
        &tx,
        "UPDATE station_counters SET change_seq = change_seq + $2, audit_seq = audit_seq + $3
         WHERE station_id = $1",
        &[&station.0, &to_i64(changes), &to_i64(audits)],
    )
    .await?;
    tx.commit().await.map_err(map_err)
}

/// Writes what an action leaves in the logs (its feed entry, if any, and its
/// audit row), unnumbered, inside the caller's transaction.
pub(super) async fn log<C: GenericClient>(
    c: &C,
    station: StationId,
    log: &ActionLog,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    if let Some(change) = &log.change {
        append_change(c, station, change, now).await?;
    }
    append_audit(c, station, &log.actor, &log.audit, now).await
}

/// Appends an (unnumbered) feed entry inside the caller's transaction.
pub(super) async fn append_change<C: GenericClient>(
    c: &C,
    station: StationId,
    change: &NewChange,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    match change {
        NewChange::Report { report, event } => {
            append_report(c, station, *report, *event, now).await
        }
        NewChange::List { kind, json } => {
            execute(
                c,
                "INSERT INTO changes (station_id, kind, data_json, at) VALUES ($1, $2, $3, $4)",
                &[&station.0, kind, json, &now],
            )
            .await?;
            Ok(())
        }
    }
}

/// Appends an (unnumbered) feed entry with the report's state as it is now in
/// the transaction.
async fn append_report<C: GenericClient>(
    c: &C,
    station: StationId,
    report: ReportId,
    event: ReportEventKind,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    let n = execute(
        c,
        "INSERT INTO changes (station_id, kind, event, report_id, device_id, status, reason,
                              complete, photos_missing, at)
         SELECT r.station_id, 'report', $3, r.id, r.device_id, r.status, r.status_reason,
                r.complete,
                (SELECT count(*) FROM report_photos p
                 WHERE p.station_id = r.station_id AND p.report_id = r.id
                   AND p.received_at IS NULL)::integer,
                $4
         FROM reports r WHERE r.station_id = $1 AND r.id = $2",
        &[&station.0, &report.as_uuid(), &event.as_str(), &now],
    )
    .await?;
    if n == 1 {
        Ok(())
    } else {
        Err(RepoError::NotFound("report"))
    }
}

/// Appends one (unnumbered) audit row.
async fn append_audit<C: GenericClient>(
    c: &C,
    station: StationId,
    actor: &Actor,
    record: &AuditRecord,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        c,
        "INSERT INTO audit_log (station_id, at, actor_role, actor_user_id, actor_username,
                                actor_device_id, action, target_kind, target_id,
                                before_json, after_json)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &station.0,
            &now,
            &actor.role.as_str(),
            &actor.user_id,
            &actor.username,
            &actor.device_id,
            &record.action,
            &record.target_kind,
            &record.target_id,
            &record.before_json(),
            &record.after_json(),
        ],
    )
    .await?;
    Ok(())
}

/// Feed entries after `after` that `audience` may see, oldest first.
async fn read_changes(
    client: &mut Object,
    station: StationId,
    audience: Audience,
    after: u64,
    limit: u32,
) -> Result<Vec<Change>, RepoError> {
    number(client, station).await?;
    let c = &*client;
    let sql = format!(
        "SELECT {CHANGE_COLUMNS} FROM changes WHERE station_id = $1 AND seq > $2 AND {}
         ORDER BY seq LIMIT $3",
        audience.visible("$4")
    );
    let (after, limit) = (to_i64(after), i64::from(limit));
    let rows = match audience.device() {
        Some(device) => query(c, &sql, &[&station.0, &after, &limit, &device]).await?,
        None => query(c, &sql, &[&station.0, &after, &limit]).await?,
    };
    rows.iter().map(change_from).collect()
}

/// The station's audit rows after `after`, oldest first.
async fn read_audit(
    client: &mut Object,
    station: StationId,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditEntry>, RepoError> {
    number(client, station).await?;
    let rows = query(
        &*client,
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE station_id = $1 AND seq > $2
             ORDER BY seq LIMIT $3"
        ),
        &[&station.0, &to_i64(after), &i64::from(limit)],
    )
    .await?;
    rows.iter().map(audit_entry_from).collect()
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
        read_changes(&mut client, station, audience, after, limit).await
    }

    async fn audit_entries(
        &self,
        station: StationId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, RepoError> {
        let mut client = self.client().await?;
        read_audit(&mut client, station, after, limit).await
    }
}
