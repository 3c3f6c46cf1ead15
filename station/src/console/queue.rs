//! The supervisors' queue: the station's reports as a list and on a map,
//! filtered and paged on the server ([`crate::repo::ReviewStore`]).
//!
//! The filter lives in the page's address, so a view can be bookmarked or
//! shared; the free-text search does not (it may hold a name or a phone
//! number someone typed), so the address htmx pushes leaves it out.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use postcso_model::CategoryList;
use serde::Serialize;

use super::i18n::Lang;
use super::views::{self, Chrome};
use super::{ConsoleSession, role_page};
use crate::auth::policy::{may_export_reports, may_triage, may_use_review_queue};
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::queue_filter::{AGES, QueueParams, STATUS_CHOICES};
use crate::repo::review::OverdueRule;
use crate::repo::{QueuePage, Zone};

/// One choice of a filter menu.
pub struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One row of the list, ready to show.
pub struct RowView {
    id: String,
    short_id: String,
    href: String,
    category: String,
    status_label: String,
    status_class: &'static str,
    overdue: Option<(String, &'static str)>,
    age: String,
    received: String,
    device: String,
    note: String,
    thumb: Option<String>,
    photos_missing: Option<String>,
    /// The station placed it outside its jurisdiction: which district, in words.
    outside: Option<String>,
    /// Its latest referral was declined by the agency.
    declined: Option<String>,
    lat: String,
    lon: String,
    /// The version the row shows: what a bulk decision on it is made on.
    version: u64,
    /// The checkbox's accessible name.
    pick_label: String,
}

/// The list, the pager and the counts: the part htmx swaps.
#[derive(Template)]
#[template(path = "queue_list.html")]
pub struct QueueList {
    chrome: Chrome,
    rows: Vec<RowView>,
    total: String,
    page_label: String,
    prev: Option<u64>,
    next: Option<u64>,
    /// Whether the rows can be selected for a bulk decision.
    can_bulk: bool,
    /// "Export these N reports", with the filter (`None`: the role may not export).
    export: Option<super::exports::ExportForm>,
}

/// The whole queue page.
#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePageView {
    chrome: Chrome,
    list: QueueList,
    statuses: Vec<Choice>,
    categories: Vec<Choice>,
    zones: Vec<Choice>,
    ages: Vec<Choice>,
    sorts: Vec<Choice>,
    overdue: bool,
    q: String,
    tile_url: String,
    tile_attribution: String,
    zones_json: String,
}

fn rule(state: &AppState) -> OverdueRule {
    OverdueRule {
        untriaged_after: state.config.console.untriaged_after,
        unresolved_after: state.config.console.unresolved_after,
    }
}

fn rows(
    chrome: &Chrome,
    page: &QueuePage,
    categories: &CategoryList,
    rule: OverdueRule,
) -> Vec<RowView> {
    let now = Utc::now();
    let t = chrome.t;
    let lang = t.lang();
    page.rows
        .iter()
        .map(|r| {
            let id = r.id.to_string();
            RowView {
                // The end of the id: a UUIDv7 starts with its time, which
                // reports filed together share.
                short_id: id[id.len().saturating_sub(8)..].to_owned(),
                href: format!("/console/reports/{id}"),
                category: views::category_name(categories, r.content.category.as_str(), lang),
                status_label: t.get(views::status_key(&r.status)).to_owned(),
                status_class: views::status_class(&r.status),
                overdue: rule.judge(&r.status, r.received_at, now).map(|o| {
                    let (key, class) = views::overdue_key(o);
                    (t.get(key).to_owned(), class)
                }),
                age: views::age(t, r.received_at, now),
                received: views::local(r.received_at),
                device: r.device_label.clone(),
                note: r
                    .content
                    .note
                    .as_ref()
                    .map(|n| views::excerpt(n.as_str(), 90))
                    .unwrap_or_default(),
                thumb: r
                    .first_photo
                    .map(|n| format!("/v1/reports/{id}/photos/{n}?size=thumb")),
                photos_missing: (r.photos_missing > 0)
                    .then(|| t.fill("row.photos_missing", r.photos_missing)),
                outside: r.outside_jurisdiction.then(|| match &r.district_name {
                    Some(district) => t.fill("row.outside", district),
                    None => t.get("row.outside_unknown").to_owned(),
                }),
                declined: r
                    .referral_declined
                    .then(|| t.get("referral.declined_row").to_owned()),
                lat: format!("{:.6}", r.content.location.lat()),
                lon: format!("{:.6}", r.content.location.lon()),
                version: r.version,
                pick_label: t.fill("bulk.select_row", &id[id.len().saturating_sub(8)..]),
                id,
            }
        })
        .collect()
}

/// Reads the page's data and builds the list.
async fn load_list(
    state: &AppState,
    chrome: Chrome,
    session: &crate::repo::Session,
    params: &QueueParams,
) -> Result<(QueueList, CategoryList), (Chrome, Problem)> {
    let station = session.user.station_id;
    let rule = rule(state);
    let query = params.query(rule, Utc::now());
    let (page, categories) = match tokio::try_join!(
        state.repo.review_queue(station, &query),
        state.repo.categories(station)
    ) {
        Ok(both) => both,
        Err(e) => return Err((chrome, e.into())),
    };
    let number = params.page_number();
    let shown_to = query.offset + page.rows.len() as u64;
    let list = QueueList {
        rows: rows(&chrome, &page, &categories, rule),
        total: chrome.t.fill("queue.count", page.total),
        page_label: chrome.t.fill("page.current", number),
        prev: (number > 1).then_some(number - 1),
        next: (shown_to < page.total).then_some(number + 1),
        can_bulk: may_triage(session.user.role),
        export: may_export_reports(session.user.role)
            .then(|| super::exports::ExportForm::new(&chrome, params, page.total)),
        chrome,
    };
    Ok((list, categories))
}

fn choices(
    items: impl IntoIterator<Item = (String, String)>,
    current: Option<&str>,
) -> Vec<Choice> {
    items
        .into_iter()
        .map(|(value, label)| Choice {
            selected: current.unwrap_or_default() == value,
            value,
            label,
        })
        .collect()
}

/// Zones with outlines, as the maps draw them (JSON inside a data block,
/// which a strict CSP allows because it is never executed).
pub fn zones_json(zones: &[Zone]) -> String {
    #[derive(Serialize)]
    struct Outline<'a> {
        code: &'a str,
        name: &'a str,
        area: &'a postcso_model::ZoneArea,
    }
    let outlines: Vec<Outline<'_>> = zones
        .iter()
        .filter(|z| z.retired_at.is_none())
        .filter_map(|z| {
            z.area.as_ref().map(|area| Outline {
                code: &z.code,
                name: &z.name,
                area,
            })
        })
        .collect();
    // `</` cannot end the data block early once escaped.
    serde_json::to_string(&outlines)
        .unwrap_or_else(|_| "[]".into())
        .replace("</", "<\\/")
}

/// `GET /console/`: the queue page.
pub async fn page(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Query(params): Query<QueueParams>,
) -> Response {
    let here = params.address_at(super::ROOT);
    let chrome = Chrome::signed_in(&headers, &session, here);
    if !may_use_review_queue(session.user.role) {
        return role_page(chrome, session.user.role);
    }
    let station = session.user.station_id;
    let list_chrome = Chrome::signed_in(&headers, &session, chrome.here.clone());
    let zones = match state.repo.zones(station).await {
        Ok(zones) => zones,
        Err(e) => return super::error_page(chrome, &e.into()),
    };
    let (list, categories) = match load_list(&state, list_chrome, &session, &params).await {
        Ok(loaded) => loaded,
        Err((_, problem)) => return super::error_page(chrome, &problem),
    };
    let t = chrome.t;
    let lang = t.lang();
    let current = params.normalised();
    let statuses = choices(
        [
            ("open".to_owned(), t.get("filter.status_open").to_owned()),
            ("all".to_owned(), t.get("filter.status_all").to_owned()),
        ]
        .into_iter()
        .chain(STATUS_CHOICES.iter().map(|s| {
            (
                s.as_str().to_owned(),
                t.get(views::status_key(s)).to_owned(),
            )
        })),
        Some(current.status.as_deref().unwrap_or("open")),
    );
    let categories = choices(
        std::iter::once((String::new(), t.get("filter.category_all").to_owned())).chain(
            categories.entries().iter().map(|c| {
                (
                    c.code.as_str().to_owned(),
                    match lang {
                        Lang::Ko => c.name_ko.clone(),
                        Lang::En => c.name_en.clone(),
                    },
                )
            }),
        ),
        current.category.as_deref(),
    );
    let zone_choices = choices(
        std::iter::once((String::new(), t.get("filter.zone_all").to_owned())).chain(
            zones
                .iter()
                .filter(|z| z.retired_at.is_none())
                .map(|z| (z.code.clone(), z.name.clone())),
        ),
        current.zone.as_deref(),
    );
    let ages = choices(
        AGES.iter()
            .map(|(v, key)| ((*v).to_owned(), t.get(key).to_owned())),
        current.age.as_deref(),
    );
    let sorts = choices(
        [
            ("newest".to_owned(), t.get("filter.sort_newest").to_owned()),
            ("oldest".to_owned(), t.get("filter.sort_oldest").to_owned()),
        ],
        Some(current.sort.as_deref().unwrap_or("newest")),
    );
    let view = QueuePageView {
        list,
        statuses,
        categories,
        zones: zone_choices,
        ages,
        sorts,
        overdue: current.overdue.is_some(),
        q: current.q.clone().unwrap_or_default(),
        tile_url: state.config.console.tile_url.clone().unwrap_or_default(),
        tile_attribution: state
            .config
            .console
            .tile_attribution
            .clone()
            .unwrap_or_default(),
        zones_json: zones_json(&zones),
        chrome,
    };
    views::page(StatusCode::OK, &view)
}

/// `GET /console/queue`: the list alone, for htmx; pushes the filter's
/// address (without the search text) into the browser's history.
pub async fn fragment(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Query(params): Query<QueueParams>,
) -> Response {
    let url = params.address_at(super::ROOT);
    let chrome = Chrome::signed_in(&headers, &session, url.clone());
    if !may_use_review_queue(session.user.role) {
        return role_page(chrome, session.user.role);
    }
    match load_list(&state, chrome, &session, &params).await {
        Ok((list, _)) => {
            let mut response = views::page(StatusCode::OK, &list);
            if let Ok(url) = HeaderValue::from_str(&url) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static("hx-push-url"), url);
            }
            response.into_response()
        }
        Err((chrome, problem)) => super::error_page(chrome, &problem),
    }
}
