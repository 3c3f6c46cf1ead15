//! Reading and exporting the audit log (admins only), as JSON or CSV.

use axum::extract::{Query, State};
use axum::http::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::problem::Problem;
use crate::auth::StaffCaller;
use crate::auth::policy::may_read_audit;
use crate::repo::AuditEntry;

/// Default and largest page.
const DEFAULT_LIMIT: u32 = 500;
const MAX_LIMIT: u32 = 10_000;

/// Query of an audit read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only entries with `seq` greater than this (for paging); default 0.
    pub after: Option<u64>,
    /// Page size, 1 to 10000; default 500.
    pub limit: Option<u32>,
    /// `csv` for a CSV export (also chosen by `Accept: text/csv`); default JSON.
    pub format: Option<String>,
}

/// A page of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Entries, oldest first.
    pub entries: Vec<AuditEntry>,
    /// Pass as `after` for the next page.
    pub last_seq: u64,
}

/// Quotes a CSV field (RFC 4180), and defuses spreadsheet formulas.
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from(
        "seq,at,actor_role,actor_user_id,actor_username,actor_device_id,action,target_kind,target_id,before,after\r\n",
    );
    for e in entries {
        let opt = |v: Option<String>| v.unwrap_or_default();
        let fields = [
            e.seq.to_string(),
            e.at.to_rfc3339(),
            e.actor_role.clone(),
            opt(e.actor_user_id.map(|u| u.to_string())),
            opt(e.actor_username.clone()),
            opt(e.actor_device_id.map(|u| u.to_string())),
            e.action.clone(),
            e.target_kind.clone(),
            e.target_id.clone(),
            opt(e.before.as_ref().map(ToString::to_string)),
            opt(e.after.as_ref().map(ToString::to_string)),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn wants_csv(query: &AuditQuery, headers: &HeaderMap) -> Result<bool, Problem> {
    match query.format.as_deref() {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(Problem::bad_request("format must be `json` or `csv`")),
        None => Ok(headers
            .get(ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/csv"))),
    }
}

/// `GET /v1/audit`
#[utoipa::path(get, path = "/v1/audit", tag = "audit",
    params(AuditQuery),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of the station's audit log: JSON, or CSV with `?format=csv` / `Accept: text/csv`", body = AuditPage),
        (status = 400, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Query(query): Query<AuditQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    if !may_read_audit(session.user.role) {
        return Err(Problem::forbidden("only admins may read the audit log"));
    }
    let csv = wants_csv(&query, &headers)?;
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let entries = state
        .repo
        .audit_entries(session.user.station_id, after, limit)
        .await?;
    if csv {
        let mut response = to_csv(&entries).into_response();
        let headers = response.headers_mut();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        headers.insert(
            CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment; filename=\"audit.csv\""),
        );
        return Ok(response);
    }
    let last_seq = entries.last().map_or(after, |e| e.seq);
    Ok(axum::Json(AuditPage { entries, last_seq }).into_response())
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
