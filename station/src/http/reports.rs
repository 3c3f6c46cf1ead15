//! Report intake (`PUT`) and reading (`GET`) at `/v1/reports/{id}`.
//!
//! PUT is idempotent on the client's UUID: the first delivery stores the report
//! (201), a retry with the same content hash gets the stored report back (200),
//! and different content under a taken id is refused (409). Parsing is the
//! shared model's, so station and phone never disagree about what is valid; the
//! station's intake rules and storing are in [`crate::intake`], and this module
//! only parses the body and maps the outcome or [`IntakeError`] to HTTP.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postcso_model::{GeoError, GeoPoint, LocationSource, ReportContent, ReportId};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::AppState;
use super::body::{JsonError, JsonText, parse_json};
use super::problem::{FieldError, Problem, ProblemType};
use super::report_geography::{FollowUpView, GeographyView};
use crate::auth::policy::{ReportAccess, may_read_reports, report_access};
use crate::auth::{Caller, DeviceCaller};
use crate::intake::{Deliverer, Intake, IntakeError, IntakeOutcome, ManifestLimits};
use crate::repo::StoredReport;

/// Body limit of a report PUT: content plus manifest is a few KB; photos travel apart.
pub const REPORT_BODY_LIMIT: usize = 64 * 1024;

/// A photo of the manifest and whether its bytes have arrived.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoView {
    /// Position in the carrier's order, from 0.
    pub position: u32,
    /// SHA-256 from the manifest.
    pub sha256: String,
    /// Size in bytes from the manifest.
    pub size: u64,
    /// Media type from the manifest.
    pub content_type: String,
    /// Whether the bytes arrived and matched.
    pub received: bool,
}

/// What every view of a report starts with: whether it arrived and how it is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportSummary {
    /// The carrier's id for the report.
    pub id: Uuid,
    /// Review status (`received`, `accepted`, ...).
    pub status: String,
    /// The supervisor's reason for the status (e.g. why it was rejected), if given.
    pub status_reason: Option<String>,
    /// True once every photo of the manifest has arrived.
    pub complete: bool,
    /// When the station first stored it.
    pub received_at: DateTime<Utc>,
}

impl From<&StoredReport> for ReportSummary {
    fn from(r: &StoredReport) -> Self {
        Self {
            id: r.id.as_uuid(),
            status: r.status.as_str().to_owned(),
            status_reason: r.status_reason.clone(),
            complete: r.complete,
            received_at: r.received_at,
        }
    }
}

/// A report with its content: for the carrier that just delivered it, and for supervisors.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportView {
    /// Id, status and arrival.
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// Hash the station uses to tell retries from conflicts.
    pub content_hash: String,
    /// The device that delivered it.
    pub device_id: Uuid,
    /// The content as stored.
    #[schema(value_type = super::openapi::ReportContentDoc)]
    pub content: ReportContent,
    /// The manifest with arrival state; `received: false` entries are missing.
    pub photos: Vec<PhotoView>,
    /// Where the station found it on arrival, next to what the phone saw.
    pub geography: GeographyView,
    /// For a follow-up: the report it adds to (`content.follow_up_of`).
    pub follow_up_of: Option<Uuid>,
    /// The report's follow-ups in arrival order (in `GET`; absent from a
    /// `PUT`'s answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follow_ups: Option<Vec<FollowUpView>>,
    /// For a `merged` report: the report it was merged into.
    pub merged_into: Option<Uuid>,
    /// Photos of the reports merged into this one (in `GET`), each served at
    /// its own report's photo URL; this report's own content is unchanged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub related_photos: Option<Vec<RelatedPhotoView>>,
}

/// A photo of a report merged into the one read.
#[derive(Debug, Serialize, ToSchema)]
pub struct RelatedPhotoView {
    /// The merged report it comes from.
    pub report_id: Uuid,
    /// Its position in that report's manifest
    /// (`GET /v1/reports/{report_id}/photos/{position}`).
    pub position: u32,
    /// SHA-256 from that report's manifest.
    pub sha256: String,
    /// Whether its bytes have arrived.
    pub received: bool,
}

impl From<crate::repo::RelatedPhoto> for RelatedPhotoView {
    fn from(r: crate::repo::RelatedPhoto) -> Self {
        Self {
            report_id: r.from.as_uuid(),
            position: r.photo.position,
            sha256: r.photo.sha256,
            received: r.photo.received,
        }
    }
}

/// What the filing carrier may read back: whether it arrived and how it is doing.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportStatusView {
    /// Id, status and arrival.
    #[serde(flatten)]
    pub summary: ReportSummary,
    /// How many photos of the manifest are still missing.
    pub photos_missing: usize,
}

impl From<StoredReport> for ReportView {
    fn from(r: StoredReport) -> Self {
        Self {
            summary: ReportSummary::from(&r),
            content_hash: r.content_hash,
            device_id: r.device_id,
            geography: GeographyView::new(r.placement.as_ref(), &r.content),
            follow_up_of: r.content.follow_up_of.map(|p| p.as_uuid()),
            follow_ups: None,
            merged_into: r.merged_into.map(|m| m.as_uuid()),
            related_photos: None,
            content: r.content,
            photos: r
                .photos
                .into_iter()
                .map(|p| PhotoView {
                    position: p.position,
                    sha256: p.sha256,
                    size: p.size,
                    content_type: p.content_type,
                    received: p.received,
                })
                .collect(),
        }
    }
}

impl From<StoredReport> for ReportStatusView {
    fn from(r: StoredReport) -> Self {
        Self {
            summary: ReportSummary::from(&r),
            photos_missing: r.photos.iter().filter(|p| !p.received).count(),
        }
    }
}

/// Either view, as `GET` returns it depending on the caller.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ReportRead {
    /// Supervisors.
    Full(Box<ReportView>),
    /// The filing carrier.
    Status(ReportStatusView),
}

impl From<IntakeError> for Problem {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Invalid(violations) => Problem::validation(
                violations
                    .iter()
                    .map(|v| FieldError {
                        pointer: v.pointer(),
                        detail: v.to_string(),
                    })
                    .collect(),
            ),
            IntakeError::Conflict => Problem::conflict(
                ProblemType::ReportIdConflict,
                "Report id already used",
                "a different report is already stored under this id; make a new id for new content",
            ),
            IntakeError::UnknownParent => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemType::UnknownParent,
                "Unknown parent report",
                "follow_up_of must name a report this device sent to this station",
            )
            .with_errors(vec![FieldError {
                pointer: "/follow_up_of".into(),
                detail: "not a report this device sent to this station".into(),
            }]),
            IntakeError::Repo(e) => e.into(),
        }
    }
}

fn parse_id(raw: &str) -> Result<ReportId, Problem> {
    ReportId::parse(raw).map_err(|_| {
        Problem::invalid_id(
            "the report id in the path must be a UUID, e.g. 0190f5c2-7b1e-7cc4-9a4e-1f2d3c4b5a69",
        )
    })
}

/// Where a location error points, from the core's typed error.
fn geo_pointer(e: GeoError) -> String {
    match e {
        GeoError::NotFinite { field } | GeoError::OutOfRange { field } => {
            format!("/location/{field}")
        }
        GeoError::NullIsland => "/location".to_owned(),
        GeoError::AccuracyMissing | GeoError::AccuracyInvalid => "/location/accuracy_m".to_owned(),
    }
}

/// serde can only say "the location is invalid"; re-running the core's
/// [`GeoPoint::new`] on the numbers recovers which field it was.
fn refine_location_error(text: &str, field: FieldError) -> FieldError {
    if field.pointer != "/location" {
        return field;
    }
    let Ok(body) = serde_json::from_str::<serde_json::Value>(text) else {
        return field;
    };
    let location = &body["location"];
    let number = |key: &str| location.get(key).and_then(serde_json::Value::as_f64);
    let (Some(lat), Some(lon)) = (number("lat"), number("lon")) else {
        return field;
    };
    match GeoPoint::new(
        lat,
        lon,
        number("accuracy_m"),
        number("altitude_m"),
        Utc::now(),
        LocationSource::Gps,
    ) {
        Err(e) => FieldError {
            pointer: geo_pointer(e),
            detail: e.to_string(),
        },
        Ok(_) => field,
    }
}

fn parse_content(text: &str) -> Result<ReportContent, Problem> {
    parse_json::<ReportContent>(text).map_err(|e| match e {
        JsonError::Data(field) => Problem::validation(vec![refine_location_error(text, field)]),
        syntax => Problem::from(syntax),
    })
}

/// `PUT /v1/reports/{id}`
#[utoipa::path(put, path = "/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The report's UUID, made on the phone")),
    request_body(content = super::openapi::ReportContentDoc, content_type = "application/json"),
    security(("device_token" = [])),
    responses(
        (status = 201, description = "Stored for the first time", body = ReportView),
        (status = 200, description = "Already stored with the same content; nothing changed", body = ReportView),
        (status = 400, description = "Malformed JSON, invalid UTF-8 or an id that is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid device credential (revoked devices included)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a device credential", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The id holds different content", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not application/json", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks the model's rules; `errors` points at it (`/problems/validation`), or `follow_up_of` names no report this device sent to this station (`/problems/unknown-parent`)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Storage unavailable; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 507, description = "The station's disk is full; nothing was stored; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn put_report(
    State(state): State<AppState>,
    DeviceCaller(device): DeviceCaller,
    Path(raw_id): Path<String>,
    JsonText(text): JsonText<REPORT_BODY_LIMIT>,
) -> Result<Response, Problem> {
    let path_id = parse_id(&raw_id)?;
    let content = parse_content(&text)?;
    let by = Deliverer {
        station: device.station_id,
        device: device.id,
    };
    let intake = Intake::new(
        state.repo.as_ref(),
        &state.geography,
        ManifestLimits::from(&*state.config),
    );
    match intake.receive(by, path_id, content, Utc::now()).await? {
        IntakeOutcome::Created(report) => {
            let location = format!("/v1/reports/{}", report.id);
            Ok((
                StatusCode::CREATED,
                [(LOCATION, location)],
                axum::Json(ReportView::from(report)),
            )
                .into_response())
        }
        IntakeOutcome::Unchanged(report) => {
            Ok((StatusCode::OK, axum::Json(ReportView::from(report))).into_response())
        }
    }
}

/// `GET /v1/reports/{id}`
#[utoipa::path(get, path = "/v1/reports/{id}", tag = "reports",
    params(("id" = String, Path, description = "The report's UUID")),
    security(("device_token" = []), ("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The full report (supervisors, the assigned inspector) with where the station found it, what the phone saw, its parent and its follow-ups; or its status (the filing carrier). `ETag` names its version, for `If-Match` on a decision", body = ReportRead),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The role may not read reports", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report visible to the caller", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_report(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw_id): Path<String>,
) -> Result<Response, Problem> {
    if !may_read_reports(caller.role()) {
        return Err(Problem::forbidden(format!(
            "the {} role may not read reports",
            caller.role()
        )));
    }
    let id = parse_id(&raw_id)?;
    let not_found = || Problem::not_found("no such report");
    let report = state
        .repo
        .report(caller.station_id(), id)
        .await?
        .ok_or_else(not_found)?;
    let assigned = super::access::assigned_inspector(&state, &caller, &report).await?;
    // The version a decision on what was read must name in If-Match.
    let etag = [(
        axum::http::header::ETAG,
        super::versions::etag(report.version),
    )];
    match report_access(&caller, &report, assigned) {
        ReportAccess::Full => {
            let (follow_ups, related) = tokio::try_join!(
                state.repo.follow_ups(report.station_id, report.id),
                state.repo.related_photos(report.station_id, report.id),
            )?;
            let mut view = ReportView::from(report);
            view.follow_ups = Some(follow_ups.into_iter().map(Into::into).collect());
            view.related_photos = Some(related.into_iter().map(Into::into).collect());
            Ok((etag, axum::Json(ReportRead::Full(Box::new(view)))).into_response())
        }
        ReportAccess::StatusOnly => {
            Ok((etag, axum::Json(ReportRead::Status(report.into()))).into_response())
        }
        ReportAccess::Hidden => Err(not_found()),
    }
}
