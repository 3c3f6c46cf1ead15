//! Referral of a report to the agency in charge, and the agency's answers.
//!
//! A supervisor refers a report with a text of their own (the carrier's note
//! is never copied in); the agency defaults to the one the routing rules
//! propose, and choosing another is recorded as an override. The report
//! becomes `referred` and the carrier's phone receives the line
//! "서대문구청에 이관되었습니다" through the changes feed. Until the Open311
//! and e-mail senders exist, referrals by those methods wait to be sent
//! (`delivery: waiting`); `manual` ones have nothing to send. The agency's
//! answers are recorded by hand, each once: `fixed` closes the report with
//! the note the carrier reads, `declined` sends it back to the queue.
//!
//! The console goes through [`refer`] and [`answer`] too, so both apply the
//! same role rule, version check and logging.

use axum::extract::{Path, State};
use axum::http::header::ETAG;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use postcso_model::ReportId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem, ProblemType};
use super::reports::ReportView;
use crate::auth::Caller;
use crate::auth::StaffCaller;
use crate::auth::policy::may_refer;
use crate::repo::agencies::propose;
use crate::repo::referrals::{
    MAX_ANSWER_NOTE_CHARS, MAX_REFERRAL_CHARS, clean_text, today_in_korea,
};
use crate::repo::{
    Agency, AnswerKind, AnswerOutcome, NewAnswer, NewReferral, ReferOutcome, Referral, RoutingRule,
    Session, StoredReport,
};

/// Body of `POST /v1/reports/{id}/referrals`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferRequest {
    /// The agency's code; the proposed one when absent.
    #[schema(example = "seodaemun-gu-office")]
    pub agency: Option<String>,
    /// The supervisor's referral text for the agency, 1-4000 characters (the
    /// carrier's note is not sent unless copied here).
    pub text: String,
}

/// Body of `POST /v1/referrals/{id}/answers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    /// `accepted`, `in_progress`, `fixed` or `declined`.
    pub answer: AnswerKind,
    /// What the agency said, at most 400 characters; for `fixed` the carrier
    /// reads it ("12월 12일 조치 완료: 보안등 교체").
    pub note: Option<String>,
    /// The day the agency answered (or fixed it), `YYYY-MM-DD`; today in
    /// Korea when absent; not in the future.
    pub answered_on: Option<NaiveDate>,
}

/// The agency the routing rules propose for a report, and the rule.
#[derive(Debug, Serialize, ToSchema)]
pub struct Proposal {
    /// The agency.
    pub agency: Agency,
    /// The first matching rule.
    pub rule: RoutingRule,
}

/// `GET /v1/reports/{id}/referrals`
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralsView {
    /// What the routing rules propose now, if anything.
    pub proposal: Option<Proposal>,
    /// The report's referrals, oldest first, with the agencies' answers.
    pub referrals: Vec<Referral>,
}

/// A referral or an answer, with the report after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReferralResult {
    /// The referral now.
    pub referral: Referral,
    /// The report now (`ETag` carries its version).
    pub report: ReportView,
}

fn refuse_unless_referrer(session: &Session) -> Result<(), Problem> {
    if may_refer(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not refer reports",
            session.user.role
        )))
    }
}

fn parse_report_id(raw: &str) -> Result<ReportId, Problem> {
    ReportId::parse(raw)
        .map_err(|_| Problem::invalid_id("the report id in the path must be a UUID"))
}

fn field(pointer: &str, detail: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError {
        pointer: pointer.into(),
        detail: detail.into(),
    }])
}

fn conflict(detail: impl Into<String>) -> Problem {
    Problem::conflict(ProblemType::Conflict, "Conflict", detail)
}

/// What the routing rules propose for `report`, with the station's agencies.
pub(crate) async fn proposal(
    state: &AppState,
    report: &StoredReport,
) -> Result<(Option<Proposal>, Vec<Agency>), Problem> {
    let station = report.station_id;
    let (rules, agencies) = tokio::try_join!(
        state.repo.routing_rules(station),
        state.repo.agencies(station)
    )?;
    let proposed = propose(
        &rules,
        &agencies,
        report.content.category.as_str(),
        report.placement.as_ref(),
    )
    .map(|(agency, rule)| Proposal {
        agency: agency.clone(),
        rule,
    });
    Ok((proposed, agencies))
}

async fn report_of(
    state: &AppState,
    session: &Session,
    id: ReportId,
) -> Result<StoredReport, Problem> {
    state
        .repo
        .report(session.user.station_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("no such report"))
}

/// A supervisor's referral of report `id` to `agency` (the proposed one when
/// `None`), made on version `seen` if given: the one path the API and the
/// console take.
pub(crate) async fn refer(
    state: &AppState,
    session: &Session,
    id: ReportId,
    agency: Option<String>,
    raw_text: &str,
    seen: Option<u64>,
) -> Result<(Referral, StoredReport), Problem> {
    refuse_unless_referrer(session)?;
    let report = report_of(state, session, id).await?;
    let text =
        clean_text(raw_text, MAX_REFERRAL_CHARS).map_err(|e| field("/text", e.to_string()))?;
    let (proposed, _) = proposal(state, &report).await?;
    let chosen = agency
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .or_else(|| proposed.as_ref().map(|p| p.agency.code.clone()))
        .ok_or_else(|| {
            field(
                "/agency",
                "no routing rule proposes an agency for this report; name one",
            )
        })?;
    let new = NewReferral {
        report: id,
        agency_code: chosen,
        proposed: proposed.as_ref().map(|p| p.agency.id),
        text,
        if_version: seen,
    };
    let actor = Caller::Staff(session.clone()).actor();
    match state
        .repo
        .refer_report(session.user.station_id, new, actor, Utc::now())
        .await?
    {
        ReferOutcome::Referred { referral, report } => {
            metrics::counter!("referrals_total", "method" => referral.send_method.as_str())
                .increment(1);
            tracing::info!(
                report_id = %id,
                referral_id = %referral.id,
                agency = %referral.agency.code,
                overridden = referral.overridden,
                "report referred"
            );
            Ok((*referral, *report))
        }
        ReferOutcome::NoReport => Err(Problem::not_found("no such report")),
        ReferOutcome::NoAgency => Err(field("/agency", "no agency of that code in this station")),
        ReferOutcome::AgencyRetired => Err(field(
            "/agency",
            "the agency is retired and takes no new referrals",
        )),
        ReferOutcome::NotReferable(status) => Err(conflict(format!(
            "a {} report cannot be referred",
            status.as_str()
        ))),
        ReferOutcome::AlreadyReferred(open) => Err(conflict(format!(
            "the report is referred to {} already; record the agency's answer first",
            open.agency.code
        ))),
    }
}

/// Records the agency's answer to referral `id`: the one path the API and
/// the console take.
pub(crate) async fn answer(
    state: &AppState,
    session: &Session,
    id: Uuid,
    request: AnswerRequest,
    seen: Option<u64>,
) -> Result<(Referral, StoredReport), Problem> {
    refuse_unless_referrer(session)?;
    let station = session.user.station_id;
    let now = Utc::now();
    let note = match request
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(raw) => Some(
            clean_text(raw, MAX_ANSWER_NOTE_CHARS).map_err(|e| field("/note", e.to_string()))?,
        ),
        None => None,
    };
    let today = today_in_korea(now);
    let answered_on = request.answered_on.unwrap_or(today);
    if answered_on > today {
        return Err(field("/answered_on", "cannot be in the future"));
    }
    let new = NewAnswer {
        answer: request.answer,
        note,
        answered_on,
        if_version: seen,
    };
    let actor = Caller::Staff(session.clone()).actor();
    match state
        .repo
        .record_answer(station, id, new, actor, now)
        .await?
    {
        AnswerOutcome::Recorded { referral, report } => {
            metrics::counter!("referral_answers_total", "answer" => request.answer.as_str())
                .increment(1);
            tracing::info!(referral_id = %id, answer = request.answer.as_str(), "referral answered");
            Ok((*referral, *report))
        }
        AnswerOutcome::NoReferral => Err(Problem::not_found("no such referral")),
        AnswerOutcome::Closed => Err(conflict(
            "the referral is closed (fixed or declined); refer the report again",
        )),
        AnswerOutcome::AlreadyAnswered => Err(conflict(format!(
            "the answer `{}` is recorded already; each is recorded once",
            request.answer.as_str()
        ))),
    }
}

fn result(status: StatusCode, referral: Referral, report: StoredReport) -> Response {
    let etag = super::versions::etag(report.version);
    (
        status,
        [(ETAG, etag)],
        axum::Json(ReferralResult {
            referral,
            report: report.into(),
        }),
    )
        .into_response()
}

/// `POST /v1/reports/{id}/referrals`
#[utoipa::path(post, path = "/v1/reports/{id}/referrals", tag = "referrals",
    params(("id" = String, Path, description = "The report's UUID")),
    request_body(content = ReferRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Referred: the report is `referred` and the carrier's phone gets \"<agency>에 이관되었습니다\". `delivery` is `manual` (nothing to send) or `waiting` (Open311 and e-mail: waiting to be sent). Another agency than the proposed one is audited as an override", body = ReferralResult),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor (devices, carriers, inspectors, admins)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in the station", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The report is rejected, merged or fixed, or has an open referral", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version the report is no longer at: nothing changed", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No text, or too long; an unknown or retired agency; no agency given and none proposed", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<ReferRequest>,
) -> Result<Response, Problem> {
    refuse_unless_referrer(&session)?;
    let id = parse_report_id(&raw_id)?;
    let seen = super::versions::if_match(&headers)?;
    let (referral, report) =
        refer(&state, &session, id, request.agency, &request.text, seen).await?;
    Ok(result(StatusCode::CREATED, referral, report))
}

/// `GET /v1/reports/{id}/referrals`
#[utoipa::path(get, path = "/v1/reports/{id}/referrals", tag = "referrals",
    params(("id" = String, Path, description = "The report's UUID")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The agency the routing rules propose now, and the report's referrals with their answers", body = ReferralsView),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report in the station", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
) -> Result<axum::Json<ReferralsView>, Problem> {
    refuse_unless_referrer(&session)?;
    let id = parse_report_id(&raw_id)?;
    let report = report_of(&state, &session, id).await?;
    let (proposal, _) = proposal(&state, &report).await?;
    let referrals = state.repo.referrals(session.user.station_id, id).await?;
    Ok(axum::Json(ReferralsView {
        proposal,
        referrals,
    }))
}

/// `POST /v1/referrals/{id}/answers`
#[utoipa::path(post, path = "/v1/referrals/{id}/answers", tag = "referrals",
    params(("id" = String, Path, description = "The referral's UUID")),
    request_body(content = AnswerRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Recorded. `accepted` and `in_progress` keep the report `referred`; `fixed` makes it `fixed` with the note (\"12월 12일 조치 완료: …\"); `declined` sends it back to the queue (`accepted`, the referral flagged declined). The carrier's phone gets each line", body = ReferralResult),
        (status = 400, description = "Malformed JSON or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such referral in the station", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "This answer is recorded already, or the referral is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "`If-Match` names a version the report is no longer at", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown answer, note too long, a day in the future", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    Json(request): Json<AnswerRequest>,
) -> Result<Response, Problem> {
    refuse_unless_referrer(&session)?;
    let id = Uuid::parse_str(&raw_id)
        .map_err(|_| Problem::invalid_id("the referral id in the path must be a UUID"))?;
    let seen = super::versions::if_match(&headers)?;
    let (referral, report) = answer(&state, &session, id, request, seen).await?;
    Ok(result(StatusCode::CREATED, referral, report))
}
