//! What a caller may see of one report: the API's access rule
//! ([`crate::auth::policy::report_access`]) needs the report's assigned
//! inspector when the caller is an inspector, and every reader of a report
//! (the API's report, photo and nearby reads, the console) looks it up here.

use uuid::Uuid;

use super::AppState;
use super::problem::Problem;
use crate::auth::{Caller, Role};
use crate::repo::StoredReport;

/// The inspector the report's inspection is assigned to, looked up only for
/// inspector callers (the only role whose access depends on it).
pub async fn assigned_inspector(
    state: &AppState,
    caller: &Caller,
    report: &StoredReport,
) -> Result<Option<Uuid>, Problem> {
    if caller.role() != Role::Inspector {
        return Ok(None);
    }
    Ok(state
        .repo
        .inspection(report.station_id, report.id)
        .await?
        .map(|i| i.inspector_id))
}
