//! Zones of the station's district (beats, watch areas, the jurisdiction),
//! managed by its admins. Every change reaches carriers' phones as a `zone`
//! entry of the changes feed and leaves an audit row. Fields are checked by
//! `crate::zones::fields`, as the console and imports check them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postcso_model::{ZoneArea, ZoneKind};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use crate::auth::policy::{may_manage_zones, may_read_zones};
use crate::auth::{Caller, StaffCaller};
use crate::repo::{RepoError, Session, Zone, ZoneRuleError, ZoneUpdate};
use crate::zones::Fault;
use crate::zones::fields::{
    Places, ZoneDraft, check_area, check_guidance, check_kind, check_name, check_name_en,
    check_opt_theme, check_opt_time,
};

/// Body limit of zone writes: an outline of up to `MAX_AREA_POSITIONS`
/// (10,000) positions with room to spare.
pub const ZONE_BODY_LIMIT: usize = 1024 * 1024;
/// Most devices assigned to one zone.
pub const MAX_DEVICES: usize = 500;

/// A zone as staff see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneView {
    /// Stable code, e.g. `route-12`.
    pub code: String,
    /// `beat`, `watch_area` or `jurisdiction`.
    #[schema(value_type = String, example = "watch_area")]
    pub kind: ZoneKind,
    /// Why a watch area is watched, e.g. `women_living_alone`, `dark_alley`.
    pub theme: Option<String>,
    /// Display name in Korean.
    pub name: String,
    /// Display name in English.
    pub name_en: Option<String>,
    /// What carriers should look for there.
    pub guidance: Option<String>,
    /// In force from this instant; always when null.
    pub valid_from: Option<DateTime<Utc>>,
    /// In force until this instant (exclusive); forever when null.
    pub valid_until: Option<DateTime<Utc>>,
    /// GeoJSON `Polygon` or `MultiPolygon` geometry (RFC 7946 winding), if drawn.
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
    /// Only in answers to a write that gave an outline: how many of its rings
    /// were turned round to RFC 7946 winding (exterior counter-clockwise,
    /// holes clockwise). Such outlines are repaired, not refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rings_rewound: Option<usize>,
}

impl From<Zone> for ZoneView {
    fn from(z: Zone) -> Self {
        Self {
            code: z.code,
            kind: z.kind,
            theme: z.theme,
            name: z.name,
            name_en: z.name_en,
            guidance: z.guidance,
            valid_from: z.valid_from,
            valid_until: z.valid_until,
            area: z.area,
            devices: z.devices,
            created_at: z.created_at,
            updated_at: z.updated_at,
            retired_at: z.retired_at,
            rings_rewound: None,
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
    /// `beat`, `watch_area` or `jurisdiction`; `beat` when absent.
    kind: String,
    /// A watch area's theme, e.g. `dark_alley`; absent otherwise.
    theme: Option<String>,
    /// Display name in Korean.
    name: String,
    /// Display name in English, if given.
    name_en: Option<String>,
    /// What carriers should look for there, if given.
    guidance: Option<String>,
    /// In force from this instant; always when absent.
    valid_from: Option<DateTime<Utc>>,
    /// In force until this instant (exclusive); forever when absent.
    valid_until: Option<DateTime<Utc>>,
    /// GeoJSON `Polygon` or `MultiPolygon` geometry, if drawn.
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
    /// `beat` (default), `watch_area` or `jurisdiction`.
    pub kind: Option<String>,
    /// Watch areas only: why it is watched, shaped like a code, e.g. `women_living_alone`.
    pub theme: Option<String>,
    /// Display name in Korean, 1-100 characters (`name_ko` is accepted too).
    #[serde(alias = "name_ko")]
    pub name: String,
    /// Display name in English, 1-100 characters.
    pub name_en: Option<String>,
    /// What carriers should look for there: at most 500 characters, no
    /// control characters but line breaks.
    pub guidance: Option<String>,
    /// RFC 3339 instant the zone comes into force.
    pub valid_from: Option<String>,
    /// RFC 3339 instant it stops being in force; after `valid_from`.
    pub valid_until: Option<String>,
    /// GeoJSON `Polygon` or `MultiPolygon` geometry (`[longitude, latitude]`
    /// positions, closed rings, at most 10,000 positions); required for watch
    /// areas and jurisdictions. Clockwise exteriors are rewound, not refused.
    #[schema(value_type = Option<Object>)]
    pub area: Option<ZoneArea>,
    /// Device ids of the station's carriers to assign.
    #[serde(default)]
    pub devices: Vec<Uuid>,
}

/// Body of `PATCH /v1/zones/{code}`: only the fields present change; `null`
/// (or `""`) clears an optional one.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ZoneUpdateRequest {
    /// New kind.
    pub kind: Option<String>,
    /// New theme (watch areas only).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub theme: Option<Option<String>>,
    /// New Korean name (`name_ko` is accepted too).
    #[serde(alias = "name_ko")]
    pub name: Option<String>,
    /// New English name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub name_en: Option<Option<String>>,
    /// New guidance.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub guidance: Option<Option<String>>,
    /// New start of validity (RFC 3339).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub valid_from: Option<Option<String>>,
    /// New end of validity (RFC 3339).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub valid_until: Option<Option<String>>,
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

/// Zone faults as the problem's field errors.
pub(super) fn field_errors(faults: Vec<Fault>) -> Vec<FieldError> {
    faults
        .into_iter()
        .map(|f| FieldError {
            pointer: f.pointer,
            detail: f.detail,
        })
        .collect()
}

fn check_devices(devices: &[Uuid], errors: &mut Vec<FieldError>) {
    if devices.len() > MAX_DEVICES {
        errors.push(FieldError {
            pointer: "/devices".into(),
            detail: format!("at most {MAX_DEVICES} devices per zone"),
        });
    }
}

/// The 403 of a role that may not manage zones.
pub(super) fn admin_only(session: &Session) -> Result<(), Problem> {
    if may_manage_zones(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not manage zones",
            session.user.role
        )))
    }
}

/// The 403 of a role that may not read zones.
pub(super) fn readers_only(session: &Session) -> Result<(), Problem> {
    if may_read_zones(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not list zones",
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
    readers_only(&session)?;
    let zones = state.repo.zones(session.user.station_id).await?;
    Ok(axum::Json(zones.into_iter().map(Into::into).collect()))
}

/// `POST /v1/zones`
#[utoipa::path(post, path = "/v1/zones", tag = "zones",
    request_body(content = NewZoneRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added; `rings_rewound` says how many rings of the outline were turned to RFC 7946 winding", body = ZoneView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code is taken (retired zones keep theirs)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad fields (each at its pointer; outline faults at the position, e.g. `/area/coordinates/0/5`), or a foreign device", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Json(request): Json<NewZoneRequest, ZONE_BODY_LIMIT>,
) -> Result<Response, Problem> {
    admin_only(&session)?;
    let draft = ZoneDraft {
        code: Some(request.code),
        kind: request.kind,
        theme: request.theme,
        name: Some(request.name),
        name_en: request.name_en,
        guidance: request.guidance,
        valid_from: request.valid_from,
        valid_until: request.valid_until,
    };
    let places = Places {
        fields: "",
        area: "/area",
    };
    let checked = draft.check(request.area, places);
    let mut errors = match &checked {
        Ok(_) => Vec::new(),
        Err(faults) => field_errors(faults.clone()),
    };
    check_devices(&request.devices, &mut errors);
    let (mut zone, repairs) = match checked {
        Ok(ok) if errors.is_empty() => ok,
        _ => return Err(Problem::validation(errors)),
    };
    zone.devices = request.devices;
    zone.devices.sort();
    zone.devices.dedup();
    let has_area = zone.area.is_some();
    let station = session.user.station_id;
    let zone = state
        .repo
        .add_zone(station, zone, Caller::Staff(session).actor(), Utc::now())
        .await
        .map_err(device_error)?;
    tracing::info!(zone = %zone.code, kind = zone.kind.as_str(), "zone added");
    let mut view = ZoneView::from(zone);
    view.rings_rewound = has_area.then_some(repairs.rings_rewound);
    Ok((StatusCode::CREATED, axum::Json(view)).into_response())
}

/// An optional field of a PATCH body: absent (`None`), cleared by `null`
/// (`Some(None)`) or given and checked; a refusal is recorded in `faults`.
fn optional<T>(
    faults: &mut Vec<Fault>,
    pointer: &str,
    given: Option<Option<String>>,
    check: impl Fn(&str) -> Result<Option<T>, String>,
) -> Option<Option<T>> {
    given.map(|value| {
        value.and_then(|text| {
            check(&text)
                .map_err(|detail| faults.push(Fault::new(pointer, detail)))
                .ok()
                .flatten()
        })
    })
}

/// Checks a PATCH body's fields; the update, and the rings rewound in its
/// outline when it gives one, or a 422 naming every fault.
fn checked_update(request: ZoneUpdateRequest) -> Result<(ZoneUpdate, Option<usize>), Problem> {
    let mut faults = Vec::new();
    let f = &mut faults;
    let kind = optional(f, "/kind", request.kind.map(Some), |k| {
        check_kind(k).map(Some)
    });
    let name = optional(f, "/name", request.name.map(Some), |n| {
        check_name(n).map(Some)
    });
    let theme = optional(f, "/theme", request.theme, check_opt_theme);
    let name_en = optional(f, "/name_en", request.name_en, check_name_en);
    let guidance = optional(f, "/guidance", request.guidance, check_guidance);
    let valid_from = optional(f, "/valid_from", request.valid_from, check_opt_time);
    let valid_until = optional(f, "/valid_until", request.valid_until, check_opt_time);
    if let (Some(Some(from)), Some(Some(until))) = (valid_from, valid_until)
        && until <= from
    {
        let rule = ZoneRuleError::ValidityReversed;
        faults.push(Fault::new(format!("/{}", rule.field()), rule.to_string()));
    }
    let (area, rings_rewound) = match request.area {
        None => (None, None),
        Some(None) => (Some(None), None),
        Some(Some(area)) => match check_area(area, "/area") {
            Ok((area, repairs)) => (Some(Some(area)), Some(repairs.rings_rewound)),
            Err(fault) => {
                faults.push(fault);
                (None, None)
            }
        },
    };
    let mut errors = field_errors(faults);
    if let Some(devices) = &request.devices {
        check_devices(devices, &mut errors);
    }
    if !errors.is_empty() {
        return Err(Problem::validation(errors));
    }
    let update = ZoneUpdate {
        kind: kind.flatten(),
        theme,
        name: name.flatten(),
        name_en,
        guidance,
        valid_from,
        valid_until,
        area,
        devices: request.devices,
    };
    Ok((update, rings_rewound))
}

/// `PATCH /v1/zones/{code}`
#[utoipa::path(patch, path = "/v1/zones/{code}", tag = "zones",
    params(("code" = String, Path, description = "The zone's code")),
    request_body(content = ZoneUpdateRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The zone after the change (unchanged and unaudited when nothing differed); `rings_rewound` when an outline was given", body = ZoneView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such zone", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The zone is retired, or the change contradicts its stored fields (e.g. a `valid_until` before the stored `valid_from`, a theme on a beat, a watch area without an outline)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 1 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad fields or devices", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
    Json(request): Json<ZoneUpdateRequest, ZONE_BODY_LIMIT>,
) -> Result<axum::Json<ZoneView>, Problem> {
    admin_only(&session)?;
    let (update, rings_rewound) = checked_update(request)?;
    let station = session.user.station_id;
    let (zone, changed) = state
        .repo
        .update_zone(
            station,
            &code,
            update,
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(device_error)?;
    if changed {
        tracing::info!(zone = %zone.code, "zone updated");
    }
    let mut view = ZoneView::from(zone);
    view.rings_rewound = rings_rewound;
    Ok(axum::Json(view))
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
