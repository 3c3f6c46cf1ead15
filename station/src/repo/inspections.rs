//! Inspections: a supervisor sends an inspector to look at a reported place;
//! the inspector records what was found.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::feed::{ActionLog, NewChange};
use super::{Actor, RepoError, ReportEventKind, StationId, StoredReport};

/// What the inspector concluded on site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InspectionOutcome {
    /// The problem is there: refer it to the owning agency.
    Confirmed,
    /// Nothing found at the place.
    NotConfirmed,
    /// It was there but is already fixed.
    Resolved,
}

impl InspectionOutcome {
    /// The database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::NotConfirmed => "not_confirmed",
            Self::Resolved => "resolved",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "confirmed" => Self::Confirmed,
            "not_confirmed" => Self::NotConfirmed,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

/// Findings to record; validated by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFindings {
    /// What the inspector saw.
    pub text: String,
    /// The conclusion.
    pub outcome: InspectionOutcome,
    /// When the inspector was on site.
    pub observed_at: DateTime<Utc>,
}

/// Recorded findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Findings {
    /// What the inspector saw.
    pub text: String,
    /// The conclusion.
    pub outcome: InspectionOutcome,
    /// When the inspector was on site.
    pub observed_at: DateTime<Utc>,
    /// When the findings were recorded.
    pub recorded_at: DateTime<Utc>,
}

/// An inspection of one report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inspection {
    /// The report inspected.
    pub report_id: ReportId,
    /// The assigned inspector's user id.
    pub inspector_id: Uuid,
    /// The assigned inspector's username.
    pub inspector: String,
    /// The supervisor who assigned it.
    pub assigned_by: Uuid,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
    /// The findings, once recorded.
    pub findings: Option<Findings>,
}

/// What assigning an inspection came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AssignOutcome {
    /// Assigned (or already assigned to that inspector: `changed` false).
    Assigned {
        /// The inspection now.
        inspection: Inspection,
        /// The report now (status `inspecting`); boxed, being much larger
        /// than the other variants.
        report: Box<StoredReport>,
        /// False when nothing was written.
        changed: bool,
    },
    /// No such report in the station.
    NoReport,
    /// No enabled user of that name with the inspector role in the station.
    NotAnInspector,
}

/// An inspection read back: `report_id, inspector_id, inspector's username,
/// assigned_by, assigned_at, findings, outcome, observed_at, recorded_at`.
/// Findings count only once both their text and outcome are stored.
pub(crate) fn inspection_from(row: &impl Columns) -> Result<Inspection, RepoError> {
    let findings = match (row.opt_text(5)?, row.opt_text(6)?) {
        (Some(text), Some(outcome)) => Some(Findings {
            text,
            outcome: InspectionOutcome::parse(&outcome)
                .ok_or_else(|| bad_column(6, format!("inspection outcome `{outcome}`")))?,
            observed_at: row.time(7)?,
            recorded_at: row.time(8)?,
        }),
        _ => None,
    };
    Ok(Inspection {
        report_id: row.report_id(0)?,
        inspector_id: row.uuid(1)?,
        inspector: row.text(2)?,
        assigned_by: row.uuid(3)?,
        assigned_at: row.time(4)?,
        findings,
    })
}

/// What assigning an inspector writes, decided from the report and its
/// current inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// The supervisor assigning it.
    pub assigned_by: Uuid,
    /// Whether the inspection row is written (a new or another inspector);
    /// replacing an inspector clears the findings.
    pub assigns: bool,
    /// Whether the report moves to `inspecting`.
    pub sets_status: bool,
}

impl Assignment {
    /// The assignment rule: the inspection is (re)written unless it already
    /// names that inspector, and the report moves to `inspecting` unless it
    /// is there. Only a signed-in user assigns.
    pub(crate) fn decide(
        report: &StoredReport,
        before: Option<&Inspection>,
        inspector: Uuid,
        actor: &Actor,
    ) -> Result<Self, RepoError> {
        let assigned_by = actor.user_id.ok_or_else(|| {
            RepoError::Storage("an inspection is assigned by a signed-in user".into())
        })?;
        Ok(Self {
            assigned_by,
            assigns: before.is_none_or(|i| i.inspector_id != inspector),
            sets_status: report.status != ReviewStatus::Inspecting,
        })
    }

    /// The answer when there is nothing to write: the same inspector, the
    /// report already `inspecting`.
    pub(crate) fn unchanged(
        &self,
        report: &StoredReport,
        before: Option<&Inspection>,
    ) -> Option<AssignOutcome> {
        if self.assigns || self.sets_status {
            return None;
        }
        before.map(|inspection| AssignOutcome::Assigned {
            inspection: inspection.clone(),
            report: Box::new(report.clone()),
            changed: false,
        })
    }
}

/// An inspection's findings as the audit log keeps them: the outcome and
/// the text's length, never the text (it may describe a resident).
fn findings_summary(
    outcome: InspectionOutcome,
    observed_at: DateTime<Utc>,
    text: &str,
) -> serde_json::Value {
    serde_json::json!({
        "outcome": outcome.as_str(),
        "observed_at": observed_at,
        "findings_chars": text.chars().count(),
    })
}

impl ActionLog {
    /// `inspection.assign`, replacing `before` if there was one; no feed
    /// entry (the status change that comes with it has its own).
    pub(crate) fn inspection_assigned(
        actor: Actor,
        report: ReportId,
        before: Option<&Inspection>,
        inspector: &str,
    ) -> Self {
        let before = before.map(|i| {
            serde_json::json!({
                "inspector": i.inspector,
                "outcome": i.findings.as_ref().map(|f| f.outcome.as_str()),
            })
        });
        let after = serde_json::json!({ "inspector": inspector });
        Self {
            actor,
            audit: AuditRecord::new("inspection.assign", "report", report, before, after),
            change: None,
        }
    }

    /// `inspection.record`, replacing earlier findings if there were some,
    /// and the `inspected` feed entry for supervisors.
    pub(crate) fn inspection_recorded(
        actor: Actor,
        report: ReportId,
        before: Option<&Findings>,
        findings: &NewFindings,
    ) -> Self {
        let before = before.map(|f| findings_summary(f.outcome, f.observed_at, &f.text));
        let after = findings_summary(findings.outcome, findings.observed_at, &findings.text);
        Self {
            actor,
            audit: AuditRecord::new("inspection.record", "report", report, before, after),
            change: Some(NewChange::Report {
                report,
                event: ReportEventKind::Inspected,
            }),
        }
    }
}

/// Inspections: supervisors assign them, inspectors list them and record
/// findings. Every write runs in one transaction with its audit rows and
/// feed entries.
#[async_trait]
pub trait InspectionStore: Send + Sync {
    /// Assigns a report to an inspector (an enabled user with the inspector
    /// role, found by username in the station) and sets the report's status to
    /// `inspecting`. Re-assigning replaces the inspector and clears findings.
    /// Writes an `inspection.assign` audit row, and when the status changes a
    /// `report.status` audit row and a `status` feed entry (which the filing
    /// carrier sees). Assigning the same inspector again writes nothing.
    /// [`RepoError::Stale`] when `if_version` is given and the report is at
    /// another version (a decision like any other, see
    /// [`super::StatusChange::check_version`]).
    #[allow(clippy::too_many_arguments)]
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
        if_version: Option<u64>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AssignOutcome, RepoError>;
    /// The inspection of a report, if one was assigned.
    async fn inspection(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Option<Inspection>, RepoError>;
    /// The station's inspections, newest assignment first; only those assigned
    /// to `inspector` when given.
    async fn inspections(
        &self,
        station: StationId,
        inspector: Option<Uuid>,
    ) -> Result<Vec<Inspection>, RepoError>;
    /// Records (or replaces) the findings of the report's inspection, only if
    /// it is assigned to `inspector`; `None` otherwise. Writes an
    /// `inspection.record` audit row (outcome and times, never the text) and an
    /// `inspected` feed entry for supervisors.
    async fn record_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector: Uuid,
        findings: NewFindings,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Inspection>, RepoError>;
}
