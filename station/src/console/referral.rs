//! A report's referral page: refer it to the agency in charge (the proposed
//! agency preselected, the supervisor's own text, the carrier's note shown
//! beside it but never sent), see where its referrals stand, and record the
//! agency's answer by hand.
//!
//! Both forms go through the API's paths ([`crate::http::referrals::refer`]
//! and [`crate::http::referrals::answer`]), so the role rule, the version
//! check and the logging are the API's. A decision made on a report that
//! changed meanwhile comes back with `412` and the form as it was.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::{Catalogue, Lang};
use super::lookup::{parse_id, seen_version};
use super::views::{self, Chrome};
use super::{ConsoleSession, csrf, error_page, message_page, redirect};
use crate::auth::policy::may_refer;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::http::referrals::{AnswerRequest, answer, proposal, refer};
use crate::repo::referrals::{
    MAX_ANSWER_NOTE_CHARS, MAX_REFERRAL_CHARS, referable, today_in_korea,
};
use crate::repo::{Agency, AnswerKind, Delivery, Referral, SendMethod, Session, StoredReport};

/// An agency the form offers.
pub struct AgencyChoice {
    code: String,
    label: String,
    how: String,
    proposed: bool,
    checked: bool,
}

/// An answer the form offers.
pub struct AnswerChoice {
    key: &'static str,
    label: String,
    checked: bool,
}

/// One answer of a referral, as listed.
pub struct AnswerView {
    label: String,
    note: Option<String>,
    day: String,
    by: String,
}

/// One referral, as listed.
pub struct ReferralView {
    agency: String,
    how: String,
    delivery: String,
    text: String,
    by: String,
    when: String,
    overridden: Option<String>,
    answers: Vec<AnswerView>,
    declined: bool,
}

/// The refer form.
pub struct ReferForm {
    agencies: Vec<AgencyChoice>,
    proposed: Option<String>,
    text: String,
}

/// The answer form.
pub struct AnswerForm {
    referral: String,
    agency: String,
    choices: Vec<AnswerChoice>,
    note: String,
    day: String,
    today: String,
}

/// The referral page.
#[derive(Template)]
#[template(path = "referral.html")]
struct ReferralPage {
    chrome: Chrome,
    id: String,
    category: String,
    status_label: String,
    status_class: &'static str,
    version: u64,
    carrier_note: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    conflict: bool,
    referrals: Vec<ReferralView>,
    refer: Option<ReferForm>,
    answer: Option<AnswerForm>,
    max_text: usize,
    max_note: usize,
}

/// What the forms said, to show them again after a refusal.
#[derive(Default)]
struct Draft {
    agency: Option<String>,
    text: String,
    answer: Option<String>,
    note: String,
    day: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    conflict: bool,
}

fn agency_name(t: &Catalogue, ko: &str, en: &str) -> String {
    match t.lang() {
        Lang::En if !en.is_empty() => format!("{en} ({ko})"),
        _ => ko.to_owned(),
    }
}

fn method_text(t: &Catalogue, method: SendMethod) -> String {
    t.get(match method {
        SendMethod::Manual => "referral.method_manual",
        SendMethod::Open311 => "referral.method_open311",
        SendMethod::Email => "referral.method_email",
    })
    .to_owned()
}

fn answer_key(answer: AnswerKind) -> &'static str {
    match answer {
        AnswerKind::Accepted => "referral.answer_accepted",
        AnswerKind::InProgress => "referral.answer_in_progress",
        AnswerKind::Fixed => "referral.answer_fixed",
        AnswerKind::Declined => "referral.answer_declined",
    }
}

fn referral_view(t: &Catalogue, r: &Referral) -> ReferralView {
    ReferralView {
        agency: agency_name(t, &r.agency.name_ko, &r.agency.name_en),
        how: method_text(t, r.send_method),
        delivery: t
            .get(match r.delivery {
                Delivery::Manual => "referral.delivery_manual",
                Delivery::Waiting => "referral.delivery_waiting",
            })
            .to_owned(),
        text: r.text.clone(),
        by: r.created_by.clone(),
        when: views::local(r.created_at),
        overridden: r.overridden.then(|| {
            t.fill(
                "referral.overridden",
                r.proposed_agency.as_deref().unwrap_or("-"),
            )
        }),
        answers: r
            .answers
            .iter()
            .map(|a| AnswerView {
                label: t.get(answer_key(a.answer)).to_owned(),
                note: a.note.clone(),
                day: a.answered_on.format("%Y-%m-%d").to_string(),
                by: a.recorded_by.clone(),
            })
            .collect(),
        declined: r.declined(),
    }
}

/// The report, if `session` may refer it (supervisors of its station).
async fn referable_report(
    state: &AppState,
    session: &Session,
    raw_id: &str,
) -> Result<StoredReport, Problem> {
    if !may_refer(session.user.role) {
        return Err(Problem::forbidden("only supervisors refer reports"));
    }
    let id = parse_id(raw_id)?;
    state
        .repo
        .report(session.user.station_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("no such report"))
}

async fn render(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    report: StoredReport,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let id = report.id;
    let chrome = Chrome::signed_in(headers, session, format!("/console/reports/{id}/referral"));
    let station = session.user.station_id;
    let loaded = tokio::try_join!(
        state.repo.categories(station),
        state.repo.referrals(station, id),
    );
    let (categories, referrals) = match loaded {
        Ok(all) => all,
        Err(e) => return error_page(chrome, &e.into()),
    };
    let (proposed, agencies) = match proposal(state, &report).await {
        Ok(found) => found,
        Err(problem) => return error_page(chrome, &problem),
    };
    let t = chrome.t;
    let open = referrals.iter().find(|r| r.is_open());
    let refer_form = (open.is_none() && referable(&report.status)).then(|| {
        let proposed_code = proposed.as_ref().map(|p| p.agency.code.clone());
        let selected = draft.agency.clone().or_else(|| proposed_code.clone());
        let active: Vec<&Agency> = agencies.iter().filter(|a| a.retired_at.is_none()).collect();
        ReferForm {
            agencies: active
                .iter()
                .map(|a| AgencyChoice {
                    code: a.code.clone(),
                    label: agency_name(t, &a.name_ko, &a.name_en),
                    how: method_text(t, a.send_method),
                    proposed: proposed_code.as_deref() == Some(a.code.as_str()),
                    checked: selected.as_deref() == Some(a.code.as_str()),
                })
                .collect(),
            proposed: proposed
                .as_ref()
                .map(|p| agency_name(t, &p.agency.name_ko, &p.agency.name_en)),
            text: draft.text.clone(),
        }
    });
    let today = today_in_korea(Utc::now()).format("%Y-%m-%d").to_string();
    let answer_form = open.map(|r| AnswerForm {
        referral: r.id.to_string(),
        agency: agency_name(t, &r.agency.name_ko, &r.agency.name_en),
        choices: AnswerKind::ALL
            .iter()
            .filter(|k| !r.answers.iter().any(|a| a.answer == **k))
            .map(|k| AnswerChoice {
                key: k.as_str(),
                label: t.get(answer_key(*k)).to_owned(),
                checked: draft.answer.as_deref() == Some(k.as_str()),
            })
            .collect(),
        note: draft.note.clone(),
        day: draft.day.clone().unwrap_or_else(|| today.clone()),
        today: today.clone(),
    });
    let page = ReferralPage {
        id: id.to_string(),
        category: views::category_name(&categories, report.content.category.as_str(), t.lang()),
        status_label: t.get(views::status_key(&report.status)).to_owned(),
        status_class: views::status_class(&report.status),
        version: report.version,
        carrier_note: report.content.note.as_ref().map(|n| n.as_str().to_owned()),
        notice: draft.notice,
        error: draft.error,
        conflict: draft.conflict,
        referrals: referrals.iter().map(|r| referral_view(t, r)).collect(),
        refer: refer_form,
        answer: answer_form,
        max_text: MAX_REFERRAL_CHARS,
        max_note: MAX_ANSWER_NOTE_CHARS,
        chrome,
    };
    views::page(status, &page)
}

/// Flags of the page's address.
#[derive(Debug, Default, Deserialize)]
pub struct PageFlags {
    done: Option<String>,
}

/// `GET /console/reports/{id}/referral`
pub async fn page(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Query(flags): Query<PageFlags>,
) -> Response {
    match referable_report(&state, &session, &raw_id).await {
        Ok(report) => {
            let t = Lang::of_request(&headers).catalogue();
            let notice = match flags.done.as_deref() {
                Some("referred") => Some(t.get("referral.done_referred").to_owned()),
                Some("answered") => Some(t.get("referral.done_answered").to_owned()),
                _ => None,
            };
            let draft = Draft {
                notice,
                ..Draft::default()
            };
            render(&state, &headers, &session, report, draft, StatusCode::OK).await
        }
        Err(problem) => error_page(Chrome::signed_in(&headers, &session, "/console/"), &problem),
    }
}

/// The refer form's fields.
#[derive(Debug, Deserialize)]
pub struct ReferFields {
    csrf: String,
    version: String,
    #[serde(default)]
    agency: Option<String>,
    #[serde(default)]
    text: String,
}

/// The answer form's fields.
#[derive(Debug, Deserialize)]
pub struct AnswerFields {
    csrf: String,
    version: String,
    referral: String,
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    answered_on: Option<String>,
}

/// What a refusal reads as on the page.
fn refusal(t: &Catalogue, problem: &Problem) -> String {
    let detail = if problem.errors.is_empty() {
        problem.detail.clone()
    } else {
        problem
            .errors
            .iter()
            .map(|e| e.detail.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    t.fill("referral.refused", detail)
}

/// `POST /console/reports/{id}/referral`
pub async fn submit_referral(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<ReferFields>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf");
    }
    let report = match referable_report(&state, &session, &raw_id).await {
        Ok(report) => report,
        Err(problem) => return error_page(chrome(), &problem),
    };
    let seen = match seen_version(chrome(), &form.version) {
        Ok(seen) => seen,
        Err(page) => return *page,
    };
    let id = report.id;
    let agency = form.agency.clone().filter(|a| !a.trim().is_empty());
    match refer(&state, &session, id, agency, &form.text, Some(seen)).await {
        Ok(_) => redirect(&format!("/console/reports/{id}/referral?done=referred")),
        Err(problem) if matches!(problem.status, 409 | 412 | 422) => {
            let t = Lang::of_request(&headers).catalogue();
            let current = match referable_report(&state, &session, &raw_id).await {
                Ok(report) => report,
                Err(problem) => return error_page(chrome(), &problem),
            };
            let draft = Draft {
                agency: form.agency,
                text: form.text,
                conflict: problem.status == 412,
                error: (problem.status != 412).then(|| refusal(t, &problem)),
                ..Draft::default()
            };
            render(
                &state,
                &headers,
                &session,
                current,
                draft,
                problem.status_code(),
            )
            .await
        }
        Err(problem) => error_page(chrome(), &problem),
    }
}

/// `POST /console/reports/{id}/referral/answer`
pub async fn submit_answer(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<AnswerFields>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf");
    }
    let report = match referable_report(&state, &session, &raw_id).await {
        Ok(report) => report,
        Err(problem) => return error_page(chrome(), &problem),
    };
    let (Ok(seen), Ok(referral)) = (
        form.version.trim().parse::<u64>(),
        Uuid::parse_str(form.referral.trim()),
    ) else {
        return message_page(chrome(), StatusCode::BAD_REQUEST, "error.generic");
    };
    let t = Lang::of_request(&headers).catalogue();
    let id = report.id;
    let kind = form.answer.as_deref().and_then(AnswerKind::parse);
    let day = form
        .answered_on
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    let parsed_day = day
        .map(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d"))
        .transpose();
    let request = match (kind, parsed_day) {
        (None, _) => Err(t.get("referral.answer_required").to_owned()),
        (_, Err(_)) => Err(t.get("referral.bad_day").to_owned()),
        (Some(kind), Ok(answered_on)) => Ok(AnswerRequest {
            answer: kind,
            note: Some(form.note.clone()),
            answered_on,
        }),
    };
    // A refusal to show on the page: `None` for a conflict (412).
    let refused: (StatusCode, Option<String>) = match request {
        Err(message) => (StatusCode::UNPROCESSABLE_ENTITY, Some(message)),
        Ok(request) => match answer(&state, &session, referral, request, Some(seen)).await {
            Ok(_) => return redirect(&format!("/console/reports/{id}/referral?done=answered")),
            Err(problem) if problem.status == 412 => (StatusCode::PRECONDITION_FAILED, None),
            Err(problem) if matches!(problem.status, 409 | 422) => {
                (problem.status_code(), Some(refusal(t, &problem)))
            }
            Err(problem) => return error_page(chrome(), &problem),
        },
    };
    let current = match referable_report(&state, &session, &raw_id).await {
        Ok(report) => report,
        Err(problem) => return error_page(chrome(), &problem),
    };
    let draft = Draft {
        answer: form.answer,
        note: form.note,
        day: day.map(str::to_owned),
        conflict: refused.1.is_none(),
        error: refused.1,
        ..Draft::default()
    };
    render(&state, &headers, &session, current, draft, refused.0).await
}
