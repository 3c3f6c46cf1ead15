//! Zones of the station's district (delivery routes, beats), managed by its
//! admins. Every change reaches carriers' phones as a `zones` entry of the
//! changes feed and leaves an audit row.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postcso_model::ZoneArea;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use crate::auth::policy::{may_manage_zones, may_read_zones};
use crate::auth::{Caller, StaffCaller};
use crate::repo::{NewZone, RepoError, Session, Zone, ZoneUpdate};

/// Body limit of zone writes: an outline of up to 2000 positions.
pub const ZONE_BODY_LIMIT: usize = 128 * 1024;
/// Longest zone name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most devices assigned to one zone.
pub const MAX_DEVICES: usize = 500;

/// A zone as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    /// Stable code, e.g. `route-12`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// GeoJSON `Polygon` geometry, if drawn.
    #[schema(value_type = Option<Object>)]
    pub area: Option<ZoneArea>,
    /// Carrier devices assigned to it.
    pub devices: Vec<Uuid>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was retired; retired zones are kept.
    pub retired_at: Option<DateTime<Utc>>,
}

impl From<Zone> for ZoneView {
    fn from(z: Zone) -> Self {
        Self {
            code: z.code,
            name: z.name,
            area: z.area,
            devices: z.devices,
            created_at: z.created_at,
            updated_at: z.updated_at,
            retired_at: z.retired_at,
        }
    }
}

/// Wire form of `postcso_model::ZoneInfo`: a zone as a carrier's phone
/// receives it in the changes feed.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = ZoneInfo)]
#[allow(dead_code)]
pub struct ZoneInfoDoc {
    /// Stable code.
    code: String,
    /// Display name.
    name: String,
    /// GeoJSON `Polygon` geometry, if drawn.
    #[schema(value_type = Option<Object>)]
    area: Option<serde_json::Value>,
    /// Whether this phone is assigned to the zone.
    assigned: bool,
    /// Retired zones are kept so old references resolve.
    retired: bool,
}

/// Body of `POST /v1/zones`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewZoneRequest {
    /// 1-40 lowercase letters, digits, `-` or `_`; unique in the station, forever.
    #[schema(example = "route-12")]
    pub code: String,
    /// Display name, 1-100 characters.
    pub name: String,
    /// GeoJSON `Polygon` geometry (`[longitude, latitude]` positions, closed rings).
    #[schema(value_type = Option<Object>)]
    pub area: Option<ZoneArea>,
    /// Device ids of the station's carriers to assign.
    #[serde(default)]
    pub devices: Vec<Uuid>,
}

/// Body of `PATCH /v1/zones/{code}`: only the fields present change.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZoneUpdateRequest {
    /// New display name.
    pub name: Option<String>,
    /// New outline; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Object>)]
    pub area: Option<Option<ZoneArea>>,
    /// The complete new set of assigned devices.
    pub devices: Option<Vec<Uuid>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Zone codes: the shape of station slugs.
pub fn valid_code(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) -> String {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        errors.push(FieldError {
            pointer: "/name".into(),
            detail: format!("must be 1-{MAX_NAME_CHARS} characters without control characters"),
        });
    }
    name.to_owned()
}

fn check_area(area: Option<&ZoneArea>, errors: &mut Vec<FieldError>) {
    if let Some(Err(e)) = area.map(ZoneArea::validate) {
        errors.push(FieldError {
            pointer: "/area".into(),
            detail: e.to_string(),
        });
    }
}

fn check_devices(devices: &[Uuid], errors: &mut Vec<FieldError>) {
    if devices.len() > MAX_DEVICES {
        errors.push(FieldError {
            pointer: "/devices".into(),
            detail: format!("at most {MAX_DEVICES} devices per zone"),
        });
    }
}

fn admin_only(session: &Session) -> Result<(), Problem> {
    if may_manage_zones(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not manage zones",
            session.user.role
        )))
    }
}

/// Turns the repository's "no such device" into a 422 on `/devices`.
fn device_error(e: RepoError) -> Problem {
    match e {
        RepoError::NotFound("device") => Problem::validation(vec![FieldError {
            pointer: "/devices".into(),
            detail: "every device must be enrolled at this station".into(),
        }]),
        RepoError::NotFound(_) => Problem::not_found("no such zone"),
        other => other.into(),
    }
}

/// `GET /v1/zones`
#[utoipa::path(get, path = "/v1/zones", tag = "zones",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Every zone of the station, retired ones included, in the order added", body = Vec<ZoneView>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor supervisor (carriers get zones through /v1/changes)", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<axum::Json<Vec<ZoneView>>, Problem> {
    if !may_read_zones(session.user.role) {
        return Err(Problem::forbidden(format!(
            "the {} role may not list zones",
            session.user.role
        )));
    }
    let zones = state.repo.zones(session.user.station_id).await?;
    Ok(axum::Json(zones.into_iter().map(Into::into).collect()))
}

/// `POST /v1/zones`
#[utoipa::path(post, path = "/v1/zones", tag = "zones",
    request_body(content = NewZoneRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added", body = ZoneView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (retired zones keep theirs)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad code, name, area or devices", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Json(request): Json<NewZoneRequest, ZONE_BODY_LIMIT>,
) -> Result<Response, Problem> {
    admin_only(&session)?;
    let mut errors = Vec::new();
    if !valid_code(&request.code) {
        errors.push(FieldError {
            pointer: "/code".into(),
            detail: "use 1-40 lowercase letters, digits, '-' or '_'".into(),
        });
    }
    let name = check_name(&request.name, &mut errors);
    check_area(request.area.as_ref(), &mut errors);
    check_devices(&request.devices, &mut errors);
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let mut devices = request.devices;
    devices.sort();
    devices.dedup();
    let station = session.user.station_id;
    let zone = state
        .repo
        .add_zone(
            station,
            NewZone {
                code: request.code,
                name,
                area: request.area,
                devices,
            },
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(device_error)?;
    tracing::info!(zone = %zone.code, "zone added");
    Ok((StatusCode::CREATED, axum::Json(ZoneView::from(zone))).into_response())
}

/// `PATCH /v1/zones/{code}`
#[utoipa::path(patch, path = "/v1/zones/{code}", tag = "zones",
    params(("code" = String, Path, description = "The zone's code")),
    request_body(content = ZoneUpdateRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The zone after the change (unchanged and unaudited when nothing differed)", body = ZoneView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such zone", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The zone is retired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad name, area or devices", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
    Json(request): Json<ZoneUpdateRequest, ZONE_BODY_LIMIT>,
) -> Result<axum::Json<ZoneView>, Problem> {
    admin_only(&session)?;
    let mut errors = Vec::new();
    let name = request.name.as_deref().map(|n| check_name(n, &mut errors));
    if let Some(area) = &request.area {
        check_area(area.as_ref(), &mut errors);
    }
    if let Some(devices) = &request.devices {
        check_devices(devices, &mut errors);
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let station = session.user.station_id;
    let (zone, changed) = state
        .repo
        .update_zone(
            station,
            &code,
            ZoneUpdate {
                name,
                area: request.area,
                devices: request.devices,
            },
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(device_error)?;
    if changed {
        tracing::info!(zone = %zone.code, "zone updated");
    }
    Ok(axum::Json(zone.into()))
}

/// `POST /v1/zones/{code}/retire`
#[utoipa::path(post, path = "/v1/zones/{code}/retire", tag = "zones",
    params(("code" = String, Path, description = "The zone's code")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Retired (kept, never deleted; unchanged when it already was)", body = ZoneView),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such zone", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
) -> Result<axum::Json<ZoneView>, Problem> {
    admin_only(&session)?;
    let station = session.user.station_id;
    let (zone, changed) = state
        .repo
        .retire_zone(station, &code, Caller::Staff(session).actor(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::NotFound(_) => Problem::not_found("no such zone"),
            other => other.into(),
        })?;
    if changed {
        tracing::info!(zone = %zone.code, "zone retired");
    }
    Ok(axum::Json(zone.into()))
}
