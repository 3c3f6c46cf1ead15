//! `GET /v1/reports/{id}/nearby`: other reports of the station about the same
//! place, from any carrier, so a supervisor sees duplicates before acting
//! twice. The rules (50 m, same or related category, 30 days either side,
//! closed ones included, nearest first, at most 50) are `repo::nearby`'s.

use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::problem::Problem;
use crate::auth::Caller;
use crate::auth::policy::{may_find_nearby, nearby_visible};
use crate::repo::{
    NEARBY_LIMIT, NEARBY_RADIUS_M, NEARBY_WINDOW_DAYS, NearbyReport, nearby as find,
};

/// One report near another.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyView {
    /// The nearby report's id.
    pub id: Uuid,
    /// Metres from the report asked about, to 0.1 m.
    #[schema(example = 12.3)]
    pub distance_m: f64,
    /// Its category code (the same as the report's, or a related one).
    pub category: String,
    /// Its review status; closed reports are listed too.
    pub status: String,
    /// Its `created_at` (the phone's clock), in UTC.
    pub created_at: DateTime<Utc>,
    /// Photos in its manifest.
    pub photos: u32,
}

impl From<NearbyReport> for NearbyView {
    fn from(r: NearbyReport) -> Self {
        Self {
            id: r.id.as_uuid(),
            distance_m: r.distance_m,
            category: r.category,
            status: r.status.as_str().to_owned(),
            created_at: r.created_at,
            photos: r.photos,
        }
    }
}

/// The answer: the rules applied, and the reports, nearest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct NearbyList {
    /// The report asked about.
    pub report_id: Uuid,
    /// How far a report may be, in metres (50).
    pub radius_m: f64,
    /// How many days before or after the report's `created_at` (30).
    pub window_days: i64,
    /// At most this many are listed (50).
    pub limit: usize,
    /// Nearest first.
    pub reports: Vec<NearbyView>,
}

/// `GET /v1/reports/{id}/nearby`
#[utoipa::path(get, path = "/v1/reports/{id}/nearby", tag = "reports",
    params(("id" = String, Path, description = "The report's UUID")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Other reports of the station within 50 m, of the same or a related category, created within 30 days before or after it (closed ones included), nearest first, at most 50", body = NearbyList),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a supervisor, admin or inspector (devices and carriers included)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report visible to the caller (inspectors: only reports assigned to them)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn nearby(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<axum::Json<NearbyList>, Problem> {
    if !may_find_nearby(caller.role()) {
        return Err(Problem::forbidden(format!(
            "the {} role may not look for nearby reports",
            caller.role()
        )));
    }
    let id = ReportId::parse(&raw_id)
        .map_err(|_| Problem::invalid_id("the report id in the path must be a UUID"))?;
    let not_found = || Problem::not_found("no such report");
    let report = state
        .repo
        .report(caller.station_id(), id)
        .await?
        .ok_or_else(not_found)?;
    let assigned = super::access::assigned_inspector(&state, &caller, &report).await?;
    if !nearby_visible(&caller, &report, assigned) {
        return Err(not_found());
    }
    let found = find(state.repo.as_ref(), &report).await?;
    Ok(axum::Json(NearbyList {
        report_id: id.as_uuid(),
        radius_m: NEARBY_RADIUS_M,
        window_days: NEARBY_WINDOW_DAYS,
        limit: NEARBY_LIMIT,
        reports: found.into_iter().map(Into::into).collect(),
    }))
}
