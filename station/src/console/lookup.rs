//! Finding the report a console page or form is about, under the API's
//! access rules: every page and form of one report starts here, so none of
//! them can skip the CSRF check or read what its role may not.

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use postcso_model::ReportId;

use super::views::Chrome;
use super::{csrf, error_page, message_page};
use crate::auth::Caller;
use crate::auth::policy::{ReportAccess, report_access};
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::repo::{Session, StoredReport};

pub(super) fn parse_id(raw: &str) -> Result<ReportId, Problem> {
    ReportId::parse(raw).map_err(|_| Problem::not_found("no such report"))
}

/// The first steps of every form posted about one report: the CSRF token
/// (else a 403 page), then the report named in the path if `session` may
/// read it in full (else the 404 page), so that no form skips either.
pub(super) async fn posted_report(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    csrf_token: &str,
    raw_id: &str,
) -> Result<StoredReport, Response> {
    let chrome = || Chrome::signed_in(headers, session, "/console/");
    if csrf::check(headers, session, csrf_token).is_err() {
        return Err(message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf"));
    }
    let id = parse_id(raw_id).map_err(|problem| error_page(chrome(), &problem))?;
    readable(state, session, id)
        .await
        .map_err(|problem| error_page(chrome(), &problem))
}

/// The report version a form was filled on, or the page for a form that
/// lost it (only a tampered form does).
pub(super) fn seen_version(chrome: Chrome, raw: &str) -> Result<u64, Box<Response>> {
    raw.trim().parse().map_err(|_| {
        Box::new(message_page(
            chrome,
            StatusCode::BAD_REQUEST,
            "error.generic",
        ))
    })
}

/// The report if `session` may read it in full (the API's rule), else 404.
pub(super) async fn readable(
    state: &AppState,
    session: &Session,
    id: ReportId,
) -> Result<StoredReport, Problem> {
    let caller = Caller::Staff(session.clone());
    let report = state
        .repo
        .report(session.user.station_id, id)
        .await?
        .ok_or_else(|| Problem::not_found("no such report"))?;
    let assigned = crate::http::access::assigned_inspector(state, &caller, &report).await?;
    match report_access(&caller, &report, assigned) {
        ReportAccess::Full => Ok(report),
        ReportAccess::StatusOnly | ReportAccess::Hidden => {
            Err(Problem::not_found("no such report"))
        }
    }
}
