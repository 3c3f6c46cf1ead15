//! Sending a report to an inspector from its page: the API's assignment
//! ([`crate::http::inspections::assign_for`]), on the version the page
//! showed; when the report changed meanwhile, the page comes back with
//! `412`, what changed, and the choice kept, as for any decision.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::i18n::Lang;
use super::lookup::{posted_report, readable, seen_version};
use super::report::{Draft, render};
use super::views::Chrome;
use super::{ConsoleSession, error_page, redirect};
use crate::http::AppState;
use crate::http::inspections::assign_for;

/// The assignment form's fields.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    csrf: String,
    /// The version the page showed.
    version: String,
    /// The last history entry the page showed.
    #[serde(default)]
    seen_seq: Option<String>,
    /// The inspector's username.
    #[serde(default)]
    inspector: Option<String>,
}

/// `POST /console/reports/{id}/inspection`
pub async fn assign(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<AssignForm>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    let report = match posted_report(&state, &headers, &session, &form.csrf, &raw_id).await {
        Ok(report) => report,
        Err(page) => return page,
    };
    let id = report.id;
    let seen = match seen_version(chrome(), &form.version) {
        Ok(seen) => seen,
        Err(page) => return *page,
    };
    let t = Lang::of_request(&headers).catalogue();
    let inspector = form.inspector.unwrap_or_default();
    let mut draft = Draft {
        inspector: Some(inspector.clone()).filter(|i| !i.is_empty()),
        ..Draft::default()
    };
    if inspector.trim().is_empty() {
        draft.error = Some(t.get("inspect.pick").to_owned());
        return render(
            &state,
            &headers,
            &session,
            report,
            draft,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    match assign_for(&state, &session, id, &inspector, Some(seen)).await {
        Ok(_) => redirect(&format!("/console/reports/{id}?done=1")),
        Err(problem) if problem.status == 412 => {
            let current = match readable(&state, &session, id).await {
                Ok(report) => report,
                Err(problem) => return error_page(chrome(), &problem),
            };
            let seen_seq = form
                .seen_seq
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            draft.conflict = Some((seen_seq, t.fill("inspect.decision", &inspector)));
            render(
                &state,
                &headers,
                &session,
                current,
                draft,
                StatusCode::PRECONDITION_FAILED,
            )
            .await
        }
        Err(problem) if problem.status == 422 => {
            draft.error = Some(t.get("inspect.pick").to_owned());
            render(
                &state,
                &headers,
                &session,
                report,
                draft,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(problem) => error_page(chrome(), &problem),
    }
}
