//! The review console at `/console/`: server-rendered HTML for supervisors'
//! tablets, served by the station itself on the API's origin with the API's
//! session cookie.
//!
//! It is a client of the API's rules, not a second set: sign-in goes through
//! the API's sign-in (same throttle), decisions through the triage path with
//! its version check ([`crate::http::triage::decide`]), and what each role
//! sees through [`crate::auth::policy`]. One module per job:
//! - [`assets`]: the embedded scripts, style sheets and images, with ETags;
//! - [`i18n`]: Korean and English catalogues and the language choice;
//! - [`csrf`]: the form token and the `Origin` check;
//! - [`signin`]: sign-in, sign-out, language switch;
//! - [`queue`]: the queue, list and map;
//! - [`report`]: one report, decisions and internal notes;
//! - [`lookup`]: finding the report a page or form is about (CSRF first,
//!   then the API's access rule);
//! - [`referral`]: referring a report to an agency and recording its answer;
//! - [`duplicates`]: possible duplicates, the side-by-side comparison and
//!   the merge;
//! - [`inspect`]: sending a report to an inspector from its page;
//! - [`bulk`]: one decision of a bulk run from the queue (the progress and
//!   the summary are `assets/console/bulk.js`'s);
//! - [`statistics`]: the statistics page and the monthly programme report,
//!   with [`charts`] drawn as SVG on the server;
//! - [`exports`]: the queue's "export these reports" (CSV, GeoJSON);
//! - [`views`]: what pages share; templates are in `templates/` (askama,
//!   checked at compile time: a missing field or a typo fails the build).
//!
//! Templates were chosen over maud because the pages are mostly markup that
//! web people should be able to read and edit as HTML, while askama still
//! type-checks every variable and escapes all output by default.

pub mod assets;
mod bulk;
mod charts;
pub mod csrf;
mod duplicates;
mod exports;
pub mod i18n;
mod inspect;
mod lookup;
pub(crate) mod queue;
mod referral;
mod report;
mod signin;
mod statistics;
pub mod views;

use std::time::Instant;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth::Caller;
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::repo::Session;
use views::Chrome;

/// Where the console lives.
pub const ROOT: &str = "/console/";

/// The console's routes, to merge into the station's router.
pub fn router(state: &AppState) -> Router<AppState> {
    let policy = content_security_policy(state.config.console.tile_url.as_deref());
    Router::new()
        .route("/console", get(|| async { redirect(ROOT) }))
        .route("/console/", get(queue::page))
        .route("/console/queue", get(queue::fragment))
        .route("/console/sign-in", get(signin::form).post(signin::submit))
        .route("/console/sign-out", post(signin::sign_out))
        .route("/console/language", post(signin::language))
        .route("/console/reports/{id}", get(report::page))
        .route("/console/reports/{id}/decision", post(report::decide))
        .route("/console/reports/{id}/notes", post(report::add_note))
        .route(
            "/console/reports/{id}/referral",
            get(referral::page).post(referral::submit_referral),
        )
        .route(
            "/console/reports/{id}/referral/answer",
            post(referral::submit_answer),
        )
        .route(
            "/console/reports/{id}/duplicates/{other}",
            get(duplicates::compare),
        )
        .route("/console/reports/{id}/merge", post(duplicates::merge_form))
        .route("/console/bulk/accept", post(bulk::accept))
        .route("/console/reports/{id}/inspection", post(inspect::assign))
        .route("/console/statistics", get(statistics::page))
        .route("/console/statistics/monthly", get(statistics::monthly))
        .route(
            "/console/statistics/monthly.csv",
            get(statistics::monthly_csv),
        )
        .route("/console/export", post(exports::download))
        .route("/console/assets/{*path}", get(assets::serve))
        .layer(axum::middleware::from_fn(move |request, next| {
            let policy = policy.clone();
            security_headers(policy, request, next)
        }))
}

/// The Content-Security-Policy of every console response: only the
/// station's own scripts and styles (no inline script, no inline style
/// attribute), images from the station (and the tile server when one is
/// set), no framing, forms only to the station.
fn content_security_policy(tile_url: Option<&str>) -> HeaderValue {
    let tiles = tile_url
        .and_then(|url| {
            let (scheme, rest) = url.split_once("://")?;
            let host = rest.split('/').next()?;
            // `{s}` subdomains become a wildcard source.
            let host = host.replace("{s}.", "*.");
            Some(format!(" {scheme}://{host}"))
        })
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; \
         connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&policy).unwrap_or(HeaderValue::from_static(
        "default-src 'self'; frame-ancestors 'none'",
    ))
}

/// Adds the security headers to every console response, and `Server-Timing`
/// (how long the station took, for the benchmark and for operators).
async fn security_headers(policy: HeaderValue, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(CONTENT_SECURITY_POLICY, policy);
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if !headers.contains_key(CACHE_CONTROL) {
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    let dur = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(timing) = HeaderValue::from_str(&format!("app;dur={dur:.2}")) {
        headers.insert(HeaderName::from_static("server-timing"), timing);
    }
    response
}

/// A `303 See Other` to `to` (after a form, and to the sign-in page).
pub(crate) fn redirect(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static(ROOT));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// Whether htmx sent the request (it then swaps part of the page).
pub(crate) fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// A signed-in staff member of the console: the API's session (cookie),
/// idle timeout included. Without one, pages redirect to the sign-in form
/// (htmx requests get `HX-Redirect`, so the whole page goes there).
pub struct ConsoleSession(pub Session);

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Caller::from_request_parts(parts, state).await {
            Ok(Caller::Staff(session)) => Ok(Self(session)),
            Ok(Caller::Device(_)) | Err(_) => {
                let to = "/console/sign-in?expired=1";
                if is_htmx(&parts.headers) {
                    Err((
                        StatusCode::UNAUTHORIZED,
                        [(
                            HeaderName::from_static("hx-redirect"),
                            HeaderValue::from_static(to),
                        )],
                    )
                        .into_response())
                } else {
                    Err(redirect(to))
                }
            }
        }
    }
}

/// A page that says what went wrong, in the page's language.
#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct MessagePage {
    chrome: Chrome,
    title: String,
    message: String,
}

/// An error as a console page: the problem's status, with a message from the
/// catalogue (problem details are for API clients and are not shown).
pub(crate) fn error_page(chrome: Chrome, problem: &Problem) -> Response {
    let key = match problem.status {
        403 => "error.forbidden",
        404 => "error.not_found",
        503 | 507 => "error.unavailable",
        _ => "error.generic",
    };
    message_page(chrome, problem.status_code(), key)
}

/// A page with one message from the catalogue.
pub(crate) fn message_page(chrome: Chrome, status: StatusCode, key: &str) -> Response {
    let title = chrome.t.get("error.title").to_owned();
    let message = chrome.t.get(key).to_owned();
    views::page(
        status,
        &MessagePage {
            chrome,
            title,
            message,
        },
    )
}

/// The page for a role the console has nothing for yet.
pub(crate) fn role_page(chrome: Chrome, role: crate::auth::Role) -> Response {
    let title = chrome.t.get("error.title").to_owned();
    let message = chrome.t.fill("error.role", role);
    views::page(
        StatusCode::FORBIDDEN,
        &MessagePage {
            chrome,
            title,
            message,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_only_the_station_and_the_tile_server() {
        let none = content_security_policy(None);
        let none = none.to_str().expect("text");
        assert!(none.contains("script-src 'self';"));
        assert!(none.contains("frame-ancestors 'none'"));
        assert!(!none.contains("unsafe"));
        let tiles = content_security_policy(Some("https://{s}.tiles.example/{z}/{x}/{y}.png"));
        assert!(
            tiles
                .to_str()
                .expect("text")
                .contains("img-src 'self' data: https://*.tiles.example;")
        );
    }
}
