//! Duplicates: the report page's "possible duplicates" (the nearby reports
//! of `repo::nearby`, with what a supervisor judges them by: distance,
//! category, status, age, a thumbnail, the note), the comparison of two
//! reports side by side with their photos at full size and both positions on
//! one map, and the merge in one step ([`crate::http::merges::merge`], the
//! API's path, with its version check).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use postcso_model::{CategoryList, ReportId, metres_between};
use serde::Deserialize;
use uuid::Uuid;

use super::i18n::{Catalogue, Lang};
use super::lookup::{parse_id, readable, seen_version};
use super::views::PhotoView;
use super::views::{self, Chrome};
use super::{ConsoleSession, csrf, error_page, message_page, redirect};
use crate::auth::policy::may_triage;
use crate::http::AppState;
use crate::http::merges::{MERGED_MESSAGE_KEY, merge};
use crate::http::problem::{Problem, ProblemType};
use crate::repo::{NearbyReport, Session, StoredReport, nearby};

/// Most nearby reports the report page lists (the rest are counted).
pub const SHOWN: usize = 12;

/// A nearby report as the report page lists it.
pub struct DuplicateView {
    pub(super) short_id: String,
    pub(super) compare: String,
    pub(super) distance: String,
    pub(super) category: String,
    pub(super) status_label: String,
    pub(super) status_class: &'static str,
    pub(super) age: String,
    pub(super) created: String,
    pub(super) device: String,
    pub(super) note: String,
    pub(super) thumb: Option<String>,
}

/// The report page's "possible duplicates" section.
pub struct DuplicatesView {
    pub(super) rows: Vec<DuplicateView>,
    pub(super) more: Option<String>,
}

/// The short id the console shows: the end of the UUID (a UUIDv7 starts
/// with its time, which reports filed together share).
pub fn short_id(id: ReportId) -> String {
    let id = id.to_string();
    id[id.len().saturating_sub(8)..].to_owned()
}

fn label_of(labels: &[(Uuid, String)], device: Uuid) -> String {
    labels
        .iter()
        .find(|(d, _)| *d == device)
        .map_or_else(|| device.to_string(), |(_, l)| l.clone())
}

fn first_thumb(report: &StoredReport) -> Option<String> {
    report
        .photos
        .iter()
        .find(|p| p.received)
        .map(|p| format!("/v1/reports/{}/photos/{}?size=thumb", report.id, p.position))
}

/// The nearby reports of `report`, as its page lists them: the nearest
/// [`SHOWN`], each read in full for its thumbnail, note and device.
pub async fn for_report(
    state: &AppState,
    t: &'static Catalogue,
    report: &StoredReport,
    categories: &CategoryList,
    labels: &[(Uuid, String)],
) -> Result<DuplicatesView, Problem> {
    let found: Vec<NearbyReport> = nearby(state.repo.as_ref(), report).await?;
    let now = Utc::now();
    let station = report.station_id;
    let mut rows = Vec::new();
    for n in found.iter().take(SHOWN) {
        let Some(other) = state.repo.report(station, n.id).await? else {
            continue;
        };
        rows.push(DuplicateView {
            short_id: short_id(n.id),
            compare: format!("/console/reports/{}/duplicates/{}", report.id, n.id),
            distance: t.fill("dup.distance", format!("{:.0}", n.distance_m)),
            category: views::category_name(categories, &n.category, t.lang()),
            status_label: t.get(views::status_key(&n.status)).to_owned(),
            status_class: views::status_class(&n.status),
            age: views::age(t, other.received_at, now),
            created: views::local(n.created_at),
            device: label_of(labels, other.device_id),
            note: other
                .content
                .note
                .as_ref()
                .map(|note| views::excerpt(note.as_str(), 120))
                .unwrap_or_default(),
            thumb: first_thumb(&other),
        });
    }
    let more = (found.len() > SHOWN).then(|| t.fill("dup.more", found.len() - SHOWN));
    Ok(DuplicatesView { rows, more })
}

/// One side of the comparison.
pub struct SideView {
    heading: String,
    id: String,
    short_id: String,
    href: String,
    category: String,
    status_label: String,
    status_class: &'static str,
    merged_into: Option<(String, String)>,
    created: String,
    received: String,
    age: String,
    device: String,
    note: Option<String>,
    lat: String,
    lon: String,
    accuracy_m: String,
    accuracy: String,
    photos: Vec<PhotoView>,
}

/// One way to merge, as a form.
pub struct MergeChoice {
    /// The report that is merged (the form posts to it).
    merged: String,
    /// The report kept.
    into: String,
    version: u64,
    label: String,
    id: &'static str,
    /// Why it cannot be done, if it cannot.
    blocked: Option<String>,
}

/// The comparison page.
#[derive(Template)]
#[template(path = "compare.html")]
struct ComparePage {
    chrome: Chrome,
    /// The report the supervisor came from (A), then the other (B).
    sides: [SideView; 2],
    apart: String,
    can_merge: bool,
    choices: Vec<MergeChoice>,
    carrier_told: String,
    error: Option<String>,
    tile_url: String,
    tile_attribution: String,
    zones_json: String,
}

fn side(
    t: &Catalogue,
    heading: &str,
    report: &StoredReport,
    categories: &CategoryList,
    labels: &[(Uuid, String)],
) -> SideView {
    let location = report.content.location;
    let id = report.id;
    SideView {
        heading: t.get(heading).to_owned(),
        id: id.to_string(),
        short_id: short_id(id),
        href: format!("/console/reports/{id}"),
        category: views::category_name(categories, report.content.category.as_str(), t.lang()),
        status_label: t.get(views::status_key(&report.status)).to_owned(),
        status_class: views::status_class(&report.status),
        merged_into: report.merged_into.map(|m| {
            (
                t.fill("cmp.merged_into", short_id(m)),
                format!("/console/reports/{m}"),
            )
        }),
        created: report
            .content
            .created_at
            .format("%Y-%m-%d %H:%M %:z")
            .to_string(),
        received: views::local(report.received_at),
        age: views::age(t, report.received_at, Utc::now()),
        device: label_of(labels, report.device_id),
        note: report.content.note.as_ref().map(|n| n.as_str().to_owned()),
        lat: format!("{:.6}", location.lat()),
        lon: format!("{:.6}", location.lon()),
        accuracy_m: format!("{:.1}", location.accuracy_m()),
        accuracy: t.fill("report.accuracy", format!("{:.0}", location.accuracy_m())),
        photos: super::views::photo_views(t, report),
    }
}

/// Why merging `merged` into `kept` cannot be offered, if it cannot.
fn blocked(t: &Catalogue, merged: &StoredReport, kept: &StoredReport) -> Option<String> {
    if kept.merged_into.is_some() || kept.status == postcso_model::ReviewStatus::Merged {
        Some(t.get("cmp.cannot_merge").to_owned())
    } else if merged.merged_into.is_some_and(|m| m != kept.id) {
        Some(t.get("cmp.refused_already_merged").to_owned())
    } else {
        None
    }
}

/// Builds the comparison of `left` (the report the supervisor came from)
/// and `right`.
async fn render(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    (left, right): (StoredReport, StoredReport),
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let here = format!("/console/reports/{}/duplicates/{}", left.id, right.id);
    let chrome = Chrome::signed_in(headers, session, here);
    let station = session.user.station_id;
    let loaded = tokio::try_join!(
        state.repo.categories(station),
        state.repo.zones(station),
        state.repo.list_devices(station),
    );
    let (categories, zones, devices) = match loaded {
        Ok(all) => all,
        Err(e) => return error_page(chrome, &e.into()),
    };
    let t = chrome.t;
    let labels: Vec<(Uuid, String)> = devices.into_iter().map(|d| (d.id, d.label)).collect();
    let (a, b) = (left.content.location, right.content.location);
    let apart = metres_between((a.lat(), a.lon()), (b.lat(), b.lon()));
    let choices = vec![
        MergeChoice {
            merged: left.id.to_string(),
            into: right.id.to_string(),
            version: left.version,
            label: t.get("cmp.merge_this_into_other").to_owned(),
            id: "merge-this",
            blocked: blocked(t, &left, &right),
        },
        MergeChoice {
            merged: right.id.to_string(),
            into: left.id.to_string(),
            version: right.version,
            label: t.get("cmp.merge_other_into_this").to_owned(),
            id: "merge-other",
            blocked: blocked(t, &right, &left),
        },
    ];
    let page = ComparePage {
        sides: [
            side(t, "cmp.this", &left, &categories, &labels),
            side(t, "cmp.other", &right, &categories, &labels),
        ],
        apart: t.fill("cmp.apart", format!("{apart:.1}")),
        can_merge: may_triage(session.user.role),
        choices,
        carrier_told: t.get(MERGED_MESSAGE_KEY).to_owned(),
        error,
        tile_url: state.config.console.tile_url.clone().unwrap_or_default(),
        tile_attribution: state
            .config
            .console
            .tile_attribution
            .clone()
            .unwrap_or_default(),
        zones_json: super::queue::zones_json(&zones),
        chrome,
    };
    views::page(status, &page)
}

/// Both reports if `session` may read them in full.
async fn both(
    state: &AppState,
    session: &Session,
    left: &str,
    right: &str,
) -> Result<(StoredReport, StoredReport), Problem> {
    let (left, right) = (parse_id(left)?, parse_id(right)?);
    Ok((
        readable(state, session, left).await?,
        readable(state, session, right).await?,
    ))
}

/// `GET /console/reports/{id}/duplicates/{other}`
pub async fn compare(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path((left, right)): Path<(String, String)>,
) -> Response {
    match both(&state, &session, &left, &right).await {
        Ok(pair) => render(&state, &headers, &session, pair, None, StatusCode::OK).await,
        Err(problem) => error_page(Chrome::signed_in(&headers, &session, "/console/"), &problem),
    }
}

/// The merge form's fields.
#[derive(Debug, Deserialize)]
pub struct MergeForm {
    csrf: String,
    /// The report to keep.
    into: String,
    /// The version of the report merged, as the page showed it.
    version: String,
    /// The comparison the form was on: its left and right reports.
    left: String,
    right: String,
}

/// The console's message for a refused merge.
fn refusal_text(t: &Catalogue, problem: &Problem) -> String {
    let key = match ProblemType::from_uri(&problem.type_uri) {
        Some(ProblemType::StaleVersion) => "cmp.stale",
        Some(ProblemType::AlreadyMerged) => "cmp.refused_already_merged",
        Some(ProblemType::MergeTargetMerged) => "cmp.refused_target_merged",
        Some(ProblemType::MergeIntoSelf) => "cmp.refused_into_self",
        Some(ProblemType::MergeTargetUnknown) => "cmp.refused_target_unknown",
        _ => "error.generic",
    };
    t.get(key).to_owned()
}

/// `POST /console/reports/{id}/merge`: merges report `id` into the form's
/// `into`, on the version the comparison showed; then the kept report's
/// page. Refused (changed meanwhile, or no longer allowed): the comparison
/// again, as the reports are now, with why.
pub async fn merge_form(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<MergeForm>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf");
    }
    let (id, into) = match (parse_id(&raw_id), parse_id(&form.into)) {
        (Ok(id), Ok(into)) => (id, into),
        (Err(problem), _) | (_, Err(problem)) => return error_page(chrome(), &problem),
    };
    let seen = match seen_version(chrome(), &form.version) {
        Ok(seen) => seen,
        Err(page) => return *page,
    };
    // The report merged must be one the supervisor may read, like any decision.
    if let Err(problem) = readable(&state, &session, id).await {
        return error_page(chrome(), &problem);
    }
    match merge(&state, &session, id, into, None, Some(seen)).await {
        Ok(_) => redirect(&format!("/console/reports/{into}?merged=1")),
        Err(problem) if matches!(problem.status, 409 | 412 | 422) => {
            let t = Lang::of_request(&headers).catalogue();
            let text = refusal_text(t, &problem);
            match both(&state, &session, &form.left, &form.right).await {
                Ok(pair) => {
                    render(
                        &state,
                        &headers,
                        &session,
                        pair,
                        Some(text),
                        problem.status_code(),
                    )
                    .await
                }
                Err(problem) => error_page(chrome(), &problem),
            }
        }
        Err(problem) => error_page(chrome(), &problem),
    }
}
