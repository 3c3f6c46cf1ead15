//! The changes feed: what changed for the caller since its cursor.
//!
//! The cursor is opaque to clients: base64url of `v1:<seq>`, the last
//! per-station sequence number delivered. Feed entries are written in the same
//! transaction as the change they describe, so following the cursor never
//! skips or repeats anything. No cursor means "from the beginning", which
//! starts with the category list the station was created with.

use axum::extract::{Query, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use postcso_core::model::ZoneInfo;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::problem::Problem;
use crate::auth::Caller;
use crate::auth::policy::feed_audience;
use crate::repo::{Audience, Change, ChangeBody, Zone};

/// Default and largest page.
const DEFAULT_LIMIT: u32 = 100;
const MAX_LIMIT: u32 = 500;

/// Query of a feed read.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ChangesQuery {
    /// The `cursor` of the previous response; absent to start from the beginning.
    pub cursor: Option<String>,
    /// Most entries to return, 1 to 500; default 100.
    pub limit: Option<u32>,
}

/// One entry of the feed; `kind` says which.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeView {
    /// For the filing carrier's phone: its report's status or completeness changed.
    ReportStatus {
        /// The report.
        report_id: Uuid,
        /// Review status now (`received`, `accepted`, `rejected`, ...).
        status: String,
        /// Whether every photo has arrived.
        complete: bool,
        /// The supervisor's reason, e.g. for a rejection.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// For supervisors: a report of the station was created or changed.
    Report {
        /// `created`, `status`, `photo` (a photo arrived) or `complete` (the last one did).
        event: String,
        /// The report.
        report_id: Uuid,
        /// Review status after the event.
        status: String,
        /// Whether every photo had arrived.
        complete: bool,
        /// Photos still missing after the event.
        photos_missing: u32,
        /// The supervisor's reason, if any.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// The station's full category list (replace the local copy).
    Categories {
        /// `CategoryInfo` entries, retired ones included.
        #[schema(value_type = Vec<super::openapi::CategoryDoc>)]
        categories: serde_json::Value,
    },
    /// For carrier phones: the station's full zone list (replace the local
    /// copy), with `assigned` set on the phone's own zones.
    Zones {
        /// Zones, retired ones included.
        #[schema(value_type = Vec<super::zones::ZoneInfoDoc>)]
        zones: Vec<ZoneInfo>,
    },
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangesPage {
    /// Entries, oldest first.
    pub changes: Vec<ChangeView>,
    /// Pass back as `cursor` next time; never goes backwards.
    pub cursor: String,
    /// Whether more entries are waiting: ask again at once.
    pub has_more: bool,
}

/// Encodes a position in the station's feed.
pub fn encode_cursor(seq: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{seq}"))
}

/// Decodes a cursor made by [`encode_cursor`].
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix("v1:")?.parse().ok()
}

fn view(change: Change, audience: Audience) -> Result<ChangeView, Problem> {
    Ok(match change.body {
        ChangeBody::Categories(categories) => ChangeView::Categories { categories },
        ChangeBody::Zones(zones) => {
            let zones: Vec<Zone> = serde_json::from_value(zones).map_err(|e| {
                tracing::error!(error = %e, seq = change.seq, "stored zone list does not parse");
                Problem::internal()
            })?;
            let device = match audience {
                Audience::Device(device) => device,
                // Staff read zones at /v1/zones; their feed never selects these.
                Audience::Station | Audience::CategoriesOnly => Uuid::nil(),
            };
            ChangeView::Zones {
                zones: zones.iter().map(|z| z.for_device(device)).collect(),
            }
        }
        ChangeBody::Report {
            event,
            report_id,
            status,
            reason,
            complete,
            photos_missing,
            ..
        } => match audience {
            Audience::Device(_) => ChangeView::ReportStatus {
                report_id: report_id.as_uuid(),
                status: status.as_str().to_owned(),
                complete,
                reason,
            },
            Audience::Station | Audience::CategoriesOnly => ChangeView::Report {
                event: event.as_str().to_owned(),
                report_id: report_id.as_uuid(),
                status: status.as_str().to_owned(),
                complete,
                photos_missing,
                reason,
                at: change.at,
            },
        },
    })
}

/// `GET /v1/changes`
#[utoipa::path(get, path = "/v1/changes", tag = "changes",
    params(ChangesQuery),
    security(("device_token" = []), ("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Changes after the cursor that the caller may see. Carrier phones: \
            `categories`, `zones` and `report_status` of their own reports (on triage and when the last photo \
            arrives). Supervisors: `categories` and `report` for every report event of the station. \
            Other staff: `categories`.", body = ChangesPage),
        (status = 400, description = "A cursor this station did not make", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<ChangesQuery>,
) -> Result<axum::Json<ChangesPage>, Problem> {
    let after = match query.cursor.as_deref() {
        None | Some("") => 0,
        Some(c) => decode_cursor(c).ok_or_else(|| {
            Problem::new(
                axum::http::StatusCode::BAD_REQUEST,
                "invalid-cursor",
                "Invalid cursor",
                "pass back the cursor of a previous response, or none to start over",
            )
        })?,
    };
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let audience = feed_audience(&caller);
    let mut changes = state
        .repo
        .changes(caller.station_id(), audience, after, limit + 1)
        .await?;
    let has_more = changes.len() > limit as usize;
    changes.truncate(limit as usize);
    let last = changes.last().map_or(after, |c| c.seq);
    Ok(axum::Json(ChangesPage {
        changes: changes
            .into_iter()
            .map(|c| view(c, audience))
            .collect::<Result<_, _>>()?,
        cursor: encode_cursor(last),
        has_more,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(decode_cursor("bm9wZQ"), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
