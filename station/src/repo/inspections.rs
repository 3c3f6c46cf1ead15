//! Inspections: a supervisor sends an inspector to look at a reported place;
//! the inspector records what was found.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Actor, RepoError, StationId, StoredReport};

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
    async fn assign_inspection(
        &self,
        station: StationId,
        report: ReportId,
        inspector_username: &str,
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
