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
use chrono::{DateTime, Duration, Utc};
use postcso_model::{CategoryList, ReviewStatus};
use serde::{Deserialize, Serialize};

use super::i18n::Lang;
use super::views::{self, Chrome};
use super::{ConsoleSession, role_page};
use crate::auth::policy::{may_export_reports, may_triage, may_use_review_queue};
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::repo::review::OverdueRule;
use crate::repo::{QueueFilter, QueueOrder, QueuePage, QueueQuery, Zone};

/// Reports on one page of the list (and on the map beside it).
pub const PAGE_SIZE: u32 = 50;

/// The statuses a supervisor can filter on, in the order the menu lists them.
const STATUS_CHOICES: [ReviewStatus; 7] = [
    ReviewStatus::Received,
    ReviewStatus::Accepted,
    ReviewStatus::Inspecting,
    ReviewStatus::Referred,
    ReviewStatus::Fixed,
    ReviewStatus::Rejected,
    ReviewStatus::Merged,
];

/// Statuses the default view shows: everything not yet closed.
const OPEN: [ReviewStatus; 4] = [
    ReviewStatus::Received,
    ReviewStatus::Accepted,
    ReviewStatus::Inspecting,
    ReviewStatus::Referred,
];

/// The ages the filter offers: (value, catalogue key, younger than / older than).
const AGES: [(&str, &str); 6] = [
    ("", "filter.age_any"),
    ("lt1d", "filter.age_lt1d"),
    ("lt7d", "filter.age_lt7d"),
    ("gt2d", "filter.age_gt2d"),
    ("gt7d", "filter.age_gt7d"),
    ("gt30d", "filter.age_gt30d"),
];

/// The queue's address parameters. Unknown or malformed values are ignored
/// (the default applies), so an edited address never fails.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct QueueParams {
    /// `open` (default), `all`, or one status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// A category code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A zone code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<String>,
    /// A district / jurisdiction code (plumbing for the geography work:
    /// filters on what the phone sealed; no menu yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// One of [`AGES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age: Option<String>,
    /// `1`: overdue only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overdue: Option<String>,
    /// Free text (never pushed into the address).
    #[serde(default, skip_serializing)]
    pub q: Option<String>,
    /// `newest` (default) or `oldest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Page number from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl QueueParams {
    /// Drops empty and default values, so the address stays short.
    fn normalised(&self) -> Self {
        let keep = |v: &Option<String>, default: &str| {
            non_empty(v).filter(|v| *v != default).map(str::to_owned)
        };
        Self {
            status: keep(&self.status, "open"),
            category: keep(&self.category, ""),
            zone: keep(&self.zone, ""),
            district: keep(&self.district, ""),
            age: keep(&self.age, "").filter(|a| AGES.iter().any(|(v, _)| v == a)),
            overdue: keep(&self.overdue, "").filter(|o| o == "1"),
            q: keep(&self.q, ""),
            sort: keep(&self.sort, "newest").filter(|s| s == "oldest"),
            page: keep(&self.page, "1").filter(|p| p.parse::<u64>().is_ok_and(|n| n > 1)),
        }
    }

    fn page_number(&self) -> u64 {
        non_empty(&self.page)
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|&p| p >= 1)
            .unwrap_or(1)
    }

    /// The store query these parameters mean at `now`.
    fn query(&self, rule: OverdueRule, now: DateTime<Utc>) -> QueueQuery {
        let statuses = match non_empty(&self.status) {
            None | Some("open") => OPEN.to_vec(),
            Some("all") => Vec::new(),
            Some(one) => {
                let status = ReviewStatus::from(one.to_owned());
                if STATUS_CHOICES.contains(&status) {
                    vec![status]
                } else {
                    OPEN.to_vec()
                }
            }
        };
        let (received_since, received_before) = match non_empty(&self.age) {
            Some("lt1d") => (Some(now - Duration::days(1)), None),
            Some("lt7d") => (Some(now - Duration::days(7)), None),
            Some("gt2d") => (None, Some(now - Duration::days(2))),
            Some("gt7d") => (None, Some(now - Duration::days(7))),
            Some("gt30d") => (None, Some(now - Duration::days(30))),
            _ => (None, None),
        };
        QueueQuery {
            filter: QueueFilter {
                statuses,
                category: non_empty(&self.category).map(str::to_owned),
                zone: non_empty(&self.zone).map(str::to_owned),
                district: non_empty(&self.district).map(str::to_owned),
                received_since,
                received_before,
                text: non_empty(&self.q).map(|q| q.chars().take(100).collect()),
                overdue: (non_empty(&self.overdue) == Some("1")).then_some((rule, now)),
            },
            order: if non_empty(&self.sort) == Some("oldest") {
                QueueOrder::Oldest
            } else {
                QueueOrder::Newest
            },
            offset: (self.page_number() - 1).saturating_mul(u64::from(PAGE_SIZE)),
            limit: PAGE_SIZE,
        }
    }

    /// The filter these parameters mean at `now` (what an export follows).
    pub(crate) fn filter(&self, rule: OverdueRule, now: DateTime<Utc>) -> QueueFilter {
        self.query(rule, now).filter
    }

    /// The filter alone, normalised: no page, no order, no search text
    /// (what an export's audit row records).
    pub(crate) fn without_page(&self) -> Self {
        Self {
            page: None,
            sort: None,
            q: None,
            ..self.normalised()
        }
    }

    /// The filter's fields as an export form repeats them (the search text
    /// included: the form is posted, so it never reaches an address).
    pub(crate) fn export_fields(&self) -> Vec<(&'static str, String)> {
        let p = self.normalised();
        [
            ("status", p.status),
            ("category", p.category),
            ("zone", p.zone),
            ("district", p.district),
            ("age", p.age),
            ("overdue", p.overdue),
            ("q", p.q),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect()
    }

    /// The console address of these parameters (without the search text).
    pub fn url(&self) -> String {
        let query = serde_urlencoded::to_string(self.normalised()).unwrap_or_default();
        if query.is_empty() {
            super::ROOT.to_owned()
        } else {
            format!("{}?{query}", super::ROOT)
        }
    }
}

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
    let here = params.url();
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
    let url = params.url();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_keeps_the_filter_but_never_the_search_text() {
        let params = QueueParams {
            status: Some("received".into()),
            category: Some("".into()),
            zone: Some("route-1".into()),
            q: Some("010-1234-5678".into()),
            sort: Some("newest".into()),
            page: Some("2".into()),
            age: Some("bogus".into()),
            ..QueueParams::default()
        };
        let url = params.url();
        assert_eq!(url, "/console/?status=received&zone=route-1&page=2");
        assert_eq!(QueueParams::default().url(), "/console/");
    }

    #[test]
    fn parameters_become_the_store_query_and_bad_values_fall_back() {
        let rule = OverdueRule {
            untriaged_after: Duration::days(2),
            unresolved_after: Duration::days(7),
        };
        let now = Utc::now();
        let q = QueueParams::default().query(rule, now);
        assert_eq!(q.filter.statuses, OPEN.to_vec());
        assert_eq!((q.offset, q.limit), (0, PAGE_SIZE));
        let q = QueueParams {
            status: Some("all".into()),
            age: Some("gt7d".into()),
            overdue: Some("1".into()),
            sort: Some("oldest".into()),
            page: Some("3".into()),
            ..QueueParams::default()
        }
        .query(rule, now);
        assert!(q.filter.statuses.is_empty());
        assert_eq!(q.filter.received_before, Some(now - Duration::days(7)));
        assert_eq!(q.filter.overdue, Some((rule, now)));
        assert_eq!(q.order, QueueOrder::Oldest);
        assert_eq!(q.offset, 100);
        let q = QueueParams {
            status: Some("teleported".into()),
            page: Some("-4".into()),
            ..QueueParams::default()
        }
        .query(rule, now);
        assert_eq!(q.filter.statuses, OPEN.to_vec());
        assert_eq!(q.offset, 0);
    }
}
