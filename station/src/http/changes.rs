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
use postcso_model::{ChangesPage, FeedEntry};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::AppState;
use super::problem::{Problem, ProblemType};
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

/// Documentation of one feed entry for the OpenAPI document. The wire type is
/// `postcso_model::FeedEntry`, which the phone reads too; a test checks the two
/// list the same kinds and fields.
#[derive(Serialize, ToSchema)]
#[schema(as = FeedEntry)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[allow(dead_code)]
pub enum FeedEntryDoc {
    /// For the filing carrier's phone: its report's status or completeness changed.
    ReportStatus {
        /// The report.
        report_id: Uuid,
        /// Review status now (`received`, `accepted`, `rejected`, ...).
        status: String,
        /// Whether every photo has arrived.
        complete: bool,
        /// The supervisor's reason, e.g. for a rejection.
        reason: Option<String>,
    },
    /// For supervisors: a report of the station was created or changed.
    Report {
        /// `created`, `status`, `photo` (a photo arrived), `complete` (the last
        /// one did), `inspected` or `follow_up` (a follow-up of the report
        /// arrived; its view lists it).
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
        reason: Option<String>,
        /// When it happened.
        at: DateTime<Utc>,
    },
    /// The station's full category list (replace the local copy).
    Categories {
        /// `CategoryInfo` entries, retired ones included.
        categories: Vec<super::openapi::CategoryDoc>,
    },
    /// For carrier phones: the station's full zone list (replace the local
    /// copy), with `assigned` set on the phone's own zones. Written by
    /// stations before zone deltas (`zone`); a feed read from the start may
    /// still hold them.
    Zones {
        /// Zones, retired ones included.
        zones: Vec<super::zones::ZoneInfoDoc>,
    },
    /// For carrier phones: one zone was added or changed (add it, or replace
    /// the local copy with the same code), `assigned` set when it is the
    /// phone's. One entry per changed zone.
    Zone {
        /// The zone as it is now; retired ones included, flagged.
        zone: super::zones::ZoneInfoDoc,
    },
}

/// Documentation of a page of the feed (`postcso_model::ChangesPage`).
#[derive(ToSchema)]
#[schema(as = ChangesPage)]
#[allow(dead_code)]
pub struct ChangesPageDoc {
    /// Entries, oldest first.
    changes: Vec<FeedEntryDoc>,
    /// Pass back as `cursor` next time; never goes backwards.
    cursor: String,
    /// Whether more entries are waiting: ask again at once.
    has_more: bool,
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

/// The device a zone's `assigned` is cut for.
fn device_of(audience: Audience) -> Uuid {
    match audience {
        Audience::Device(device) => device,
        // Staff read zones at /v1/zones; their feed never selects these.
        Audience::Station | Audience::CategoriesOnly => Uuid::nil(),
    }
}

fn view(change: Change, audience: Audience) -> Result<FeedEntry, Problem> {
    Ok(match change.body {
        ChangeBody::Categories(categories) => FeedEntry::Categories {
            categories: serde_json::from_value(categories).map_err(|e| {
                tracing::error!(error = %e, seq = change.seq, "stored category list does not parse");
                Problem::internal()
            })?,
        },
        ChangeBody::Zones(zones) => {
            let zones: Vec<Zone> = serde_json::from_value(zones).map_err(|e| {
                tracing::error!(error = %e, seq = change.seq, "stored zone list does not parse");
                Problem::internal()
            })?;
            let device = device_of(audience);
            FeedEntry::Zones {
                zones: zones.iter().map(|z| z.for_device(device)).collect(),
            }
        }
        ChangeBody::Zone(zone) => {
            let zone: Zone = serde_json::from_value(zone).map_err(|e| {
                tracing::error!(error = %e, seq = change.seq, "stored zone does not parse");
                Problem::internal()
            })?;
            FeedEntry::Zone {
                zone: zone.for_device(device_of(audience)),
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
            Audience::Device(_) => FeedEntry::ReportStatus {
                report_id,
                status,
                complete,
                reason,
            },
            Audience::Station | Audience::CategoriesOnly => FeedEntry::Report {
                event,
                report_id,
                status,
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
            `categories`, `zone` (one per changed zone; `zones`, whole lists, in entries written before \
            zone deltas) and `report_status` of their own reports (on triage and when the last photo \
            arrives). Supervisors: `categories` and `report` for every report event of the station. \
            Other staff: `categories`.", body = ChangesPageDoc),
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
                ProblemType::InvalidCursor,
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
    use postcso_model::{CategoryList, ReportEventKind, ReportId, ReviewStatus, ZoneInfo};
    use std::collections::BTreeMap;

    /// Each kind of the wire type, with every optional field present.
    fn samples() -> Vec<FeedEntry> {
        let report_id = ReportId::new();
        vec![
            FeedEntry::ReportStatus {
                report_id,
                status: ReviewStatus::Rejected,
                complete: true,
                reason: Some("duplicate".into()),
            },
            FeedEntry::Report {
                event: ReportEventKind::Status,
                report_id,
                status: ReviewStatus::Rejected,
                complete: true,
                photos_missing: 0,
                reason: Some("duplicate".into()),
                at: Utc::now(),
            },
            FeedEntry::Categories {
                categories: CategoryList::default().entries().to_vec(),
            },
            FeedEntry::Zones {
                zones: vec![zone()],
            },
            FeedEntry::Zone { zone: zone() },
        ]
    }

    /// A zone with every optional field present.
    fn zone() -> ZoneInfo {
        ZoneInfo {
            code: "yeonhui-alley".into(),
            kind: postcso_model::ZoneKind::WatchArea,
            theme: Some("dark_alley".into()),
            name: "연희동 골목".into(),
            name_en: Some("Yeonhui alley".into()),
            guidance: Some("Broken lights".into()),
            valid_from: Some(Utc::now()),
            valid_until: Some(Utc::now()),
            area: Some(postcso_model::ZoneArea::Polygon {
                coordinates: vec![vec![[126.93, 37.56]]],
            }),
            assigned: true,
            retired: false,
        }
    }

    #[test]
    fn the_documented_zone_lists_the_wire_zones_fields() {
        let doc = serde_json::to_value(crate::http::openapi_document()).expect("doc");
        let documented: std::collections::BTreeSet<String> =
            doc["components"]["schemas"]["ZoneInfo"]["properties"]
                .as_object()
                .expect("ZoneInfo is documented")
                .keys()
                .cloned()
                .collect();
        let wire: std::collections::BTreeSet<String> = serde_json::to_value(zone())
            .expect("serialises")
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(documented, wire);
    }

    #[test]
    fn the_documented_feed_entry_lists_the_wire_types_kinds_and_fields() {
        let doc = serde_json::to_value(crate::http::openapi_document()).expect("doc");
        let variants = doc["components"]["schemas"]["FeedEntry"]["oneOf"]
            .as_array()
            .expect("FeedEntry is documented as oneOf");
        let documented: BTreeMap<String, Vec<String>> = variants
            .iter()
            .map(|v| {
                let props = v["properties"].as_object().expect("properties");
                let kind = props["kind"]["enum"][0].as_str().expect("kind").to_owned();
                (kind, props.keys().cloned().collect())
            })
            .collect();
        let wire: BTreeMap<String, Vec<String>> = samples()
            .iter()
            .map(|entry| {
                let value = serde_json::to_value(entry).expect("serialises");
                let object = value.as_object().expect("object");
                let kind = object["kind"].as_str().expect("kind").to_owned();
                (kind, object.keys().cloned().collect())
            })
            .collect();
        assert_eq!(documented, wire);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        for seq in [0, 1, 42, u64::MAX] {
            assert_eq!(decode_cursor(&encode_cursor(seq)), Some(seq));
        }
        assert_eq!(decode_cursor("bm9wZQ"), None);
        assert_eq!(decode_cursor("!!"), None);
    }
}
