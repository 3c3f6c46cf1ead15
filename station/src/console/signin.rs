//! Signing in and out of the console, and the language switch. Sign-in is
//! the API's (`open_session`): the same throttle per client address, the same
//! answer for a wrong station, user or password, the same session cookie.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::i18n::Lang;
use super::views::{self, Chrome};
use super::{ConsoleSession, ROOT, csrf, message_page, redirect};
use crate::http::AppState;
use crate::http::ratelimit::ClientIp;
use crate::http::sessions::{SignInRequest, close_session, open_session, session_headers};

/// The sign-in page.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    /// What to say above the form (already in the page's language).
    notice: Option<String>,
    /// Whether the notice is an error.
    failed: bool,
    /// The station code to put back in the form after a failure.
    station: String,
    /// The user name to put back.
    username: String,
}

/// Flags of the sign-in page's address.
#[derive(Debug, Default, Deserialize)]
pub struct SignInFlags {
    expired: Option<String>,
    ended: Option<String>,
}

/// `GET /console/sign-in`
pub async fn form(headers: HeaderMap, Query(flags): Query<SignInFlags>) -> Response {
    let chrome = Chrome::anonymous(&headers, "/console/sign-in");
    let notice = if flags.ended.is_some() {
        Some(chrome.t.get("sign_in.ended").to_owned())
    } else if flags.expired.is_some() {
        Some(chrome.t.get("sign_in.expired").to_owned())
    } else {
        None
    };
    views::page(
        StatusCode::OK,
        &SignInPage {
            chrome,
            notice,
            failed: false,
            station: String::new(),
            username: String::new(),
        },
    )
}

/// The sign-in form's fields, named as the brief asks.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    station: String,
    username: String,
    password: String,
}

/// `POST /console/sign-in`
pub async fn submit(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let chrome = Chrome::anonymous(&headers, "/console/sign-in");
    if csrf::check_origin(&headers).is_err() {
        return message_page(chrome, StatusCode::FORBIDDEN, "error.csrf");
    }
    let (station, username) = (
        form.station.trim().to_owned(),
        form.username.trim().to_owned(),
    );
    let request = SignInRequest {
        station: station.clone(),
        username: username.clone(),
        password: form.password,
    };
    match open_session(&state, ip, request).await {
        Ok(opened) => {
            match session_headers(
                &state,
                &opened.token,
                state.config.session_ttl.num_seconds(),
            ) {
                Ok(headers) => (headers, redirect(ROOT)).into_response(),
                Err(problem) => super::error_page(chrome, &problem),
            }
        }
        Err(problem) => {
            let notice = match problem.status {
                429 => chrome
                    .t
                    .fill("sign_in.throttled", problem.retry_after().unwrap_or(60)),
                401 => chrome.t.get("sign_in.failed").to_owned(),
                _ => return super::error_page(chrome, &problem),
            };
            views::page(
                problem.status_code(),
                &SignInPage {
                    chrome,
                    notice: Some(notice),
                    failed: true,
                    station,
                    username,
                },
            )
        }
    }
}

/// A form with only the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// `POST /console/sign-out`: ends the session and clears the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    let chrome = Chrome::signed_in(&headers, &session, ROOT);
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome, StatusCode::FORBIDDEN, "error.csrf");
    }
    if let Err(problem) = close_session(&state, &session).await {
        return super::error_page(chrome, &problem);
    }
    match session_headers(&state, "", 0) {
        Ok(cleared) => (cleared, redirect("/console/sign-in?ended=1")).into_response(),
        Err(problem) => super::error_page(chrome, &problem),
    }
}

/// The language switch's fields.
#[derive(Debug, Deserialize)]
pub struct LanguageForm {
    lang: String,
    back: Option<String>,
}

/// `POST /console/language`: stores the choice in a cookie and returns to
/// the page (only ever a console page: no open redirect).
pub async fn language(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LanguageForm>,
) -> Response {
    if csrf::check_origin(&headers).is_err() {
        let chrome = Chrome::anonymous(&headers, ROOT);
        return message_page(chrome, StatusCode::FORBIDDEN, "error.csrf");
    }
    let back = form
        .back
        .filter(|b| b.starts_with("/console/") && !b.contains("//") && !b.contains('\\'))
        .unwrap_or_else(|| ROOT.to_owned());
    let lang = Lang::parse(&form.lang).unwrap_or(Lang::Ko);
    match views::lang_cookie(lang, state.config.cookie_secure) {
        Some(cookie) => ([cookie], redirect(&back)).into_response(),
        None => redirect(&back),
    }
}
