//! The station's category list with reporting guidance, for phones and staff.

use axum::Json;
use axum::extract::State;
use postcso_model::CategoryInfo;

use super::AppState;
use super::problem::Problem;
use crate::auth::Caller;

/// `GET /v1/categories`: every category of the caller's station, retired ones
/// included (old reports still use them), in the station's order.
#[utoipa::path(get, path = "/v1/categories", tag = "categories",
    security(("device_token" = []), ("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The category list", body = Vec<super::openapi::CategoryDoc>),
        (status = 401, description = "Not authenticated", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CategoryInfo>>, Problem> {
    let list = state.repo.categories(caller.station_id()).await?;
    Ok(Json(list.entries().to_vec()))
}
