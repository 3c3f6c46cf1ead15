//! "Export these N reports" on the queue: a form under the list, repeating
//! the queue's current filter, posted (with the CSRF token, so the search
//! text never reaches an address) to [`download`], which answers with the
//! CSV or GeoJSON file ([`crate::http::exports::export`], the API's too).

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::views::Chrome;
use super::{ConsoleSession, csrf, error_page, message_page};
use crate::http::AppState;
use crate::http::exports::{ExportFormat, ExportOptions, export};
use crate::http::problem::Problem;
use crate::queue_filter::QueueParams;

/// The export form under the queue's list.
pub struct ExportForm {
    /// "Export these N reports".
    pub(crate) label: String,
    /// How many reports match.
    pub(crate) count: u64,
    /// The filter's fields, as hidden inputs.
    pub(crate) fields: Vec<(&'static str, String)>,
}

impl ExportForm {
    /// The form for the queue's `params`, matching `count` reports.
    pub fn new(chrome: &Chrome, params: &QueueParams, count: u64) -> Self {
        Self {
            label: chrome.t.fill("export.these", count),
            count,
            fields: params.export_fields(),
        }
    }
}

/// The posted form: the token, the format, what to leave out, the filter.
#[derive(Debug, Deserialize)]
pub struct ExportRequest {
    csrf: String,
    format: String,
    #[serde(default)]
    omit_notes: Option<String>,
    #[serde(default)]
    omit_labels: Option<String>,
    #[serde(flatten)]
    params: QueueParams,
}

/// `POST /console/export`: the file, or a page saying why not.
pub async fn download(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Form(form): Form<ExportRequest>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, form.params.address_at(super::ROOT));
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf");
    }
    let Some(format) = ExportFormat::parse(&form.format) else {
        return error_page(
            chrome(),
            &Problem::bad_request("format must be csv or geojson"),
        );
    };
    let options = ExportOptions {
        notes: form.omit_notes.is_none(),
        labels: form.omit_labels.is_none(),
    };
    match export(&state, &session, &form.params, format, options).await {
        Ok(response) => response,
        Err(problem) if problem.status == 400 => {
            message_page(chrome(), StatusCode::BAD_REQUEST, "export.too_many")
        }
        Err(problem) => error_page(chrome(), &problem),
    }
}
