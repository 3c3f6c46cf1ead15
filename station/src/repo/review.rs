//! What supervisors review from: the queue of a station's reports with its
//! filters, and one report's history from the audit log.
//!
//! The filter is turned into SQL once, here ([`QueueFilter::where_clause`]),
//! with the few spellings that differ between SQLite and PostgreSQL named by
//! [`Dialect`], so both backends filter by the same rules.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use postcso_model::{ReportContent, ReportId, ReviewStatus};

use super::columns::Columns;
use super::{AuditEntry, RepoError, StationId};

/// Statuses after which nothing more is expected of the station: a report
/// in one of them is never overdue.
pub const CLOSED_STATUSES: [ReviewStatus; 3] = [
    ReviewStatus::Fixed,
    ReviewStatus::Rejected,
    ReviewStatus::Merged,
];

/// Most rows one queue page may hold.
pub const MAX_QUEUE_PAGE: u32 = 200;

/// When a report counts as overdue: still `received` (untriaged) after
/// `untriaged_after`, or not closed after `unresolved_after` (both settings
/// of the station, see `ConsoleConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverdueRule {
    /// How long a report may wait for triage.
    pub untriaged_after: Duration,
    /// How long a report may stay open.
    pub unresolved_after: Duration,
}

/// Why a report is overdue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    /// Nobody triaged it in time.
    Untriaged,
    /// It was triaged but is still open past the limit.
    Unresolved,
}

impl OverdueRule {
    /// Whether a report with `status` that arrived at `received_at` is overdue at `now`.
    pub fn judge(
        &self,
        status: &ReviewStatus,
        received_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Overdue> {
        let age = now - received_at;
        if *status == ReviewStatus::Received && age > self.untriaged_after {
            Some(Overdue::Untriaged)
        } else if !CLOSED_STATUSES.contains(status) && age > self.unresolved_after {
            Some(Overdue::Unresolved)
        } else {
            None
        }
    }
}

/// The order of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueOrder {
    /// Latest arrivals first.
    #[default]
    Newest,
    /// Longest waiting first.
    Oldest,
}

/// Which reports the queue shows. Empty fields filter nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueFilter {
    /// Any of these statuses.
    pub statuses: Vec<ReviewStatus>,
    /// This category code.
    pub category: Option<String>,
    /// Reports the station placed in this zone on arrival (its own
    /// judgement, not the phone's).
    pub zone: Option<String>,
    /// Reports the station placed in this district (5-digit 시군구 code,
    /// e.g. `11440` for reports across the line in 마포구).
    pub district: Option<String>,
    /// Arrived at or after this time (younger than an age).
    pub received_since: Option<DateTime<Utc>>,
    /// Arrived before this time (older than an age).
    pub received_before: Option<DateTime<Utc>>,
    /// Text in the note or the device label, or the start of the report id;
    /// case-insensitive for Latin letters.
    pub text: Option<String>,
    /// Only reports overdue at `.1` under rule `.0`.
    pub overdue: Option<(OverdueRule, DateTime<Utc>)>,
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueQuery {
    /// Which reports.
    pub filter: QueueFilter,
    /// In which order.
    pub order: QueueOrder,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return, at most [`MAX_QUEUE_PAGE`].
    pub limit: u32,
}

/// A report as the queue lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueRow {
    /// The report's id.
    pub id: ReportId,
    /// Review status.
    pub status: ReviewStatus,
    /// The reason the carrier reads, if any.
    pub status_reason: Option<String>,
    /// The sealed content (note, position, category, zones the phone saw).
    pub content: ReportContent,
    /// Whether every photo arrived.
    pub complete: bool,
    /// When the station stored it.
    pub received_at: DateTime<Utc>,
    /// Its version (see `StoredReport::version`).
    pub version: u64,
    /// The filing device's label (e.g. `carrier-017`), never a person's name.
    pub device_label: String,
    /// The first photo that has arrived, for the thumbnail.
    pub first_photo: Option<u32>,
    /// Photos in the manifest.
    pub photos: u32,
    /// Photos not yet arrived.
    pub photos_missing: u32,
    /// The station placed it outside its jurisdiction on arrival: the
    /// supervisor sees a flag, the report is never refused.
    pub outside_jurisdiction: bool,
    /// The district the station placed it in, if any.
    pub district_name: Option<String>,
    /// Its latest referral was declined by the agency: back with the
    /// supervisors, to refer elsewhere or decide otherwise.
    pub referral_declined: bool,
}

/// A page of the queue and how many reports match in all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueuePage {
    /// The rows of the page, in order.
    pub rows: Vec<QueueRow>,
    /// Reports matching the filter, over all pages.
    pub total: u64,
}

/// The spellings of the queue's SQL that differ between the backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: `?N` parameters, JSON in text, `LIKE` case-insensitive for ASCII.
    Sqlite,
    /// PostgreSQL: `$N` parameters, `jsonb`, `ILIKE`.
    Postgres,
}

/// A bound value of the queue's SQL; each backend converts it to its own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Param {
    /// Text.
    Text(String),
    /// A time (SQLite stores it as text, PostgreSQL as `timestamptz`).
    Time(DateTime<Utc>),
}

impl Dialect {
    fn placeholder(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }

    fn note(self) -> &'static str {
        match self {
            Self::Sqlite => "json_extract(r.content_json, '$.note')",
            Self::Postgres => "(r.content_json::jsonb ->> 'note')",
        }
    }

    fn district(self) -> &'static str {
        "r.district_code"
    }

    fn zone_named(self, p: &str) -> String {
        match self {
            Self::Sqlite => {
                format!("EXISTS (SELECT 1 FROM json_each(r.zones_json) z WHERE z.value = {p})")
            }
            Self::Postgres => format!("jsonb_exists(r.zones_json::jsonb, {p})"),
        }
    }

    fn like(self) -> &'static str {
        match self {
            Self::Sqlite => "LIKE",
            Self::Postgres => "ILIKE",
        }
    }

    fn id_text(self) -> &'static str {
        match self {
            Self::Sqlite => "r.id",
            Self::Postgres => "r.id::text",
        }
    }
}

/// `text` with LIKE's wildcards escaped (escape character `\`).
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The SQL condition of a filter and its parameters.
pub(crate) struct WhereClause {
    /// `AND …` conditions to append after the station condition.
    pub sql: String,
    /// Values for the placeholders, numbered from the `first` given.
    pub params: Vec<Param>,
    /// Whether the conditions name `devices d` (the text search does): the
    /// count joins it only then, so that it can run on an index alone.
    pub needs_devices: bool,
}

impl QueueFilter {
    /// The conditions on `reports r` (joined with `devices d`) for this
    /// filter, with placeholders numbered from `first` (the station is
    /// bound before them by the backend).
    pub(crate) fn where_clause(&self, dialect: Dialect, first: usize) -> WhereClause {
        let mut sql = String::new();
        let mut params = Vec::new();
        let mut needs_devices = false;
        let bind = |params: &mut Vec<Param>, value: Param| {
            params.push(value);
            dialect.placeholder(first + params.len() - 1)
        };
        if !self.statuses.is_empty() {
            let list: Vec<String> = self
                .statuses
                .iter()
                .map(|s| bind(&mut params, Param::Text(s.as_str().to_owned())))
                .collect();
            sql.push_str(&format!(" AND r.status IN ({})", list.join(", ")));
        }
        if let Some(category) = &self.category {
            let p = bind(&mut params, Param::Text(category.clone()));
            sql.push_str(&format!(" AND r.category = {p}"));
        }
        if let Some(zone) = &self.zone {
            let p = bind(&mut params, Param::Text(zone.clone()));
            sql.push_str(&format!(" AND {}", dialect.zone_named(&p)));
        }
        if let Some(district) = &self.district {
            let p = bind(&mut params, Param::Text(district.clone()));
            sql.push_str(&format!(" AND {} = {p}", dialect.district()));
        }
        if let Some(since) = self.received_since {
            let p = bind(&mut params, Param::Time(since));
            sql.push_str(&format!(" AND r.received_at >= {p}"));
        }
        if let Some(before) = self.received_before {
            let p = bind(&mut params, Param::Time(before));
            sql.push_str(&format!(" AND r.received_at < {p}"));
        }
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let pattern = format!("%{}%", like_escaped(text));
            let prefix = format!("{}%", like_escaped(&text.to_lowercase()));
            let p = bind(&mut params, Param::Text(pattern));
            let q = bind(&mut params, Param::Text(prefix));
            let like = dialect.like();
            needs_devices = true;
            sql.push_str(&format!(
                " AND ({note} {like} {p} ESCAPE '\\' OR d.label {like} {p} ESCAPE '\\' \
                 OR {id} LIKE {q} ESCAPE '\\')",
                note = dialect.note(),
                id = dialect.id_text(),
            ));
        }
        if let Some((rule, now)) = self.overdue {
            let closed: Vec<String> = CLOSED_STATUSES
                .iter()
                .map(|s| bind(&mut params, Param::Text(s.as_str().to_owned())))
                .collect();
            let untriaged = bind(&mut params, Param::Time(now - rule.untriaged_after));
            let unresolved = bind(&mut params, Param::Time(now - rule.unresolved_after));
            sql.push_str(&format!(
                " AND ((r.status = 'received' AND r.received_at < {untriaged}) \
                 OR (r.status NOT IN ({}) AND r.received_at < {unresolved}))",
                closed.join(", ")
            ));
        }
        WhereClause {
            sql,
            params,
            needs_devices,
        }
    }
}

impl QueueOrder {
    /// The `ORDER BY` of the queue (ties broken by id, so pages never overlap).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Self::Newest => "r.received_at DESC, r.id DESC",
            Self::Oldest => "r.received_at ASC, r.id ASC",
        }
    }
}

/// The columns of a queue row, in the order [`queue_row_from`] reads them;
/// `{photos}` is the backend's `report_photos` condition for `r`.
pub(crate) fn queue_columns(photos_of_r: &str) -> String {
    format!(
        "r.id, r.status, r.status_reason, r.content_json, r.complete, r.received_at, r.version, \
         d.label, \
         coalesce((SELECT min(p.position) FROM report_photos p WHERE {photos_of_r} \
                   AND p.received_at IS NOT NULL), -1), \
         (SELECT count(*) FROM report_photos p WHERE {photos_of_r}), \
         (SELECT count(*) FROM report_photos p WHERE {photos_of_r} AND p.received_at IS NULL), \
         r.outside_jurisdiction, r.district_name, \
         coalesce((SELECT EXISTS (SELECT 1 FROM referral_answers a \
                                  WHERE a.referral_id = f.id AND a.answer = 'declined') \
                   FROM referrals f WHERE f.station_id = r.station_id AND f.report_id = r.id \
                   ORDER BY f.created_at DESC LIMIT 1), false)"
    )
}

/// A queue row read back ([`queue_columns`]).
pub(crate) fn queue_row_from(row: &impl Columns) -> Result<QueueRow, RepoError> {
    let first = row.int(8)?;
    Ok(QueueRow {
        id: row.report_id(0)?,
        status: ReviewStatus::from(row.text(1)?),
        status_reason: row.opt_text(2)?,
        content: row.json(3, "stored report")?,
        complete: row.flag(4)?,
        received_at: row.time(5)?,
        version: row.count(6)?,
        device_label: row.text(7)?,
        first_photo: u32::try_from(first).ok(),
        photos: u32::try_from(row.count(9)?).unwrap_or(u32::MAX),
        photos_missing: u32::try_from(row.count(10)?).unwrap_or(u32::MAX),
        outside_jurisdiction: row.opt_flag(11)?.unwrap_or(false),
        district_name: row.opt_text(12)?,
        referral_declined: row.opt_flag(13)?.unwrap_or(false),
    })
}

/// What supervisors review from. Reads only; decisions go through
/// [`super::ReportStore::set_report_status`] like the API's.
#[async_trait]
pub trait ReviewStore: Send + Sync {
    /// One page of the station's reports matching the query, with the
    /// number that match in all.
    async fn review_queue(
        &self,
        station: StationId,
        query: &QueueQuery,
    ) -> Result<QueuePage, RepoError>;
    /// Every audit row about the report (its delivery, photos, decisions,
    /// inspections, internal notes), oldest first.
    async fn report_history(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<AuditEntry>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_follows_the_two_limits_and_closed_reports_never_are() {
        let rule = OverdueRule {
            untriaged_after: Duration::days(2),
            unresolved_after: Duration::days(7),
        };
        let now = Utc::now();
        let days = |n| now - Duration::days(n);
        assert_eq!(rule.judge(&ReviewStatus::Received, days(1), now), None);
        assert_eq!(
            rule.judge(&ReviewStatus::Received, days(3), now),
            Some(Overdue::Untriaged)
        );
        assert_eq!(rule.judge(&ReviewStatus::Accepted, days(3), now), None);
        assert_eq!(
            rule.judge(&ReviewStatus::Accepted, days(8), now),
            Some(Overdue::Unresolved)
        );
        assert_eq!(rule.judge(&ReviewStatus::Fixed, days(30), now), None);
        assert_eq!(rule.judge(&ReviewStatus::Rejected, days(30), now), None);
    }

    #[test]
    fn the_filter_binds_every_value_and_escapes_wildcards() {
        let filter = QueueFilter {
            statuses: vec![ReviewStatus::Received, ReviewStatus::Accepted],
            text: Some(" 50%_off ".into()),
            ..QueueFilter::default()
        };
        let w = filter.where_clause(Dialect::Postgres, 2);
        assert!(w.sql.contains("r.status IN ($2, $3)"), "{}", w.sql);
        assert!(w.sql.contains("ILIKE $4"), "{}", w.sql);
        assert_eq!(w.params[2], Param::Text("%50\\%\\_off%".into()));
        assert!(!w.sql.contains("50"), "values are bound, never spliced");
        let w = filter.where_clause(Dialect::Sqlite, 2);
        assert!(w.sql.contains("r.status IN (?2, ?3)"), "{}", w.sql);
    }
}
