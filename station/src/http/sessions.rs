//! Staff sign-in and sign-out: password to session token (bearer) and
//! session cookie, and back.

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, SET_COOKIE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::Problem;
use super::ratelimit::ClientIp;
use crate::auth::{
    Role, SESSION_COOKIE, SESSION_TOKEN_PREFIX, StaffCaller, hash_secret, new_token,
    verify_password,
};

/// Body of `POST /v1/sessions`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignInRequest {
    /// Station slug, e.g. `seodaemun`.
    pub station: String,
    /// Username within the station.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A new session. The token is shown this once; the browser gets it as a cookie too.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    /// Bearer token for the tablet app.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// The user's role in the station.
    pub role: Role,
    /// Signed-in username.
    pub username: String,
}

/// Who the current session belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct WhoAmI {
    /// User id.
    pub user_id: Uuid,
    /// Username.
    pub username: String,
    /// Role in the station.
    pub role: Role,
    /// Station id.
    pub station_id: Uuid,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
}

/// The headers of an answer that sets (or, with an empty value and max-age 0,
/// clears) the session cookie: HttpOnly, SameSite=Strict, Secure unless
/// configured off, and never cached.
pub(crate) fn session_headers(
    state: &AppState,
    value: &str,
    max_age_secs: i64,
) -> Result<[(HeaderName, HeaderValue); 2], Problem> {
    let secure = if state.config.cookie_secure {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| Problem::internal())?;
    Ok([
        (SET_COOKIE, cookie),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ])
}

/// `POST /v1/sessions`
#[utoipa::path(post, path = "/v1/sessions", tag = "sessions",
    request_body(content = SignInRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Signed in; also sets the HttpOnly session cookie", body = SessionResponse),
        (status = 401, description = "Wrong station, username or password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<SignInRequest>,
) -> Result<Response, Problem> {
    let opened = open_session(&state, ip, request).await?;
    let headers = session_headers(
        &state,
        &opened.token,
        state.config.session_ttl.num_seconds(),
    )?;
    let body = SessionResponse {
        token: opened.token,
        token_type: "Bearer",
        expires_at: opened.expires_at,
        role: opened.user.role,
        username: opened.user.username,
    };
    Ok((StatusCode::CREATED, headers, axum::Json(body)).into_response())
}

/// A session just opened: its token (shown once), expiry and user.
pub(crate) struct OpenedSession {
    /// The secret token (`pcs_…`), for the cookie or the bearer header.
    pub token: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Who signed in.
    pub user: crate::repo::User,
}

/// Signs a staff member in: the rate limit per client address, the argon2id
/// check (the same answer for a wrong station, user or password), the stored
/// session and its audit row. The API's `POST /v1/sessions` and the review
/// console's sign-in form both go through here, so both are throttled alike.
pub(crate) async fn open_session(
    state: &AppState,
    ip: std::net::IpAddr,
    request: SignInRequest,
) -> Result<OpenedSession, Problem> {
    state.sign_in_limiter.check(ip)?;
    let station = state.repo.station_by_slug(&request.station).await?;
    let credentials = match &station {
        Some(station) => {
            state
                .repo
                .user_credentials(station.id, &request.username)
                .await?
        }
        None => None,
    };
    let stored = credentials.as_ref().map(|c| c.password_hash.clone());
    let password = request.password;
    // argon2 takes tens of milliseconds of CPU: keep it off the async workers.
    let verified =
        tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
            .await
            .map_err(|_| Problem::internal())?;
    let user = match credentials {
        Some(c) if verified => c.user,
        _ => {
            metrics::counter!("sign_in_attempts_total", "outcome" => "refused").increment(1);
            return Err(Problem::invalid_credentials());
        }
    };
    let token = new_token(SESSION_TOKEN_PREFIX);
    let expires_at = Utc::now() + state.config.session_ttl;
    state
        .repo
        .create_session(&hash_secret(&token), &user, expires_at)
        .await?;
    metrics::counter!("sign_in_attempts_total", "outcome" => "signed_in").increment(1);
    tracing::info!(user_id = %user.id, role = %user.role, "staff signed in");
    Ok(OpenedSession {
        token,
        expires_at,
        user,
    })
}

/// `GET /v1/sessions/current`: lets the console check its session (bearer or cookie).
#[utoipa::path(get, path = "/v1/sessions/current", tag = "sessions",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = WhoAmI),
        (status = 401, description = "No valid session", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A device credential, not a session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn current(StaffCaller(session): StaffCaller) -> axum::Json<WhoAmI> {
    axum::Json(WhoAmI {
        user_id: session.user.id,
        username: session.user.username,
        role: session.user.role,
        station_id: session.user.station_id.0,
        expires_at: session.expires_at,
    })
}

/// Ends a session (sign-out), for the API and the console alike.
pub(crate) async fn close_session(
    state: &AppState,
    session: &crate::repo::Session,
) -> Result<(), Problem> {
    let ended = state.repo.end_session(session, Utc::now()).await?;
    if !ended {
        // Another request signed this session out between the check and now.
        return Err(Problem::unauthorized(
            "the session is not valid or has expired",
        ));
    }
    tracing::info!(user_id = %session.user.id, role = %session.user.role, "staff signed out");
    Ok(())
}

/// `DELETE /v1/sessions/current`: signs out. The token (bearer or cookie)
/// stops working at once, so a tablet left on a desk or a shared browser
/// does not stay signed in until the session expires; the browser's cookie
/// is cleared too.
#[utoipa::path(delete, path = "/v1/sessions/current", tag = "sessions",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Signed out; the session cookie is cleared"),
        (status = 401, description = "No valid session (already signed out, or expired)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A device credential, not a session", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn sign_out(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<Response, Problem> {
    close_session(&state, &session).await?;
    let headers = session_headers(&state, "", 0)?;
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}
