//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::problem::Problem;

/// Probe answer body.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the status is 200.
    pub status: &'static str,
}

/// Liveness: the process answers HTTP. Does not touch the database, so a slow
/// disk does not get the process restarted.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the database answers a query. A load balancer stops sending
/// traffic while this is 503.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The database or the photo store is unavailable", body = Problem,
            content_type = "application/problem+json"),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, Problem> {
    state.repo.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed: database");
        Problem::unavailable()
    })?;
    state.blobs.ready().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed: photo store");
        Problem::unavailable()
    })?;
    Ok(Json(Health { status: "ok" }))
}
