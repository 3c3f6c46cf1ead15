//! Inspections in PostgreSQL: assignment (which also moves the report to
//! `inspecting`) and findings, each with audit rows and feed entries in one
//! transaction.
//!
//! Both writes lock the report row first, the same order as triage and photo
//! completion, so decisions on one report queue and each sees the previous
//! one's result.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};
use postcso_model::{ReportId, ReviewStatus};
use uuid::Uuid;

use super::{PgRepository, execute, feed, map_err, query, query_opt, reports};
use crate::repo::columns::{Columns, micros};
use crate::repo::feed::ActionLog;
use crate::repo::inspections::{Assignment, inspection_from};
use crate::repo::{
    Actor, AssignOutcome, Inspection, InspectionStore, NewFindings, RepoError, StationId,
    StatusChange,
};

const SELECT: &str = "SELECT i.report_id, i.inspector_id, u.username, i.assigned_by, i.assigned_at,
                             i.findings, i.outcome, i.observed_at, i.recorded_at
                      FROM inspections AS i
                      JOIN users AS u ON u.station_id = i.station_id AND u.id = i.inspector_id";

/// The inspection of one report.
async fn get_one<C: GenericClient>(
    c: &C,
    station: StationId,
    report: ReportId,
) -> Result<Option<Inspection>, RepoError> {
    query_opt(
        c,
        &format!("{SELECT} WHERE i.station_id = $1 AND i.report_id = $2"),
        &[&station.0, &report.as_uuid()],
    )
    .await?
    .as_ref()
    .map(inspection_from)
    .transpose()
}

/// The station's inspections, newest assignment first, optionally only one
/// inspector's.
async fn list<C: GenericClient>(
    c: &C,
    station: StationId,
    inspector: Option<Uuid>,
) -> Result<Vec<Inspection>, RepoError> {
    query(
        c,
        &format!(
            "{SELECT} WHERE i.station_id = $1 AND ($2::uuid IS NULL OR i.inspector_id = $2)
             ORDER BY i.assigned_at DESC, i.report_id"
        ),
        &[&station.0, &inspector],
    )
    .await?
    .iter()
    .map(inspection_from)
    .collect()
}

/// Locks the report row; false when the station has no such report.
async fn lock_report(
    tx: &Transaction<'_>,
    station: StationId,
    report: ReportId,
) -> Result<bool, RepoError> {
    Ok(query_opt(
        tx,
        "SELECT 1 FROM reports WHERE station_id = $1 AND id = $2 FOR UPDATE",
        &[&station.0, &report.as_uuid()],
    )
    .await?
    .is_some())
}

/// Assigns an inspector; see [`InspectionStore::assign_inspection`].
async fn assign(
    client: &mut Object,
    station: StationId,
    report: ReportId,
    inspector_username: &str,
    if_version: Option<u64>,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<AssignOutcome, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    if !lock_report(&tx, station, report).await? {
        return Ok(AssignOutcome::NoReport);
    }
    let Some(before_report) = reports::load(&tx, station, report).await? else {
        return Ok(AssignOutcome::NoReport);
    };
    StatusChange::check_version(&before_report, if_version)?;
    let inspector = query_opt(
        &tx,
        "SELECT id FROM users WHERE station_id = $1 AND username = $2
         AND role = 'inspector' AND disabled_at IS NULL",
        &[&station.0, &inspector_username],
    )
    .await?;
    let Some(inspector) = inspector else {
        return Ok(AssignOutcome::NotAnInspector);
    };
    let inspector_id = inspector.uuid(0)?;
    let before = get_one(&tx, station, report).await?;
    let plan = Assignment::decide(&before_report, before.as_ref(), inspector_id, &actor)?;
    if let Some(unchanged) = plan.unchanged(&before_report, before.as_ref()) {
        return Ok(unchanged);
    }
    if plan.assigns {
        execute(
            &tx,
            "INSERT INTO inspections (report_id, station_id, inspector_id, assigned_by, assigned_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (report_id) DO UPDATE SET
                 inspector_id = excluded.inspector_id, assigned_by = excluded.assigned_by,
                 assigned_at = excluded.assigned_at, findings = NULL, outcome = NULL,
                 observed_at = NULL, recorded_at = NULL",
            &[
                &report.as_uuid(),
                &station.0,
                &inspector_id,
                &plan.assigned_by,
                &now,
            ],
        )
        .await?;
        let log = ActionLog::inspection_assigned(
            actor.clone(),
            report,
            before.as_ref(),
            inspector_username,
        );
        feed::log(&tx, station, &log, now).await?;
    }
    if plan.sets_status {
        execute(
            &tx,
            "UPDATE reports SET status = 'inspecting', status_reason = NULL, merged_into = NULL
             WHERE station_id = $1 AND id = $2",
            &[&station.0, &report.as_uuid()],
        )
        .await?;
        let log = ActionLog::report_status(actor, &before_report, &ReviewStatus::Inspecting, None);
        feed::log(&tx, station, &log, now).await?;
    }
    let inspection = get_one(&tx, station, report)
        .await?
        .ok_or(RepoError::NotFound("inspection"))?;
    let stored = reports::load(&tx, station, report)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    tx.commit().await.map_err(map_err)?;
    Ok(AssignOutcome::Assigned {
        inspection,
        report: Box::new(stored),
        changed: true,
    })
}

/// Records findings; see [`InspectionStore::record_inspection`].
async fn record(
    client: &mut Object,
    station: StationId,
    report: ReportId,
    inspector: Uuid,
    findings: &NewFindings,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Option<Inspection>, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    if !lock_report(&tx, station, report).await? {
        return Ok(None);
    }
    let Some(before) = get_one(&tx, station, report).await? else {
        return Ok(None);
    };
    if before.inspector_id != inspector {
        return Ok(None);
    }
    execute(
        &tx,
        "UPDATE inspections SET findings = $3, outcome = $4, observed_at = $5, recorded_at = $6
         WHERE station_id = $1 AND report_id = $2",
        &[
            &station.0,
            &report.as_uuid(),
            &findings.text,
            &findings.outcome.as_str(),
            &findings.observed_at,
            &now,
        ],
    )
    .await?;
    let log = ActionLog::inspection_recorded(actor, report, before.findings.as_ref(), findings);
    feed::log(&tx, station, &log, now).await?;
    let after = get_one(&tx, station, report).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(after)
}

#[async_trait]
impl InspectionStore for PgRepository {
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError> {
        let mut client = self.client().await?;
        assign(
            &mut client,
            station,
            report,
            inspector_username,
            if_version,
            actor,
            now,
        )
        .await
    }

    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError> {
        get_one(&self.client().await?, station, report).await
    }

    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError> {
        list(&self.client().await?, station, inspector).await
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
        record(
            &mut client,
            station,
            report,
            inspector,
            &findings,
            actor,
            now,
        )
        .await
    }
}
