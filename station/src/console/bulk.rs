//! Bulk decisions from the queue: the page's script (`assets/console/bulk.js`)
//! asks for one decision per selected report, each on the version its row
//! showed, and counts the answers into its progress bar and summary. One
//! request per report, so progress is real and a report someone changed
//! meanwhile is skipped alone (`412`, never overwritten) while the others
//! go through. Each decision takes the triage path of the API and of the
//! report page ([`crate::http::triage::decide`]), CSRF and `Origin` checked.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use postcso_model::ReviewStatus;
use serde::{Deserialize, Serialize};

use super::lookup::{parse_id, readable};
use super::{ConsoleSession, csrf};
use crate::http::AppState;
use crate::http::triage::decide;

/// One bulk decision's fields.
#[derive(Debug, Deserialize)]
pub struct BulkForm {
    csrf: String,
    /// The report.
    id: String,
    /// The version its row showed.
    version: String,
}

/// What became of one report of the run.
#[derive(Debug, Serialize)]
struct BulkAnswer {
    /// The report.
    id: String,
    /// `accepted`, `unchanged` (it already was), `skipped` (changed since
    /// the list was loaded) or `failed`.
    outcome: &'static str,
    /// Its status after the attempt, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

fn answer(code: StatusCode, id: &str, outcome: &'static str, status: Option<String>) -> Response {
    let body = BulkAnswer {
        id: id.to_owned(),
        outcome,
        status,
    };
    (code, axum::Json(body)).into_response()
}

/// `POST /console/bulk/accept`: accepts one report on the version its row showed.
pub async fn accept(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Form(form): Form<BulkForm>,
) -> Response {
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return answer(StatusCode::FORBIDDEN, &form.id, "failed", None);
    }
    let Ok(seen) = form.version.trim().parse::<u64>() else {
        return answer(StatusCode::BAD_REQUEST, &form.id, "failed", None);
    };
    let id = match parse_id(&form.id) {
        Ok(id) => id,
        Err(problem) => return answer(problem.status_code(), &form.id, "failed", None),
    };
    if let Err(problem) = readable(&state, &session, id).await {
        return answer(problem.status_code(), &form.id, "failed", None);
    }
    match decide(
        &state,
        &session,
        id,
        ReviewStatus::Accepted,
        None,
        Some(seen),
    )
    .await
    {
        Ok(change) => {
            let outcome = if change.changed {
                "accepted"
            } else {
                "unchanged"
            };
            let status = Some(change.report.status.as_str().to_owned());
            answer(StatusCode::OK, &form.id, outcome, status)
        }
        Err(problem) if problem.status == 412 => {
            answer(StatusCode::PRECONDITION_FAILED, &form.id, "skipped", None)
        }
        Err(problem) => answer(problem.status_code(), &form.id, "failed", None),
    }
}
