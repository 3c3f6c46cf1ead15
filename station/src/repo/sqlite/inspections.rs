//! Inspections in SQLite: assignment (which also moves the report to
//! `inspecting`) and findings, each with audit rows and feed entries inside
//! the caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err, reports};
use crate::repo::columns::Columns;
use crate::repo::feed::ActionLog;
use crate::repo::inspections::{Assignment, inspection_from};
use crate::repo::{
    Actor, AssignOutcome, Inspection, InspectionStore, NewFindings, RepoError, StationId,
    StatusChange,
};

const SELECT: &str = "SELECT i.report_id, i.inspector_id, u.username, i.assigned_by, i.assigned_at,
                             i.findings, i.outcome, i.observed_at, i.recorded_at
                      FROM inspections AS i JOIN users AS u ON u.id = i.inspector_id";

/// The inspection of one report.
fn get(
    conn: &Connection,
    station: StationId,
    report: ReportId,
) -> Result<Option<Inspection>, RepoError> {
    first_row(
        conn,
        &format!("{SELECT} WHERE i.station_id = ?1 AND i.report_id = ?2"),
        params![station.to_string(), report.to_string()],
        |r| inspection_from(r),
    )
}

/// The station's inspections, optionally only one inspector's.
fn list(
    conn: &Connection,
    station: StationId,
    inspector: Option<Uuid>,
) -> Result<Vec<Inspection>, RepoError> {
    all_rows(
        conn,
        &format!(
            "{SELECT} WHERE i.station_id = ?1 AND (?2 IS NULL OR i.inspector_id = ?2)
             ORDER BY i.assigned_at DESC, i.report_id"
        ),
        params![station.to_string(), inspector.map(|i| i.to_string())],
        |r| inspection_from(r),
    )
}

/// Assigns an inspector; see [`InspectionStore::assign_inspection`] and
/// [`Assignment::decide`].
fn assign(
    conn: &Connection,
    station: StationId,
    report: ReportId,
    inspector_username: &str,
    if_version: Option<u64>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<AssignOutcome, RepoError> {
    let Some(before_report) = reports::load(conn, station, report)? else {
        return Ok(AssignOutcome::NoReport);
    };
    StatusChange::check_version(&before_report, if_version)?;
    let inspector = first_row(
        conn,
        "SELECT id FROM users WHERE station_id = ?1 AND username = ?2
         AND role = 'inspector' AND disabled_at IS NULL",
        params![station.to_string(), inspector_username],
        |r| r.uuid(0),
    )?;
    let Some(inspector_id) = inspector else {
        return Ok(AssignOutcome::NotAnInspector);
    };
    let before = get(conn, station, report)?;
    let plan = Assignment::decide(&before_report, before.as_ref(), inspector_id, &actor)?;
    if let Some(unchanged) = plan.unchanged(&before_report, before.as_ref()) {
        return Ok(unchanged);
    }
    if plan.assigns {
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
                inspector_id.to_string(),
                plan.assigned_by.to_string(),
                ts(now)
            ],
        )
        .map_err(map_err)?;
        let log = ActionLog::inspection_assigned(
            actor.clone(),
            report,
            before.as_ref(),
            inspector_username,
        );
        feed::log(conn, station, &log, now)?;
    }
    if plan.sets_status {
        conn.execute(
            "UPDATE reports SET status = 'inspecting', status_reason = NULL, merged_into = NULL
             WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), report.to_string()],
        )
        .map_err(map_err)?;
        let log = ActionLog::report_status(actor, &before_report, &ReviewStatus::Inspecting, None);
        feed::log(conn, station, &log, now)?;
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
    actor: Actor,
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
    let log = ActionLog::inspection_recorded(actor, report, before.findings.as_ref(), findings);
    feed::log(conn, station, &log, now)?;
    get(conn, station, report)
}

#[async_trait]
impl InspectionStore for SqliteRepository {
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError> {
        let username = inspector_username.to_owned();
        self.write_tx(move |tx| assign(tx, station, report, &username, if_version, actor, now))
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
        self.write_tx(move |tx| record(tx, station, report, inspector, &findings, actor, now))
            .await
    }
}
