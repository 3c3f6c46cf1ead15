//! The station's figures: reports by category, status, period, district,
//! zone and device, and how long triage and fixing took, for the console's
//! statistics page and the monthly programme report.
//!
//! Both backends run the same four small queries ([`StatisticsStore`]); what
//! differs between them (the local day of a time, a report's zones, the
//! status an audit row set) is spelled by [`Dialect`]. Everything else (which
//! period a day falls in, which decisions count, medians) is decided here,
//! once, in plain functions over what the queries return.
//!
//! Times: a day is a day in Korea (KST, UTC+9, no daylight saving); weeks
//! start on Monday. A report's milestones come from the audit log:
//! - *triaged*: its first `report.status` row (any decision: accepted,
//!   rejected, sent for inspection, ...);
//! - *referred*: the first `report.status` row that set `referred`;
//! - *fixed*: the last `report.status` row that set `fixed`, when the report
//!   is fixed now (a report reopened after a fix is not fixed).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, Offset, TimeZone, Utc};
use postcso_model::ReviewStatus;

use super::columns::Columns;
use super::review::Dialect;
use super::{RepoError, StationId};

mod sql;

pub(crate) use sql::*;

/// The offset of the station's local time (Korea Standard Time).
pub const KST_OFFSET_S: i32 = 9 * 3600;

/// Korea Standard Time as a chrono offset.
pub fn kst() -> FixedOffset {
    // 9 hours is always a valid offset; UTC only if chrono changed its rules.
    FixedOffset::east_opt(KST_OFFSET_S).unwrap_or_else(|| Utc.fix())
}

/// The buckets of the time chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Period {
    /// Weeks from Monday, KST.
    Week,
    /// Calendar months, KST.
    #[default]
    Month,
}

impl Period {
    /// `week` or `month`, as the address spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Week => "week",
            Self::Month => "month",
        }
    }

    /// The period the address names; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "week" => Some(Self::Week),
            "month" => Some(Self::Month),
            _ => None,
        }
    }

    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// The first day of the period after the one starting on `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Self::Week => start + Duration::days(7),
            Self::Month => start
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(start + Duration::days(31)),
        }
    }

    /// The `count` periods ending with the one holding `today`, oldest first.
    pub fn last(self, count: u32, today: NaiveDate) -> Window {
        let end = self.next(self.start_of(today));
        let mut start = self.start_of(today);
        for _ in 1..count.max(1) {
            start = self.start_of(start - Duration::days(1));
        }
        Window::days(start, end)
    }
}

/// A span of local days: from the start of `first` (KST) to the start of
/// `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The first day in the window.
    pub first: NaiveDate,
    /// The first day after it.
    pub end: NaiveDate,
}

impl Window {
    /// The days from `first` up to (not including) `end`.
    pub fn days(first: NaiveDate, end: NaiveDate) -> Self {
        Self {
            first,
            end: end.max(first),
        }
    }

    /// One calendar month.
    pub fn month(year: i32, month: u32) -> Option<Self> {
        let first = NaiveDate::from_ymd_opt(year, month, 1)?;
        Some(Self::days(first, Period::Month.next(first)))
    }

    /// When the window starts, in UTC.
    pub fn from_utc(&self) -> DateTime<Utc> {
        local_midnight(self.first)
    }

    /// When it ends (exclusive), in UTC.
    pub fn to_utc(&self) -> DateTime<Utc> {
        local_midnight(self.end)
    }

    /// Whether `at` lies in the window.
    pub fn holds(&self, at: DateTime<Utc>) -> bool {
        at >= self.from_utc() && at < self.to_utc()
    }

    /// The last day in the window.
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end).max(self.first)
    }
}

/// Midnight at the start of `day`, KST, in UTC.
pub fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    kst()
        .from_local_datetime(&naive)
        .single()
        .map_or_else(|| naive.and_utc(), |t| t.with_timezone(&Utc))
}

/// The local (KST) day of an instant.
pub fn local_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&kst()).date_naive()
}

/// What the statistics are asked for: a window of days (reports received in
/// it; decisions made in it) and the buckets of the time chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatisticsQuery {
    /// The days counted.
    pub window: Window,
    /// The time chart's buckets.
    pub period: Period,
}

/// A median of durations in days, and how many durations it is of.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MedianDays {
    /// The median in days; `None` when there was nothing to measure.
    pub days: Option<f64>,
    /// How many reports it is over.
    pub count: u64,
}

/// Reports of one district, as the station placed them on arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistrictCount {
    /// The 5-digit 시군구 code; `None` outside every known district (or not
    /// placed yet).
    pub code: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Reports.
    pub count: u64,
}

/// The station's figures over a window.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Statistics {
    /// Reports received in the window.
    pub received: u64,
    /// Of those, by category code, most first (ties by code).
    pub by_category: Vec<(String, u64)>,
    /// Of those, by review status now, most first.
    pub by_status: Vec<(ReviewStatus, u64)>,
    /// Of those, by period: every period of the window in order, empty ones
    /// included, each named by its first day.
    pub by_period: Vec<(NaiveDate, u64)>,
    /// Of those, by the district the station placed them in, most first.
    pub by_district: Vec<DistrictCount>,
    /// Of those, by zone code the station placed them in, most first (a
    /// report in two zones counts in each).
    pub by_zone: Vec<(String, u64)>,
    /// Of those, by device label: every device enrolled now, and revoked
    /// ones that filed in the window, most first (ties by label).
    pub by_device: Vec<(String, u64)>,
    /// Reports whose first decision was made in the window.
    pub triaged: u64,
    /// Reports first referred in the window.
    pub referred: u64,
    /// Reports fixed in the window (and fixed now).
    pub fixed: u64,
    /// Days from arrival to first decision, of the reports triaged in the window.
    pub days_to_triage: MedianDays,
    /// Days from arrival to fix, of the reports fixed in the window.
    pub days_to_fix: MedianDays,
}

impl Statistics {
    /// Devices that filed at least one report in the window.
    pub fn active_devices(&self) -> u64 {
        self.by_device.iter().filter(|(_, n)| *n > 0).count() as u64
    }
}

/// One group of the main count: reports received in the window with this
/// category, status now and district.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupCount {
    pub category: String,
    pub status: String,
    pub district_code: Option<String>,
    pub district_name: Option<String>,
    pub count: u64,
}

/// A report's milestones, as the milestone query reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Milestones {
    pub received_at: DateTime<Utc>,
    pub triaged_at: Option<DateTime<Utc>>,
    pub referred_at: Option<DateTime<Utc>>,
    pub fixed_at: Option<DateTime<Utc>>,
}

/// What the four queries return, before the rules make figures of it.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RawStatistics {
    pub groups: Vec<GroupCount>,
    pub days: Vec<(NaiveDate, u64)>,
    pub zones: Vec<(String, u64)>,
    pub devices: Vec<(String, u64)>,
    pub milestones: Vec<Milestones>,
}

/// The median of `values` (the mean of the two middle ones for an even
/// count); `None` for none.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    // Microseconds: both backends keep times to the microsecond.
    (to - from).num_microseconds().unwrap_or(i64::MAX) as f64 / 86_400_000_000.0
}

fn median_days(durations: &mut [f64]) -> MedianDays {
    MedianDays {
        days: median(durations),
        count: durations.len() as u64,
    }
}

/// Most first, ties by key, so the order never depends on the database.
fn ranked<K: Ord>(map: BTreeMap<K, u64>) -> Vec<(K, u64)> {
    let mut list: Vec<(K, u64)> = map.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

impl RawStatistics {
    /// The figures over `query`'s window: the rules of this file applied to
    /// what the queries read.
    pub(crate) fn figures(self, query: &StatisticsQuery) -> Statistics {
        let window = query.window;
        let mut categories = BTreeMap::new();
        let mut statuses = BTreeMap::new();
        let mut districts: BTreeMap<(Option<String>, Option<String>), u64> = BTreeMap::new();
        let mut received = 0;
        for g in self.groups {
            received += g.count;
            *categories.entry(g.category).or_default() += g.count;
            *statuses.entry(g.status).or_default() += g.count;
            *districts
                .entry((g.district_code, g.district_name))
                .or_default() += g.count;
        }
        let mut periods = BTreeMap::new();
        let mut start = query.period.start_of(window.first);
        while start < window.end {
            periods.insert(start, 0u64);
            start = query.period.next(start);
        }
        for (day, count) in self.days {
            if day >= window.first && day < window.end {
                *periods.entry(query.period.start_of(day)).or_default() += count;
            }
        }
        let (mut to_triage, mut to_fix) = (Vec::new(), Vec::new());
        let (mut referred, mut triaged, mut fixed) = (0, 0, 0);
        for m in &self.milestones {
            if let Some(at) = m.triaged_at.filter(|at| window.holds(*at)) {
                triaged += 1;
                to_triage.push(days_between(m.received_at, at));
            }
            if m.referred_at.is_some_and(|at| window.holds(at)) {
                referred += 1;
            }
            if let Some(at) = m.fixed_at.filter(|at| window.holds(*at)) {
                fixed += 1;
                to_fix.push(days_between(m.received_at, at));
            }
        }
        Statistics {
            received,
            by_category: ranked(categories),
            by_status: ranked(statuses)
                .into_iter()
                .map(|(s, n)| (ReviewStatus::from(s), n))
                .collect(),
            by_period: periods.into_iter().collect(),
            by_district: ranked(districts)
                .into_iter()
                .map(|((code, name), count)| DistrictCount { code, name, count })
                .collect(),
            by_zone: ranked(self.zones.into_iter().collect()),
            by_device: ranked(self.devices.into_iter().collect()),
            triaged,
            referred,
            fixed,
            days_to_triage: median_days(&mut to_triage),
            days_to_fix: median_days(&mut to_fix),
        }
    }
}

/// The station's figures. Reads only.
#[async_trait]
pub trait StatisticsStore: Send + Sync {
    /// The station's figures over the query's window (see [`Statistics`]).
    async fn statistics(
        &self,
        station: StationId,
        query: &StatisticsQuery,
    ) -> Result<Statistics, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn medians_of_odd_even_and_no_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first_in_korea() {
        // 2026-12-07 is a Monday.
        assert_eq!(Period::Week.start_of(day(2026, 12, 13)), day(2026, 12, 7));
        assert_eq!(Period::Week.start_of(day(2026, 12, 7)), day(2026, 12, 7));
        assert_eq!(Period::Month.start_of(day(2026, 12, 31)), day(2026, 12, 1));
        assert_eq!(Period::Month.next(day(2026, 12, 1)), day(2027, 1, 1));
        let w = Period::Month.last(12, day(2026, 12, 7));
        assert_eq!((w.first, w.end), (day(2026, 1, 1), day(2027, 1, 1)));
        let w = Period::Week.last(2, day(2026, 12, 9));
        assert_eq!((w.first, w.end), (day(2026, 11, 30), day(2026, 12, 14)));
        // 23:30 UTC on the 30th is the 1st in Korea.
        let at = Utc.with_ymd_and_hms(2026, 11, 30, 15, 30, 0).unwrap();
        assert_eq!(local_day(at), day(2026, 12, 1));
        let december = Window::month(2026, 12).expect("month");
        assert!(december.holds(at));
        assert_eq!(
            december.from_utc(),
            Utc.with_ymd_and_hms(2026, 11, 30, 15, 0, 0).unwrap()
        );
        assert_eq!(december.last_day(), day(2026, 12, 31));
    }

    #[test]
    fn figures_fill_empty_periods_and_count_decisions_in_the_window() {
        let query = StatisticsQuery {
            window: Window::days(day(2026, 10, 1), day(2027, 1, 1)),
            period: Period::Month,
        };
        let t = |m, d| local_midnight(day(2026, m, d)) + Duration::hours(10);
        let raw = RawStatistics {
            groups: vec![
                GroupCount {
                    category: "crime_risk".into(),
                    status: "received".into(),
                    district_code: Some("11410".into()),
                    district_name: Some("서대문구".into()),
                    count: 2,
                },
                GroupCount {
                    category: "parcel_theft".into(),
                    status: "fixed".into(),
                    district_code: None,
                    district_name: None,
                    count: 1,
                },
            ],
            days: vec![(day(2026, 10, 3), 2), (day(2026, 12, 24), 1)],
            zones: vec![("school".into(), 1), ("alley".into(), 2)],
            devices: vec![("carrier-002".into(), 0), ("carrier-001".into(), 3)],
            milestones: vec![
                // Received in September, triaged and fixed in the window.
                Milestones {
                    received_at: t(9, 30),
                    triaged_at: Some(t(10, 2)),
                    referred_at: None,
                    fixed_at: Some(t(10, 5)),
                },
                Milestones {
                    received_at: t(10, 3),
                    triaged_at: Some(t(10, 4)),
                    referred_at: Some(t(10, 4)),
                    fixed_at: None,
                },
            ],
        };
        let s = raw.figures(&query);
        assert_eq!(s.received, 3);
        assert_eq!(
            s.by_period,
            [
                (day(2026, 10, 1), 2),
                (day(2026, 11, 1), 0),
                (day(2026, 12, 1), 1)
            ]
        );
        assert_eq!(
            s.by_zone,
            [("alley".to_owned(), 2), ("school".to_owned(), 1)]
        );
        assert_eq!(s.by_device[0], ("carrier-001".to_owned(), 3));
        assert_eq!(s.active_devices(), 1);
        assert_eq!((s.triaged, s.referred, s.fixed), (2, 1, 1));
        assert_eq!(s.days_to_triage.days, Some(1.5));
        assert_eq!(s.days_to_fix.days, Some(5.0));
        assert_eq!(s.by_district[0].count, 2);
    }
}
