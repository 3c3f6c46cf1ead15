//! Triage: a supervisor sets a report's review status, with a reason the
//! carrier can read. Each decision writes an audit row and a feed entry in
//! the same transaction.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::ETAG;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use postcso_model::{ReportId, ReviewStatus};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use super::reports::ReportView;
use crate::auth::Caller;
use crate::auth::StaffCaller;
use crate::auth::policy::may_triage;

/// Longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// The statuses a supervisor may set, spelled as `ReviewStatus` spells them.
/// `merged` is not one: a merge names the report merged into, and goes
/// through `POST /v1/reports/{id}/merge` ([`super::merges`]).
const SETTABLE: [ReviewStatus; 5] = [
    ReviewStatus::Accepted,
    ReviewStatus::Rejected,
    ReviewStatus::Inspecting,
    ReviewStatus::Referred,
    ReviewStatus::Fixed,
];

/// Body of `PATCH /v1/reports/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TriageRequest {
    /// `accepted`, `rejected`, `inspecting`, `referred` or `fixed` (a merge
    /// is `POST /v1/reports/{id}/merge`). Any of them takes a merged report
    /// back out of its merge.
    #[schema(example = "accepted")]
    pub status: String,
    /// Why; required for `rejected` (the carrier reads it). At most 500 characters.
    pub reason: Option<String>,
}

/// The triage rules on a decision's fields: a status a supervisor may set,
/// and a reason (required for a rejection) within limits. The console's
/// forms go through this too.
pub(crate) fn check(request: TriageRequest) -> Result<(ReviewStatus, Option<String>), Problem> {
    let mut errors = Vec::new();
    let status = ReviewStatus::from(request.status);
    if !SETTABLE.contains(&status) {
        errors.push(FieldError {
            pointer: "/status".into(),
            detail: if status == ReviewStatus::Merged {
                "merge with POST /v1/reports/{id}/merge, which names the report to merge into"
                    .into()
            } else {
                "must be one of accepted, rejected, inspecting, referred, fixed".into()
            },
        });
    }
    let reason = check_reason(request.reason, &mut errors);
    if reason.is_none() && status == ReviewStatus::Rejected {
        errors.push(FieldError {
            pointer: "/reason".into(),
            detail: "a rejection needs a reason the carrier can read".into(),
        });
    }
    if errors.is_empty() {
        Ok((status, reason))
    } else {
        Err(Problem::validation(errors))
    }
}

/// The rules on a message the carrier reads (a decision's reason, a
/// merge's message): trimmed, empty is none, at most [`MAX_REASON_CHARS`]
/// characters, no control characters but line breaks. Faults are added to
/// `errors` at `/reason`.
pub(crate) fn check_reason(reason: Option<String>, errors: &mut Vec<FieldError>) -> Option<String> {
    let reason = reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty())?;
    if reason.chars().count() > MAX_REASON_CHARS {
        errors.push(FieldError {
            pointer: "/reason".into(),
            detail: format!("at most {MAX_REASON_CHARS} characters"),
        });
    } else if reason.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError {
            pointer: "/reason".into(),
            detail: "no control characters except line breaks".into(),
        });
    }
    Some(reason)
}

/// `PATCH /v1/reports/{id}`
#[utoipa::path(patch, path = "/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The report's UUID")),
    request_body(content = TriageRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The report after the decision (unchanged and unaudited when it already had this status and reason)", body = ReportView),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (devices included)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in the station", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version the report is no longer at (someone else decided meanwhile): nothing changed; read it again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, missing reason for a rejection, reason too long", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn triage(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<TriageRequest>,
) -> Result<Response, Problem> {
    refuse_unless_triager(&session)?;
    let id = ReportId::parse(&raw_id)
        .map_err(|_| Problem::invalid_id("the report id in the path must be a UUID"))?;
    let (status, reason) = check(request)?;
    let seen = super::versions::if_match(&headers)?;
    let change = decide(&state, &session, id, status, reason, seen).await?;
    let etag = super::versions::etag(change.report.version);
    Ok(([(ETAG, etag)], axum::Json(ReportView::from(change.report))).into_response())
}

/// 403 unless the session's role may triage ([`may_triage`]).
pub(crate) fn refuse_unless_triager(session: &crate::repo::Session) -> Result<(), Problem> {
    if may_triage(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not triage reports",
            session.user.role
        )))
    }
}

/// A supervisor's decision on a report, made on version `seen` if given:
/// the one path every triage takes, the API's and the review console's, so
/// both apply the same role rule, the same storage rule (the version check
/// included) and the same logging. The fields were checked by [`check`].
pub(crate) async fn decide(
    state: &AppState,
    session: &crate::repo::Session,
    id: ReportId,
    status: ReviewStatus,
    reason: Option<String>,
    seen: Option<u64>,
) -> Result<crate::repo::StatusChange, Problem> {
    refuse_unless_triager(session)?;
    let station = session.user.station_id;
    let actor = Caller::Staff(session.clone()).actor();
    let change = state
        .repo
        .set_report_status(station, id, status, reason, seen, actor, Utc::now())
        .await?
        .ok_or_else(|| Problem::not_found("no such report"))?;
    if change.changed {
        metrics::counter!("report_triage_total", "status" => change.report.status.as_str().to_owned())
            .increment(1);
        tracing::info!(report_id = %id, from = change.before.as_str(), to = change.report.status.as_str(), "report triaged");
    }
    Ok(change)
}
