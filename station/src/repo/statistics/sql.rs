//! The statistics' four queries, spelled for each backend's SQL, and how
//! their rows read back.

use super::*;

impl Dialect {
    /// The local (KST) day of `r.received_at` as `YYYY-MM-DD` text.
    fn received_day(self) -> &'static str {
        match self {
            Self::Sqlite => "date(r.received_at, '+9 hours')",
            Self::Postgres => {
                "to_char((r.received_at AT TIME ZONE 'UTC') + interval '9 hours', 'YYYY-MM-DD')"
            }
        }
    }

    /// A row source of the zone codes of report `r`, one per row as `z`.
    fn zones_of_r(self) -> &'static str {
        match self {
            Self::Sqlite => "json_each(r.zones_json) AS zj",
            Self::Postgres => "jsonb_array_elements_text(r.zones_json::jsonb) AS zj(value)",
        }
    }

    /// The status an audit row `a` of `report.status` set.
    fn status_set(self) -> &'static str {
        match self {
            Self::Sqlite => "json_extract(a.after_json, '$.status')",
            Self::Postgres => "(a.after_json::jsonb ->> 'status')",
        }
    }

    /// `a.target_id` (text) equal to `r.id`.
    fn audit_is_r(self) -> &'static str {
        match self {
            Self::Sqlite => "a.target_id = r.id",
            Self::Postgres => "a.target_id = r.id::text",
        }
    }

    fn param(self, n: usize) -> String {
        match self {
            Self::Sqlite => format!("?{n}"),
            Self::Postgres => format!("${n}"),
        }
    }
}

/// The SQL of the statistics, for one dialect. Each query binds the station
/// as the first parameter, the window's start and end (UTC) as the second
/// and third.
pub(crate) struct StatisticsSql {
    /// Reports received in the window by category, status now and district:
    /// `category, status, district_code, district_name, count`.
    pub groups: String,
    /// Reports received in the window by local day: `day, count`.
    pub days: String,
    /// Reports received in the window by placed zone: `zone, count`.
    pub zones: String,
    /// Reports received in the window by device label, with every enrolled
    /// device: `label, count`.
    pub devices: String,
    /// The milestones of every report received in the window or decided on
    /// in it: `received_at, triaged_at, referred_at, fixed_at`.
    pub milestones: String,
}

impl StatisticsSql {
    /// The queries in `dialect`.
    pub(crate) fn new(dialect: Dialect) -> Self {
        let (s, from, to) = (dialect.param(1), dialect.param(2), dialect.param(3));
        let received =
            format!("r.station_id = {s} AND r.received_at >= {from} AND r.received_at < {to}");
        let status = dialect.status_set();
        // One row per decided report: its first decision, first referral and
        // last fix (the rules above), from the station's `report.status` rows.
        let milestones = format!(
            "SELECT r.received_at, m.triaged_at, m.referred_at,
                    CASE WHEN r.status = 'fixed' THEN m.fixed_at END
             FROM reports r JOIN (
                 SELECT a.target_id, min(a.at) AS triaged_at,
                        min(CASE WHEN {status} = 'referred' THEN a.at END) AS referred_at,
                        max(CASE WHEN {status} = 'fixed' THEN a.at END) AS fixed_at
                 FROM audit_log a
                 WHERE a.station_id = {s} AND a.action = 'report.status'
                 GROUP BY a.target_id
             ) m ON {on}
             WHERE r.station_id = {s}
               AND ((r.received_at >= {from} AND r.received_at < {to})
                    OR (m.triaged_at >= {from} AND m.triaged_at < {to})
                    OR (m.referred_at >= {from} AND m.referred_at < {to})
                    OR (m.fixed_at >= {from} AND m.fixed_at < {to}))",
            on = dialect.audit_is_r().replace("a.target_id", "m.target_id"),
        );
        Self {
            groups: format!(
                "SELECT r.category, r.status, r.district_code, r.district_name, count(*)
                 FROM reports r WHERE {received}
                 GROUP BY r.category, r.status, r.district_code, r.district_name"
            ),
            days: format!(
                "SELECT {day}, count(*) FROM reports r WHERE {received} GROUP BY 1",
                day = dialect.received_day()
            ),
            zones: format!(
                "SELECT zj.value, count(*) FROM reports r, {zones} WHERE {received}
                 GROUP BY zj.value",
                zones = dialect.zones_of_r()
            ),
            // Counted per device first, then joined: joining devices to the
            // window's reports made SQLite walk the whole window once per
            // device (303 ms at 10,000 reports and 88 devices, against 30 ms).
            devices: format!(
                "SELECT d.label, coalesce(c.n, 0) FROM devices d
                 LEFT JOIN (SELECT r.device_id, count(*) AS n FROM reports r
                            WHERE {received} GROUP BY r.device_id) c
                        ON c.device_id = d.id
                 WHERE d.station_id = {s} AND (d.revoked_at IS NULL OR c.n > 0)"
            ),
            milestones,
        }
    }
}

/// A group row read back ([`StatisticsSql::groups`]).
pub(crate) fn group_from(row: &impl Columns) -> Result<GroupCount, RepoError> {
    Ok(GroupCount {
        category: row.text(0)?,
        status: row.text(1)?,
        district_code: row.opt_text(2)?,
        district_name: row.opt_text(3)?,
        count: row.count(4)?,
    })
}

/// A day row read back ([`StatisticsSql::days`]).
pub(crate) fn day_from(row: &impl Columns) -> Result<(NaiveDate, u64), RepoError> {
    let text = row.text(0)?;
    let day = NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|e| crate::repo::columns::bad_column(0, format!("day `{text}`: {e}")))?;
    Ok((day, row.count(1)?))
}

/// A `label, count` or `zone, count` row read back.
pub(crate) fn keyed_count_from(row: &impl Columns) -> Result<(String, u64), RepoError> {
    Ok((row.text(0)?, row.count(1)?))
}

/// A milestone row read back ([`StatisticsSql::milestones`]).
pub(crate) fn milestones_from(row: &impl Columns) -> Result<Milestones, RepoError> {
    Ok(Milestones {
        received_at: row.time(0)?,
        triaged_at: row.opt_time(1)?,
        referred_at: row.opt_time(2)?,
        fixed_at: row.opt_time(3)?,
    })
}
