//! Inspections in SQLite: assignment (which also moves the report to
//! `inspecting`) and findings, each with audit rows and feed entries inside
//! the caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::rows::{get_ts, invalid_text, ts};
use super::{SqliteRepository, map_err, reports};
use crate::repo::{
    Actor, AssignOutcome, Findings, Inspection, InspectionOutcome, InspectionStore, NewFindings,
    RepoError, ReportEventKind, StationId,
};

const SELECT: &str = "SELECT i.report_id, i.inspector_id, u.username, i.assigned_by, i.assigned_at,
                             i.findings, i.outcome, i.observed_at, i.recorded_at
                      FROM inspections AS i JOIN users AS u ON u.id = i.inspector_id";

fn uuid_at(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<Uuid> {
    let text: String = r.get(idx)?;
    Uuid::parse_str(&text).map_err(|_| invalid_text(idx, "bad uuid"))
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Inspection> {
    let report: String = r.get(0)?;
    let text: Option<String> = r.get(5)?;
    let outcome: Option<String> = r.get(6)?;
    let findings = match (text, outcome) {
        (Some(text), Some(outcome)) => Some(Findings {
            text,
            outcome: InspectionOutcome::parse(&outcome)
                .ok_or_else(|| invalid_text(6, "bad outcome"))?,
            observed_at: get_ts(r, 7)?,
            recorded_at: get_ts(r, 8)?,
        }),
        _ => None,
    };
    Ok(Inspection {
        report_id: ReportId::parse(&report).map_err(|_| invalid_text(0, "bad report id"))?,
        inspector_id: uuid_at(r, 1)?,
        inspector: r.get(2)?,
        assigned_by: uuid_at(r, 3)?,
        assigned_at: get_ts(r, 4)?,
        findings,
    })
}

/// The inspection of one report.
fn get(
    conn: &Connection,
    station: StationId,
    report: ReportId,
) -> Result<Option<Inspection>, RepoError> {
    conn.query_row(
        &format!("{SELECT} WHERE i.station_id = ?1 AND i.report_id = ?2"),
        params![station.to_string(), report.to_string()],
        from_row,
    )
    .optional()
    .map_err(map_err)
}

/// The station's inspections, optionally only one inspector's.
fn list(
    conn: &Connection,
    station: StationId,
    inspector: Option<Uuid>,
) -> Result<Vec<Inspection>, RepoError> {
    let mut stmt = conn
        .prepare(&format!(
            "{SELECT} WHERE i.station_id = ?1 AND (?2 IS NULL OR i.inspector_id = ?2)
             ORDER BY i.assigned_at DESC, i.report_id"
        ))
        .map_err(map_err)?;
    let rows = stmt
        .query_map(
            params![station.to_string(), inspector.map(|i| i.to_string())],
            from_row,
        )
        .map_err(map_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(map_err)
}

/// Assigns an inspector; see [`InspectionStore::assign_inspection`].
fn assign(
    conn: &Connection,
    station: StationId,
    report: ReportId,
    inspector_username: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AssignOutcome, RepoError> {
    let Some(before_report) = reports::load(conn, station, report)? else {
        return Ok(AssignOutcome::NoReport);
    };
    let inspector: Option<String> = conn
        .query_row(
            "SELECT id FROM users WHERE station_id = ?1 AND username = ?2
             AND role = 'inspector' AND disabled_at IS NULL",
            params![station.to_string(), inspector_username],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    let Some(inspector_id) = inspector else {
        return Ok(AssignOutcome::NotAnInspector);
    };
    let assigned_by = actor.user_id.ok_or_else(|| {
        RepoError::Storage("an inspection is assigned by a signed-in user".into())
    })?;
    let before = get(conn, station, report)?;
    let same_inspector = before
        .as_ref()
        .is_some_and(|i| i.inspector_id.to_string() == inspector_id);
    let status_changes = before_report.status != ReviewStatus::Inspecting;
    if same_inspector && !status_changes {
        let inspection = before.ok_or(RepoError::NotFound("inspection"))?;
        return Ok(AssignOutcome::Assigned {
            inspection,
            report: Box::new(before_report),
            changed: false,
        });
    }
    if !same_inspector {
        conn.execute(
            "INSERT INTO inspections (report_id, station_id, inspector_id, assigned_by, assigned_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (report_id) DO UPDATE SET
                 inspector_id = excluded.inspector_id, assigned_by = excluded.assigned_by,
                 assigned_at = excluded.assigned_at, findings = NULL, outcome = NULL,
                 observed_at = NULL, recorded_at = NULL",
            params![
                report.to_string(),
                station.to_string(),
                inspector_id,
                assigned_by.to_string(),
                ts(now)
            ],
        )
        .map_err(map_err)?;
        feed::append_audit(
            conn,
            station,
            actor,
            AuditRecord::inspection_assigned(report, before.as_ref(), inspector_username),
            now,
        )?;
    }
    if status_changes {
        conn.execute(
            "UPDATE reports SET status = 'inspecting', status_reason = NULL
             WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), report.to_string()],
        )
        .map_err(map_err)?;
        feed::append_report(conn, station, report, ReportEventKind::Status, now)?;
        feed::append_audit(
            conn,
            station,
            actor,
            AuditRecord::status_changed(
                report,
                (
                    &before_report.status,
                    before_report.status_reason.as_deref(),
                ),
                (&ReviewStatus::Inspecting, None),
            ),
            now,
        )?;
    }
    let inspection = get(conn, station, report)?.ok_or(RepoError::NotFound("inspection"))?;
    let report = reports::load(conn, station, report)?.ok_or(RepoError::NotFound("report"))?;
    Ok(AssignOutcome::Assigned {
        inspection,
        report: Box::new(report),
        changed: true,
    })
}

/// Records findings; see [`InspectionStore::record_inspection`].
fn record(
    conn: &Connection,
    station: StationId,
    report: ReportId,
    inspector: Uuid,
    findings: &NewFindings,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Option<Inspection>, RepoError> {
    let Some(before) = get(conn, station, report)? else {
        return Ok(None);
    };
    if before.inspector_id != inspector {
        return Ok(None);
    }
    conn.execute(
        "UPDATE inspections SET findings = ?3, outcome = ?4, observed_at = ?5, recorded_at = ?6
         WHERE station_id = ?1 AND report_id = ?2",
        params![
            station.to_string(),
            report.to_string(),
            findings.text,
            findings.outcome.as_str(),
            ts(findings.observed_at),
            ts(now)
        ],
    )
    .map_err(map_err)?;
    feed::append_report(conn, station, report, ReportEventKind::Inspected, now)?;
    feed::append_audit(
        conn,
        station,
        actor,
        AuditRecord::inspection_recorded(report, before.findings.as_ref(), findings),
        now,
    )?;
    get(conn, station, report)
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
        self.write_tx(move |tx| assign(tx, station, report, &username, &actor, now))
            .await
    }

    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError> {
        self.read(move |conn| get(conn, station, report)).await
    }

    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError> {
        self.read(move |conn| list(conn, station, inspector)).await
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
        self.write_tx(move |tx| record(tx, station, report, inspector, &findings, &actor, now))
            .await
    }
}
