//! The HTTP paths the phone calls and the station serves, named once.
//!
//! Paths are absolute, as the station routes them. The phone resolves them
//! against its station's base URL with [`relative`], so a station served under
//! a path prefix (`https://host/seodaemun/`) keeps working. The station checks
//! in a test that its OpenAPI document serves every path named here.

use crate::ReportId;

/// Report intake and reading: `PUT`/`GET /v1/reports/{id}`.
pub const REPORT: &str = "/v1/reports/{id}";
/// Resumable photo uploads (tus 1.0.0 creation endpoint).
pub const UPLOADS: &str = "/v1/uploads";
/// The changes feed.
pub const CHANGES: &str = "/v1/changes";
/// Device enrolment with a one-time code.
pub const DEVICE_ENROL: &str = "/v1/devices/enrol";
/// The station's categories.
pub const CATEGORIES: &str = "/v1/categories";
/// The station's zones.
pub const ZONES: &str = "/v1/zones";
/// Staff sign-in.
pub const SESSIONS: &str = "/v1/sessions";

/// Every path above, for the station's check against its OpenAPI document.
pub const ALL: &[&str] = &[
    REPORT,
    UPLOADS,
    CHANGES,
    DEVICE_ENROL,
    CATEGORIES,
    ZONES,
    SESSIONS,
];

/// The path of one report.
pub fn report(id: ReportId) -> String {
    REPORT.replace("{id}", &id.to_string())
}

/// A path without its leading `/`, to join onto a base URL that may carry a
/// path prefix of its own.
pub fn relative(path: &str) -> &str {
    path.trim_start_matches('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_path_carries_its_id_and_joins_under_a_prefix() {
        let id = ReportId::parse("01890a5d-ac96-774b-bcce-b302099a8057").expect("id");
        assert_eq!(
            report(id),
            "/v1/reports/01890a5d-ac96-774b-bcce-b302099a8057"
        );
        assert_eq!(relative(CHANGES), "v1/changes");
    }
}
