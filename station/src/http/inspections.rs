//! Inspections: a supervisor sends a report to an inspector (its status
//! becomes `inspecting`, which the filing carrier sees); the inspector lists
//! and reads only the reports assigned to it, with their photos, and records
//! what it found on site.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use chrono::{DateTime, Duration, Utc};
use postcso_model::ReportId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use super::reports::ReportView;
use crate::auth::policy::{may_assign_inspections, may_read_inspections, may_record_inspections};
use crate::auth::{Caller, Role, StaffCaller};
use crate::repo::{AssignOutcome, Findings, Inspection, InspectionOutcome, NewFindings};

/// Longest findings text, in characters.
pub const MAX_FINDINGS_CHARS: usize = 4000;

/// How far in the future an `observed_at` may lie (clock skew of the tablet).
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// An inspection as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionView {
    /// The report inspected.
    pub report_id: Uuid,
    /// The assigned inspector's username.
    pub inspector: String,
    /// The assigned inspector's user id.
    pub inspector_id: Uuid,
    /// The supervisor who assigned it.
    pub assigned_by: Uuid,
    /// When it was assigned.
    pub assigned_at: DateTime<Utc>,
    /// The findings, once recorded.
    pub findings: Option<Findings>,
}

impl From<Inspection> for InspectionView {
    fn from(i: Inspection) -> Self {
        Self {
            report_id: i.report_id.as_uuid(),
            inspector: i.inspector,
            inspector_id: i.inspector_id,
            assigned_by: i.assigned_by,
            assigned_at: i.assigned_at,
            findings: i.findings,
        }
    }
}

/// An inspection with the report it is about.
#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionDetail {
    /// The inspection.
    pub inspection: InspectionView,
    /// The full report (content, location, photo manifest).
    pub report: ReportView,
}

/// Body of `POST /v1/reports/{id}/inspection`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AssignRequest {
    /// Username of an inspector of the station.
    pub inspector: String,
}

/// Body of `PUT /v1/inspections/{id}/findings`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FindingsRequest {
    /// What was found, 1 to 4000 characters; no control characters except line breaks.
    pub findings: String,
    /// `confirmed`, `not_confirmed` or `resolved`.
    pub outcome: InspectionOutcome,
    /// When the inspector was on site; not in the future.
    pub observed_at: DateTime<Utc>,
}

fn parse_id(raw: &str) -> Result<ReportId, Problem> {
    ReportId::parse(raw)
        .map_err(|_| Problem::invalid_id("the report id in the path must be a UUID"))
}

fn check_findings(request: FindingsRequest, now: DateTime<Utc>) -> Result<NewFindings, Problem> {
    let text = request.findings.trim().to_owned();
    let mut errors = Vec::new();
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_FINDINGS_CHARS {
        errors.push(FieldError {
            pointer: "/findings".into(),
            detail: format!("must be 1 to {MAX_FINDINGS_CHARS} characters"),
        });
    } else if text.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError {
            pointer: "/findings".into(),
            detail: "no control characters except line breaks".into(),
        });
    }
    if request.observed_at > now + MAX_CLOCK_SKEW {
        errors.push(FieldError {
            pointer: "/observed_at".into(),
            detail: "cannot be in the future".into(),
        });
    }
    if errors.is_empty() {
        Ok(NewFindings {
            text,
            outcome: request.outcome,
            observed_at: request.observed_at,
        })
    } else {
        Err(Problem::validation(errors))
    }
}

/// `POST /v1/reports/{id}/inspection`
#[utoipa::path(post, path = "/v1/reports/{id}/inspection", tag = "inspections",
    params(("id" = String, Path, description = "The report's UUID"),
           ("If-Match" = Option<String>, Header, description = "The `ETag` of the report as read; the assignment is refused with 412 if it changed since")),
    request_body(content = AssignRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Assigned; the report is now `inspecting` (nothing written when already assigned to that inspector)", body = InspectionView),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (devices included)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in the station", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version the report is no longer at: nothing changed; read it again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No inspector of that name in the station", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn assign(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<AssignRequest>,
) -> Result<axum::Json<InspectionView>, Problem> {
    if !may_assign_inspections(session.user.role) {
        return Err(Problem::forbidden(format!(
            "the {} role may not assign inspections",
            session.user.role
        )));
    }
    let id = parse_id(&raw_id)?;
    let seen = super::versions::if_match(&headers)?;
    let inspection = assign_for(&state, &session, id, &request.inspector, seen).await?;
    Ok(axum::Json(inspection.into()))
}

/// Assigns report `id` to the inspector named `inspector`, made on version
/// `seen` if given: the one path the API and the review console take, with
/// the same role rule, version check and logging.
pub(crate) async fn assign_for(
    state: &AppState,
    session: &crate::repo::Session,
    id: ReportId,
    inspector: &str,
    seen: Option<u64>,
) -> Result<Inspection, Problem> {
    if !may_assign_inspections(session.user.role) {
        return Err(Problem::forbidden(format!(
            "the {} role may not assign inspections",
            session.user.role
        )));
    }
    let station = session.user.station_id;
    let actor = Caller::Staff(session.clone()).actor();
    let outcome = state
        .repo
        .assign_inspection(station, id, inspector.trim(), seen, actor, Utc::now())
        .await?;
    match outcome {
        AssignOutcome::Assigned {
            inspection,
            changed,
            ..
        } => {
            if changed {
                metrics::counter!("inspections_assigned_total").increment(1);
                tracing::info!(report_id = %id, inspector_id = %inspection.inspector_id, "inspection assigned");
            }
            Ok(inspection)
        }
        AssignOutcome::NoReport => Err(Problem::not_found("no such report")),
        AssignOutcome::NotAnInspector => Err(Problem::validation(vec![FieldError {
            pointer: "/inspector".into(),
            detail: "no inspector of that name in this station".into(),
        }])),
    }
}

/// `GET /v1/inspections`
#[utoipa::path(get, path = "/v1/inspections", tag = "inspections",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Supervisors: every inspection of the station; inspectors: those assigned to them. Newest first.", body = Vec<InspectionView>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither supervisor nor inspector (devices included)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<axum::Json<Vec<InspectionView>>, Problem> {
    let role = session.user.role;
    if !may_read_inspections(role) {
        return Err(Problem::forbidden(format!(
            "the {role} role may not read inspections"
        )));
    }
    let only = (role == Role::Inspector).then_some(session.user.id);
    let list = state
        .repo
        .inspections(session.user.station_id, only)
        .await?;
    Ok(axum::Json(list.into_iter().map(Into::into).collect()))
}

/// The inspection of a report if the session may see it: supervisors any of
/// the station's, inspectors only their own (others' are "not found").
async fn visible(
    state: &AppState,
    session: &crate::repo::Session,
    id: ReportId,
) -> Result<Inspection, Problem> {
    let not_found = || Problem::not_found("no such inspection");
    let inspection = state
        .repo
        .inspection(session.user.station_id, id)
        .await?
        .ok_or_else(not_found)?;
    if session.user.role == Role::Inspector && inspection.inspector_id != session.user.id {
        return Err(not_found());
    }
    Ok(inspection)
}

/// `GET /v1/inspections/{id}`
#[utoipa::path(get, path = "/v1/inspections/{id}", tag = "inspections",
    params(("id" = String, Path, description = "The report's UUID")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The inspection with its full report (photos at /v1/reports/{id}/photos/{n})", body = InspectionDetail),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither supervisor nor inspector", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No inspection of that report visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
) -> Result<axum::Json<InspectionDetail>, Problem> {
    if !may_read_inspections(session.user.role) {
        return Err(Problem::forbidden(format!(
            "the {} role may not read inspections",
            session.user.role
        )));
    }
    let id = parse_id(&raw_id)?;
    let inspection = visible(&state, &session, id).await?;
    let report = state
        .repo
        .report(session.user.station_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("no such report"))?;
    Ok(axum::Json(InspectionDetail {
        inspection: inspection.into(),
        report: report.into(),
    }))
}

/// `PUT /v1/inspections/{id}/findings`
#[utoipa::path(put, path = "/v1/inspections/{id}/findings", tag = "inspections",
    params(("id" = String, Path, description = "The report's UUID")),
    request_body(content = FindingsRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Recorded (replacing earlier findings); supervisors see an `inspected` feed entry", body = InspectionView),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an inspector", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No inspection of that report assigned to the caller", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Empty or too long findings, unknown outcome, observed in the future", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    Json(request): Json<FindingsRequest>,
) -> Result<axum::Json<InspectionView>, Problem> {
    if !may_record_inspections(session.user.role) {
        return Err(Problem::forbidden(format!(
            "the {} role may not record inspections",
            session.user.role
        )));
    }
    let id = parse_id(&raw_id)?;
    // Access before validation, so an inspector learns nothing about others'
    // inspections from how its input is judged.
    visible(&state, &session, id).await?;
    let now = Utc::now();
    let findings = check_findings(request, now)?;
    let station = session.user.station_id;
    let inspector = session.user.id;
    let actor = Caller::Staff(session).actor();
    let inspection = state
        .repo
        .record_inspection(station, id, inspector, findings, actor, now)
        .await?
        .ok_or_else(|| Problem::not_found("no inspection of this report is assigned to you"))?;
    metrics::counter!("inspections_recorded_total").increment(1);
    tracing::info!(report_id = %id, "inspection findings recorded");
    Ok(axum::Json(inspection.into()))
}
