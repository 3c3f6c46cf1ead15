//! The OpenAPI 3.1 document, generated from the handlers' annotations.
//!
//! The report model lives in `postcso-core`, which does not depend on utoipa;
//! the `*Doc` types below describe its wire form for the document only and are
//! never (de)serialised. A test checks they list the same fields as the core's
//! JSON, so the two cannot drift apart silently.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::problem::{FieldError, Problem};

/// The document's fixed parts; paths are added by the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "POST-CSO station API",
        description = "The station server that mail carriers' phones sync safety reports to, \
                       and that supervisors work on. Errors are RFC 9457 problem details.",
    ),
    components(schemas(Problem, FieldError, ReportContentDoc, GeoPointDoc, PhotoManifestEntryDoc, CategoryDoc)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "reports", description = "Report intake and reading, where each report is, its follow-ups and nearby duplicates"),
        (name = "devices", description = "Device enrolment"),
        (name = "sessions", description = "Staff sign-in"),
        (name = "categories", description = "Report categories with guidance"),
        (name = "health", description = "Probes"),
        (name = "uploads", description = "Resumable photo uploads (tus 1.0.0)"),
        (name = "changes", description = "What changed since a cursor"),
        (name = "audit", description = "The append-only audit log"),
        (name = "zones", description = "Zones of the district (beats, watch areas, the jurisdiction), managed by admins; GeoJSON import and export"),
        (name = "inspections", description = "Site inspections of reports, assigned by supervisors"),
        (name = "agencies", description = "Agencies fixes are referred to (send method open311, email or manual; API keys are write-only) and the routing rules that propose one for a report, managed by admins"),
        (name = "referrals", description = "Referral of a report to the agency in charge, and the agency's answers, recorded by supervisors; each step reaches the carrier's phone as a line"),
    )
)]
pub struct ApiDoc;

/// Adds the three ways to authenticate.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "device_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Device credential `pcd_…` from POST /v1/devices/enrol",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("Staff session token `pcs_…` from POST /v1/sessions"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(
                crate::auth::SESSION_COOKIE,
            ))),
        );
    }
}

/// Wire form of `postcso_model::ReportContent`: the body of a report PUT.
/// Unknown fields are ignored.
#[derive(ToSchema)]
#[schema(as = ReportContent)]
#[allow(dead_code)]
pub struct ReportContentDoc {
    /// The report's UUID, equal to the one in the path.
    id: uuid::Uuid,
    /// Category code from the station's list, not retired.
    #[schema(example = "safety_facility")]
    category: String,
    /// Optional note, at most 2000 characters after trimming; no control
    /// characters except line breaks.
    note: Option<String>,
    /// Where the problem is.
    location: GeoPointDoc,
    /// When the draft was made, with the phone's UTC offset. Not before
    /// 2020-01-01T00:00:00Z and at most 24 hours ahead of the station's clock
    /// (else the phone's clock was wrong: `422` at `/created_at`).
    created_at: chrono::DateTime<chrono::FixedOffset>,
    /// The photos in the carrier's order (at most 4).
    photos: Vec<PhotoManifestEntryDoc>,
    /// Codes of the station's zones the phone found `location` in at submit,
    /// from its offline copy; absent when none. The station places the report
    /// itself on arrival and shows both side by side.
    zones: Option<Vec<String>>,
    /// The jurisdiction zone the phone found `location` in; absent when none.
    district: Option<String>,
    /// For a follow-up (more photos or a note on a report already sent): that
    /// report's id. It must be a report this device sent to this station
    /// (else `422` `/problems/unknown-parent`).
    follow_up_of: Option<uuid::Uuid>,
}

/// Wire form of `postcso_model::GeoPoint`.
#[derive(ToSchema)]
#[schema(as = GeoPoint)]
#[allow(dead_code)]
pub struct GeoPointDoc {
    /// Latitude, WGS84 degrees, -90..=90; (0, 0) is refused as a missing fix.
    lat: f64,
    /// Longitude, WGS84 degrees, -180..=180.
    lon: f64,
    /// Horizontal accuracy radius in metres; positive.
    accuracy_m: f64,
    /// Altitude in metres, if the fix has one.
    altitude_m: Option<f64>,
    /// When the fix was taken.
    fix_time: chrono::DateTime<chrono::Utc>,
    /// `gps`, `network`, `manual` or `exif`.
    #[schema(example = "gps")]
    source: String,
}

/// Wire form of `postcso_model::PhotoManifestEntry`.
#[derive(ToSchema)]
#[schema(as = PhotoManifestEntry)]
#[allow(dead_code)]
pub struct PhotoManifestEntryDoc {
    /// SHA-256 of the processed JPEG, 64 lowercase hex digits.
    sha256: String,
    /// Size in bytes.
    size: u64,
    /// Always `image/jpeg`.
    content_type: String,
}

/// Wire form of `postcso_model::CategoryInfo`.
#[derive(serde::Serialize, ToSchema)]
#[schema(as = CategoryInfo)]
#[allow(dead_code)]
pub struct CategoryDoc {
    /// Stable code used in reports.
    code: String,
    /// Korean name.
    name_ko: String,
    /// English name.
    name_en: String,
    /// What to report and what to photograph.
    guidance: String,
    /// Retired categories take no new reports.
    retired: bool,
}
