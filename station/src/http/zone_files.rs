//! Zones as GeoJSON files: importing a FeatureCollection (admins, all or
//! nothing) and exporting the station's zones as one. Reading and checking
//! the file is `crate::zones::import`'s, shared with the console.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::AppState;
use super::body::JsonText;
use super::problem::Problem;
use super::zones::{admin_only, field_errors, readers_only};
use crate::auth::{Caller, StaffCaller};
use crate::zones::export::{GEOJSON_MEDIA_TYPE, feature_collection};
use crate::zones::geojson::GeoJsonError;
use crate::zones::import::{ImportReport, MAX_IMPORT_BYTES, check_against, prepare};

/// A refused file as a problem: 400 when it is not JSON, else 422 with each
/// fault at its pointer (`/features/3/geometry/coordinates/0/5`).
fn refused(e: GeoJsonError) -> Problem {
    match e {
        GeoJsonError::Syntax(detail) => Problem::malformed_json(format!(
            "the file is not valid JSON ({detail}); nothing was imported"
        )),
        GeoJsonError::Invalid(faults) => {
            let detail = match faults.as_slice() {
                [one] => format!(
                    "the import was refused, nothing was changed: {}",
                    one.detail
                ),
                many => format!(
                    "the import was refused, nothing was changed: {} faults",
                    many.len()
                ),
            };
            let mut problem = Problem::validation(field_errors(faults));
            problem.detail = detail;
            problem
        }
    }
}

/// `POST /v1/zones/import`
#[utoipa::path(post, path = "/v1/zones/import", tag = "zones",
    request_body(content = Object, content_type = "application/geo+json",
        description = "A GeoJSON FeatureCollection in WGS84 (a `crs` member other than CRS84 or \
            EPSG:4326 is refused). Each feature is a zone: properties `code`, `kind` (`beat` when \
            absent, `watch_area`, `jurisdiction`), `theme` (watch areas), `name_ko` (or `name`), \
            `name_en`, `guidance`, `valid_from`, `valid_until` (RFC 3339); geometry a `Polygon` or \
            `MultiPolygon` (at most 10,000 positions; clockwise rings are rewound) or null. At most \
            1,000 features and 16 MiB. `application/json` is accepted too."),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Imported, all of it: existing codes updated (devices kept), new ones \
            added, each change in the feed and the audit log", body = ImportReport),
        (status = 400, description = "Not valid JSON (e.g. `NaN`)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A zone of the file was retired while it was imported", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Over 16 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JSON media type", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Refused, nothing changed: every fault at its pointer, each naming its feature \
            by index and code (a foreign `crs`, a LineString, a ring that crosses itself at a position, too many \
            positions, a repeated code, an unknown kind, `valid_until` not after `valid_from`, a retired code, ...)",
            body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn import(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    JsonText(text): JsonText<MAX_IMPORT_BYTES>,
) -> Result<axum::Json<ImportReport>, Problem> {
    admin_only(&session)?;
    // Validating outlines is CPU work (bounded by the limits): off the runtime.
    let prepared = tokio::task::spawn_blocking(move || prepare(&text))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "checking an import failed");
            Problem::internal()
        })?
        .map_err(refused)?;
    let station = session.user.station_id;
    let existing = state.repo.zones(station).await?;
    check_against(&existing, &prepared).map_err(refused)?;
    let imported = state
        .repo
        .import_zones(
            station,
            prepared.zones.clone(),
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await?;
    let report = ImportReport::new(&imported, &prepared);
    tracing::info!(
        added = report.added,
        updated = report.updated,
        unchanged = report.unchanged,
        "zones imported"
    );
    Ok(axum::Json(report))
}

/// `GET /v1/zones/export`
#[utoipa::path(get, path = "/v1/zones/export", tag = "zones",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The station's zones (not retired ones) as a GeoJSON FeatureCollection \
            with the properties an import reads, so it imports back unchanged; a top-level `attribution` \
            credits the boundary data when a jurisdiction came from the embedded Seoul districts",
            body = Object, content_type = "application/geo+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor supervisor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn export(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<Response, Problem> {
    readers_only(&session)?;
    let zones = state.repo.zones(session.user.station_id).await?;
    let text = feature_collection(&zones).map_err(|e| {
        tracing::error!(error = %e, "cannot write zones as GeoJSON");
        Problem::internal()
    })?;
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(GEOJSON_MEDIA_TYPE));
    Ok(response)
}
