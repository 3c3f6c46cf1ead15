//! `POST /v1/reports/{id}/merge`: a supervisor folds a duplicate into the
//! report already being handled, in one step. The rules are
//! [`crate::repo::merges`]'s; this module maps them to HTTP, and [`merge`] is
//! the one path both the API and the review console take.

use axum::extract::{Path, State};
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use postcso_model::ReportId;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{Problem, ProblemType};
use super::reports::ReportView;
use super::triage::{check_reason, refuse_unless_triager};
use crate::auth::{Caller, StaffCaller};
use crate::console::i18n::Lang;
use crate::repo::{MergeOutcome, MergeRefusal, Session, StatusChange};

/// The catalogue key of the message a merged report's carrier reads when the
/// supervisor writes none: "merged into a report already being handled". The
/// carrier is sent the Korean wording (carriers' phones are Korean), as with
/// rejection templates; the console shows English-speaking staff the English.
pub const MERGED_MESSAGE_KEY: &str = "merge.carrier_message";

/// Body of `POST /v1/reports/{id}/merge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The report to keep: the one already being handled, of the same station.
    pub into: Uuid,
    /// The message the merged report's carrier reads; by default "이미 처리
    /// 중인 신고에 병합되었습니다." (merged into a report already being
    /// handled). At most 500 characters.
    pub reason: Option<String>,
}

/// The merge's problems, typed.
fn refusal_problem(refusal: MergeRefusal) -> Problem {
    match refusal {
        MergeRefusal::NotFound => Problem::not_found("no such report"),
        MergeRefusal::Stale { current } => Problem::stale(current),
        MergeRefusal::IntoItself => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::MergeIntoSelf,
            "Cannot merge a report into itself",
            "`into` names the report being merged; name the report to keep",
        ),
        MergeRefusal::TargetUnknown => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ProblemType::MergeTargetUnknown,
            "No such report to merge into",
            "`into` names no report of this station",
        ),
        MergeRefusal::TargetMerged(next) => Problem::new(
            StatusCode::CONFLICT,
            ProblemType::MergeTargetMerged,
            "The report to merge into was itself merged",
            format!("that report was merged into {next}; merge into that one"),
        ),
        MergeRefusal::AlreadyMerged(into) => Problem::new(
            StatusCode::CONFLICT,
            ProblemType::AlreadyMerged,
            "The report is already merged",
            format!("it was merged into {into}; decide on it again first to take it out"),
        ),
    }
}

/// Merges report `id` into `into` for `session`, made on version `seen` if
/// given, with the carrier's message `reason` (checked; the default when
/// none): the one path the API and the console take, with the same role
/// rule, storage rules and logging.
pub(crate) async fn merge(
    state: &AppState,
    session: &Session,
    id: ReportId,
    into: ReportId,
    reason: Option<String>,
    seen: Option<u64>,
) -> Result<StatusChange, Problem> {
    refuse_unless_triager(session)?;
    let mut errors = Vec::new();
    let reason = check_reason(reason, &mut errors)
        .unwrap_or_else(|| Lang::Ko.catalogue().get(MERGED_MESSAGE_KEY).to_owned());
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let actor = Caller::Staff(session.clone()).actor();
    let outcome = state
        .repo
        .merge_report(
            session.user.station_id,
            id,
            into,
            reason,
            seen,
            actor,
            Utc::now(),
        )
        .await?;
    match outcome {
        MergeOutcome::Merged(change) => {
            if change.changed {
                metrics::counter!("report_merge_total").increment(1);
                tracing::info!(report_id = %id, into = %into, "report merged");
            }
            Ok(*change)
        }
        MergeOutcome::Refused(refusal) => Err(refusal_problem(refusal)),
    }
}

/// `POST /v1/reports/{id}/merge`
#[utoipa::path(post, path = "/v1/reports/{id}/merge", tag = "reports",
    params(
        ("id" = String, Path, description = "The report to merge (the duplicate)"),
        ("If-Match" = Option<String>, Header, description = "The `ETag` of the report to merge as read; the merge is refused with 412 if it changed since"),
    ),
    request_body(content = MergeRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The merged report: status `merged`, `merged_into` the kept report, the carrier's message as `status_reason` (its carrier reads both through the changes feed). The kept report lists its photos under `related_photos`; its own content is unchanged. Repeating a merge changes nothing", body = ReportView),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (devices included)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in the station", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report is already merged into another report (`/problems/already-merged`), or the report to merge into was itself merged (`/problems/merge-target-merged`, the detail names where it went)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version the report is no longer at: nothing changed; read it again", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`into` is the report itself (`/problems/merge-into-self`) or no report of this station (`/problems/merge-target-unknown`, other stations' reports included), or the message breaks the rules (`/problems/validation`)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn merge_report(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<MergeRequest>,
) -> Result<Response, Problem> {
    refuse_unless_triager(&session)?;
    let id = ReportId::parse(&raw_id)
        .map_err(|_| Problem::invalid_id("the report id in the path must be a UUID"))?;
    let seen = super::versions::if_match(&headers)?;
    let into = ReportId::from(request.into);
    let change = merge(&state, &session, id, into, request.reason, seen).await?;
    let etag = super::versions::etag(change.report.version);
    Ok(([(ETAG, etag)], axum::Json(ReportView::from(change.report))).into_response())
}
