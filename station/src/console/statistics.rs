//! The statistics page (one page: every figure, each chart with a table of
//! the same figures) and the monthly programme report (printable on A4, and
//! the same figures as CSV), from [`crate::repo::StatisticsStore`].
//!
//! The period is in the address (`?period=week|month`, `?month=YYYY-MM`);
//! nothing personal is. Device labels appear, never people's names.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate, Utc};
use postcso_model::{CategoryList, ReviewStatus, ZoneKind};
use serde::Deserialize;

use super::charts::{BarChart, ColumnChart, Item};
use super::i18n::{Catalogue, Lang};
use super::views::{self, Chrome};
use super::{ConsoleSession, role_page};
use crate::auth::policy::may_read_statistics;
use crate::http::AppState;
use crate::repo::statistics::{MedianDays, Period, Window, local_day};
use crate::repo::{Session, Statistics, StatisticsQuery, Zone};

/// Periods the page shows: twelve of the chosen kind, up to the current one.
const PERIODS_SHOWN: u32 = 12;

/// The statistics page's address parameters; anything unknown falls back.
#[derive(Debug, Default, Deserialize)]
pub struct StatisticsParams {
    /// `week` or `month` (default).
    pub period: Option<String>,
}

/// The monthly report's address parameters.
#[derive(Debug, Default, Deserialize)]
pub struct MonthParams {
    /// `YYYY-MM`; default the month before the current one (KST).
    pub month: Option<String>,
}

/// A row of a figures table.
pub struct TableRow {
    label: String,
    value: String,
}

/// One section of the page: a heading, a chart and the table of its figures.
pub struct Section {
    id: &'static str,
    heading: String,
    chart: String,
    key_header: String,
    value_header: String,
    rows: Vec<TableRow>,
}

/// A summary figure.
pub struct Tile {
    id: &'static str,
    label: String,
    value: String,
    note: String,
}

/// A choice of the period menu.
pub struct PeriodChoice {
    value: &'static str,
    label: String,
    selected: bool,
}

/// The statistics page.
#[derive(Template)]
#[template(path = "statistics.html")]
struct StatisticsPage {
    chrome: Chrome,
    window_label: String,
    periods: Vec<PeriodChoice>,
    last_month: String,
    tiles: Vec<Tile>,
    sections: Vec<Section>,
    devices: Vec<TableRow>,
}

/// The monthly programme report.
#[derive(Template)]
#[template(path = "monthly.html")]
struct MonthlyPage {
    chrome: Chrome,
    heading: String,
    station: String,
    month: String,
    window_label: String,
    prepared: String,
    summary: Vec<TableRow>,
    sections: Vec<Section>,
    devices: Vec<TableRow>,
}

/// Names of what the figures are keyed by, in the page's language.
struct Names<'a> {
    t: &'static Catalogue,
    categories: &'a CategoryList,
    zones: &'a [Zone],
}

impl Names<'_> {
    fn category(&self, code: &str) -> String {
        views::category_name(self.categories, code, self.t.lang())
    }

    fn status(&self, status: &ReviewStatus) -> String {
        self.t.get(views::status_key(status)).to_owned()
    }

    /// A zone's name and kind; `None` for the station's jurisdiction zones,
    /// which repeat the district figures.
    fn zone(&self, code: &str) -> Option<String> {
        match self.zones.iter().find(|z| z.code == code) {
            Some(z) if z.kind == ZoneKind::Jurisdiction => None,
            Some(z) => {
                let name = match self.t.lang() {
                    Lang::En => z.name_en.clone().unwrap_or_else(|| z.name.clone()),
                    Lang::Ko => z.name.clone(),
                };
                let kind = match z.kind {
                    ZoneKind::WatchArea => self.t.get("stats.kind_watch_area"),
                    _ => self.t.get("stats.kind_beat"),
                };
                Some(format!("{name} ({kind})"))
            }
            None => Some(code.to_owned()),
        }
    }

    fn district(&self, name: Option<&str>) -> String {
        name.map_or_else(|| self.t.get("stats.no_district").to_owned(), str::to_owned)
    }
}

fn status_tone(status: &ReviewStatus) -> &'static str {
    views::status_class(status)
}

/// The participation bands: (lowest, highest) reports per device.
const BANDS: [(u64, u64); 5] = [(0, 0), (1, 2), (3, 5), (6, 10), (11, u64::MAX)];

fn band_label(t: &Catalogue, (low, high): (u64, u64)) -> String {
    if high == u64::MAX {
        t.fill("stats.band_over", low)
    } else if low == high {
        t.fill("stats.band_exact", low)
    } else {
        format!("{low}–{high}")
    }
}

fn median_text(t: &Catalogue, m: MedianDays) -> (String, String) {
    match m.days {
        Some(days) => (
            t.fill("stats.days", format!("{days:.1}")),
            t.fill("stats.of_reports", m.count),
        ),
        None => (
            t.get("stats.no_median").to_owned(),
            t.fill("stats.of_reports", 0),
        ),
    }
}

fn rows_of(items: &[Item]) -> Vec<TableRow> {
    items
        .iter()
        .map(|i| TableRow {
            label: i.label.clone(),
            value: i.value.to_string(),
        })
        .collect()
}

/// A bar chart section whose table lists the same items.
fn bar_section(
    t: &Catalogue,
    id: &'static str,
    heading: String,
    key_header: &str,
    items: Vec<Item>,
) -> Section {
    let rows = rows_of(&items);
    let desc = t.fill("stats.chart_desc", &heading);
    let chart = BarChart::new(
        &format!("{id}-chart"),
        heading.clone(),
        desc,
        items,
        t.get("stats.empty").to_owned(),
    );
    Section {
        id,
        heading,
        chart: chart.render().unwrap_or_default(),
        key_header: t.get(key_header).to_owned(),
        value_header: t.get("stats.reports").to_owned(),
        rows,
    }
}

fn category_section(names: &Names<'_>, s: &Statistics) -> Section {
    let items = s
        .by_category
        .iter()
        .map(|(code, n)| Item {
            label: names.category(code),
            value: *n,
            tone: "category",
        })
        .collect();
    let t = names.t;
    bar_section(
        t,
        "by-category",
        t.get("stats.by_category").to_owned(),
        "stats.col_category",
        items,
    )
}

fn district_section(names: &Names<'_>, s: &Statistics) -> Section {
    let items = s
        .by_district
        .iter()
        .map(|d| Item {
            label: names.district(d.name.as_deref()),
            value: d.count,
            tone: if d.code.is_some() { "district" } else { "none" },
        })
        .collect();
    let t = names.t;
    bar_section(
        t,
        "by-district",
        t.get("stats.by_district").to_owned(),
        "stats.col_district",
        items,
    )
}

fn zone_section(names: &Names<'_>, s: &Statistics) -> Section {
    let items = s
        .by_zone
        .iter()
        .filter_map(|(code, n)| {
            names.zone(code).map(|label| Item {
                label,
                value: *n,
                tone: "zone",
            })
        })
        .collect();
    let t = names.t;
    bar_section(
        t,
        "by-zone",
        t.get("stats.by_zone").to_owned(),
        "stats.col_zone",
        items,
    )
}

fn participation_section(t: &Catalogue, s: &Statistics) -> Section {
    let items: Vec<Item> = BANDS
        .iter()
        .map(|&(low, high)| Item {
            label: band_label(t, (low, high)),
            value: s
                .by_device
                .iter()
                .filter(|(_, n)| *n >= low && *n <= high)
                .count() as u64,
            tone: "devices",
        })
        .collect();
    let heading = t.get("stats.participation").to_owned();
    let mut section = bar_section(t, "participation", heading, "stats.col_reports_band", items);
    section.value_header = t.get("stats.devices").to_owned();
    section
}

fn device_rows(s: &Statistics) -> Vec<TableRow> {
    s.by_device
        .iter()
        .map(|(label, n)| TableRow {
            label: label.clone(),
            value: n.to_string(),
        })
        .collect()
}

fn window_label(t: &Catalogue, window: Window) -> String {
    t.fill(
        "stats.window",
        format!("{} – {}", window.first, window.last_day()),
    )
}

/// The figures' names (categories, zones) for the session's station.
async fn names_data(
    state: &AppState,
    session: &Session,
) -> Result<(CategoryList, Vec<Zone>), crate::http::problem::Problem> {
    let station = session.user.station_id;
    let (categories, zones) =
        tokio::try_join!(state.repo.categories(station), state.repo.zones(station))?;
    Ok((categories, zones))
}

/// `GET /console/statistics`: every figure on one page.
pub async fn page(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Query(params): Query<StatisticsParams>,
) -> Response {
    let period = params
        .period
        .as_deref()
        .and_then(Period::parse)
        .unwrap_or_default();
    let here = format!("/console/statistics?period={}", period.as_str());
    let chrome = Chrome::signed_in(&headers, &session, here);
    if !may_read_statistics(session.user.role) {
        return role_page(chrome, session.user.role);
    }
    let today = local_day(Utc::now());
    let query = StatisticsQuery {
        window: period.last(PERIODS_SHOWN, today),
        period,
    };
    let station = session.user.station_id;
    let loaded = tokio::try_join!(
        async { Ok(state.repo.statistics(station, &query).await?) },
        names_data(&state, &session)
    );
    let (s, (categories, zones)) = match loaded {
        Ok(loaded) => loaded,
        Err(problem) => return super::error_page(chrome, &problem),
    };
    let t = chrome.t;
    let names = Names {
        t,
        categories: &categories,
        zones: &zones,
    };
    let (triage, triage_note) = median_text(t, s.days_to_triage);
    let (fix, fix_note) = median_text(t, s.days_to_fix);
    let tiles = vec![
        Tile {
            id: "stat-received",
            label: t.get("stats.received").to_owned(),
            value: s.received.to_string(),
            note: String::new(),
        },
        Tile {
            id: "stat-triaged",
            label: t.get("stats.triaged").to_owned(),
            value: s.triaged.to_string(),
            note: String::new(),
        },
        Tile {
            id: "stat-referred",
            label: t.get("stats.referred").to_owned(),
            value: s.referred.to_string(),
            note: String::new(),
        },
        Tile {
            id: "stat-fixed",
            label: t.get("stats.fixed").to_owned(),
            value: s.fixed.to_string(),
            note: String::new(),
        },
        Tile {
            id: "stat-days-to-triage",
            label: t.get("stats.days_to_triage").to_owned(),
            value: triage,
            note: triage_note,
        },
        Tile {
            id: "stat-days-to-fix",
            label: t.get("stats.days_to_fix").to_owned(),
            value: fix,
            note: fix_note,
        },
        Tile {
            id: "stat-devices",
            label: t.get("stats.active_devices").to_owned(),
            value: s.active_devices().to_string(),
            note: t.fill("stats.devices_of", s.by_device.len()),
        },
    ];
    let statuses = s
        .by_status
        .iter()
        .map(|(status, n)| Item {
            label: names.status(status),
            value: *n,
            tone: status_tone(status),
        })
        .collect();
    let period_heading = match period {
        Period::Week => "stats.by_period_week",
        Period::Month => "stats.by_period_month",
    };
    let period_items: Vec<(String, String, u64)> = s
        .by_period
        .iter()
        .map(|(first, n)| match period {
            Period::Week => (first.format("%m-%d").to_string(), first.to_string(), *n),
            Period::Month => (
                first.format("%y-%m").to_string(),
                first.format("%Y-%m").to_string(),
                *n,
            ),
        })
        .collect();
    let heading = t.get(period_heading).to_owned();
    let time_chart = ColumnChart::new(
        "by-period-chart",
        heading.clone(),
        t.fill("stats.chart_desc", &heading),
        period_items.clone(),
        t.get("stats.empty").to_owned(),
    );
    let time_section = Section {
        id: "by-period",
        heading,
        chart: time_chart.render().unwrap_or_default(),
        key_header: t.get("stats.col_period").to_owned(),
        value_header: t.get("stats.reports").to_owned(),
        rows: period_items
            .into_iter()
            .map(|(_, label, n)| TableRow {
                label,
                value: n.to_string(),
            })
            .collect(),
    };
    let sections = vec![
        time_section,
        category_section(&names, &s),
        bar_section(
            t,
            "by-status",
            t.get("stats.by_status").to_owned(),
            "stats.col_status",
            statuses,
        ),
        district_section(&names, &s),
        zone_section(&names, &s),
        participation_section(t, &s),
    ];
    let periods = [Period::Month, Period::Week]
        .into_iter()
        .map(|p| PeriodChoice {
            value: p.as_str(),
            label: t
                .get(match p {
                    Period::Week => "stats.period_week",
                    Period::Month => "stats.period_month",
                })
                .to_owned(),
            selected: p == period,
        })
        .collect();
    let view = StatisticsPage {
        window_label: window_label(t, query.window),
        periods,
        last_month: previous_month(today).format("%Y-%m").to_string(),
        tiles,
        sections,
        devices: device_rows(&s),
        chrome,
    };
    views::page(StatusCode::OK, &view)
}

/// The first day of the month before the one holding `today`.
fn previous_month(today: NaiveDate) -> NaiveDate {
    Period::Month.start_of(Period::Month.start_of(today) - chrono::Duration::days(1))
}

/// The month an address names (`YYYY-MM`); `None` when it names none.
fn parse_month(text: &str) -> Option<Window> {
    let (year, month) = text.trim().split_once('-')?;
    let year: i32 = year.parse().ok().filter(|y| (2020..=2100).contains(y))?;
    Window::month(year, month.parse().ok()?)
}

/// The month of the parameters: the named one, else the previous one.
fn month_of(params: &MonthParams) -> Result<Window, ()> {
    match params
        .month
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        Some(text) => parse_month(text).ok_or(()),
        None => {
            let first = previous_month(local_day(Utc::now()));
            Window::month(first.year(), first.month()).ok_or(())
        }
    }
}

fn month_name(lang: Lang, window: Window) -> String {
    match lang {
        Lang::Ko => window.first.format("%Y년 %-m월").to_string(),
        Lang::En => window.first.format("%B %Y").to_string(),
    }
}

async fn monthly_figures(
    state: &AppState,
    session: &Session,
    window: Window,
) -> Result<(Statistics, CategoryList, Vec<Zone>, String), crate::http::problem::Problem> {
    let station = session.user.station_id;
    let query = StatisticsQuery {
        window,
        period: Period::Month,
    };
    let (s, (categories, zones), stations) = tokio::try_join!(
        async { Ok(state.repo.statistics(station, &query).await?) },
        names_data(state, session),
        async { Ok(state.repo.list_stations().await?) }
    )?;
    let name = stations
        .into_iter()
        .find(|st| st.id == station)
        .map(|st| st.name)
        .unwrap_or_default();
    Ok((s, categories, zones, name))
}

/// The monthly report's summary figures: (code, catalogue key, value).
fn summary(s: &Statistics) -> Vec<(&'static str, &'static str, String)> {
    let days = |m: MedianDays| m.days.map(|d| format!("{d:.1}")).unwrap_or_default();
    vec![
        ("received", "stats.received", s.received.to_string()),
        ("triaged", "stats.triaged", s.triaged.to_string()),
        ("referred", "stats.referred", s.referred.to_string()),
        ("fixed", "stats.fixed", s.fixed.to_string()),
        (
            "median_days_to_triage",
            "stats.days_to_triage",
            days(s.days_to_triage),
        ),
        (
            "median_days_to_fix",
            "stats.days_to_fix",
            days(s.days_to_fix),
        ),
        (
            "devices_active",
            "stats.active_devices",
            s.active_devices().to_string(),
        ),
        (
            "devices_listed",
            "stats.devices_listed",
            s.by_device.len().to_string(),
        ),
    ]
}

/// `GET /console/statistics/monthly`: the month's programme report, for print.
pub async fn monthly(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Query(params): Query<MonthParams>,
) -> Response {
    let chrome = Chrome::signed_in(&headers, &session, "/console/statistics/monthly");
    if !may_read_statistics(session.user.role) {
        return role_page(chrome, session.user.role);
    }
    let Ok(window) = month_of(&params) else {
        return super::message_page(chrome, StatusCode::BAD_REQUEST, "stats.month_invalid");
    };
    let month = window.first.format("%Y-%m").to_string();
    let chrome = Chrome::signed_in(
        &headers,
        &session,
        format!("/console/statistics/monthly?month={month}"),
    );
    let (s, categories, zones, station) = match monthly_figures(&state, &session, window).await {
        Ok(loaded) => loaded,
        Err(problem) => return super::error_page(chrome, &problem),
    };
    let t = chrome.t;
    let names = Names {
        t,
        categories: &categories,
        zones: &zones,
    };
    let summary = summary(&s)
        .into_iter()
        .map(|(_, key, value)| TableRow {
            label: t.get(key).to_owned(),
            value: if value.is_empty() {
                t.get("stats.no_median").to_owned()
            } else {
                value
            },
        })
        .collect();
    let view = MonthlyPage {
        heading: t.fill("stats.monthly_heading", month_name(t.lang(), window)),
        station,
        window_label: window_label(t, window),
        prepared: t.fill("stats.prepared", views::local(Utc::now())),
        summary,
        sections: vec![
            category_section(&names, &s),
            district_section(&names, &s),
            zone_section(&names, &s),
        ],
        devices: device_rows(&s),
        month,
        chrome,
    };
    views::page(StatusCode::OK, &view)
}

/// `GET /console/statistics/monthly.csv`: the monthly report's figures as
/// CSV (UTF-8 with a BOM, so Excel reads the Korean names).
pub async fn monthly_csv(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Query(params): Query<MonthParams>,
) -> Response {
    let chrome = Chrome::signed_in(&headers, &session, "/console/statistics");
    if !may_read_statistics(session.user.role) {
        return role_page(chrome, session.user.role);
    }
    let Ok(window) = month_of(&params) else {
        return super::message_page(chrome, StatusCode::BAD_REQUEST, "stats.month_invalid");
    };
    let (s, categories, zones, _) = match monthly_figures(&state, &session, window).await {
        Ok(loaded) => loaded,
        Err(problem) => return super::error_page(chrome, &problem),
    };
    let t = chrome.t;
    let names = Names {
        t,
        categories: &categories,
        zones: &zones,
    };
    let month = window.first.format("%Y-%m").to_string();
    let mut rows: Vec<[String; 4]> =
        vec![["month".into(), month.clone(), String::new(), String::new()]];
    for (code, key, value) in summary(&s) {
        rows.push(["summary".into(), code.into(), t.get(key).to_owned(), value]);
    }
    for (code, n) in &s.by_category {
        rows.push([
            "category".into(),
            code.clone(),
            names.category(code),
            n.to_string(),
        ]);
    }
    for d in &s.by_district {
        rows.push([
            "district".into(),
            d.code.clone().unwrap_or_default(),
            names.district(d.name.as_deref()),
            d.count.to_string(),
        ]);
    }
    for (code, n) in &s.by_zone {
        if let Some(name) = names.zone(code) {
            rows.push(["zone".into(), code.clone(), name, n.to_string()]);
        }
    }
    for (label, n) in &s.by_device {
        rows.push(["device".into(), label.clone(), String::new(), n.to_string()]);
    }
    let body =
        match crate::http::exports::csv_document(&["section", "code", "name", "value"], &rows) {
            Ok(body) => body,
            Err(problem) => return super::error_page(chrome, &problem),
        };
    let disposition = format!("attachment; filename=\"postcso-monthly-{month}.csv\"");
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        h.insert(CONTENT_DISPOSITION, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_default_to_the_previous_one() {
        let w = parse_month("2026-02").expect("month");
        assert_eq!(
            w.last_day(),
            NaiveDate::from_ymd_opt(2026, 2, 28).expect("day")
        );
        assert!(parse_month("2026-13").is_none());
        assert!(parse_month("1999-01").is_none());
        assert!(parse_month("december").is_none());
        let jan = NaiveDate::from_ymd_opt(2027, 1, 15).expect("day");
        assert_eq!(
            previous_month(jan),
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("day")
        );
    }
}
