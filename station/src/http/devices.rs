//! Device enrolment: a phone trades a one-time code for its credential.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postcso_model::CategoryInfo;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem, ProblemType};
use super::ratelimit::ClientIp;
use crate::auth::{DEVICE_TOKEN_PREFIX, hash_secret, new_token, normalise_enrolment_code};
use crate::repo::RedeemOutcome;

/// Body of `POST /v1/devices/enrol`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct EnrolRequest {
    /// The one-time code as printed or scanned; case, spaces and dashes do not matter.
    pub code: String,
}

/// The station as a device sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct StationView {
    /// Short name.
    pub slug: String,
    /// Display name.
    pub name: String,
}

/// Answer to a successful enrolment. The token is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrolResponse {
    /// The new device's id.
    pub device_id: Uuid,
    /// Label printed with the code (e.g. `carrier-007`).
    pub label: String,
    /// Bearer credential for every later request; store it in the platform keystore.
    pub token: String,
    /// When the device was enrolled.
    pub enrolled_at: DateTime<Utc>,
    /// The station it now belongs to.
    pub station: StationView,
    /// The station's categories with guidance, so the phone can report offline at once.
    #[schema(value_type = Vec<super::openapi::CategoryDoc>)]
    pub categories: Vec<CategoryInfo>,
}

/// `POST /v1/devices/enrol`
#[utoipa::path(post, path = "/v1/devices/enrol", tag = "devices",
    request_body(content = EnrolRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Enrolled; the token is shown only now", body = EnrolResponse),
        (status = 401, description = "No such code", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code was used before", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The code expired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No code in the body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many attempts from this address", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn enrol(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Json(request): Json<EnrolRequest>,
) -> Result<Response, Problem> {
    state.enrol_limiter.check(ip)?;
    let code = normalise_enrolment_code(&request.code);
    if code.is_empty() {
        return Err(Problem::validation(vec![FieldError {
            pointer: "/code".into(),
            detail: "the enrolment code is empty".into(),
        }]));
    }
    let token = new_token(DEVICE_TOKEN_PREFIX);
    let outcome = state
        .repo
        .redeem_enrolment_code(&hash_secret(&code), &hash_secret(&token), Utc::now())
        .await?;
    metrics::counter!("enrolment_attempts_total", "outcome" => outcome_label(&outcome))
        .increment(1);
    let (device, station) = match outcome {
        RedeemOutcome::Enrolled(device, station) => (device, station),
        RedeemOutcome::Unknown => {
            return Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                ProblemType::EnrolmentCodeInvalid,
                "Enrolment code not valid",
                "this enrolment code is not valid; check it or ask the station for a new one",
            ));
        }
        RedeemOutcome::AlreadyUsed => {
            return Err(Problem::conflict(
                ProblemType::EnrolmentCodeUsed,
                "Enrolment code already used",
                "this enrolment code has already been used; ask the station for a new one",
            ));
        }
        RedeemOutcome::Expired => {
            return Err(Problem::gone(
                ProblemType::EnrolmentCodeExpired,
                "Enrolment code expired",
                "this enrolment code has expired; ask the station for a new one",
            ));
        }
    };
    tracing::info!(device_id = %device.id, station_id = %station.id, "device enrolled");
    let categories = state.repo.categories(station.id).await?;
    let body = EnrolResponse {
        device_id: device.id,
        label: device.label,
        token,
        enrolled_at: device.enrolled_at,
        station: StationView {
            slug: station.slug,
            name: station.name,
        },
        categories: categories.entries().to_vec(),
    };
    Ok((
        StatusCode::CREATED,
        [(CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response())
}

fn outcome_label(outcome: &RedeemOutcome) -> &'static str {
    match outcome {
        RedeemOutcome::Enrolled(..) => "enrolled",
        RedeemOutcome::Unknown => "unknown",
        RedeemOutcome::AlreadyUsed => "already_used",
        RedeemOutcome::Expired => "expired",
    }
}
