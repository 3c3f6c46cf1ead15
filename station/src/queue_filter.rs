//! The review queue's filter as people write it in an address (status,
//! category, zone, district, age, overdue, text, order, page), shared by the
//! console's queue, which keeps it in the page's address, and the API's
//! exports, which take the same parameters. Unknown or malformed values fall
//! back to the default, so an edited address never fails.

use chrono::{DateTime, Duration, Utc};
use postcso_model::ReviewStatus;
use serde::{Deserialize, Serialize};

use crate::repo::review::OverdueRule;
use crate::repo::{QueueFilter, QueueOrder, QueueQuery};

/// Reports on one page of the list (and on the map beside it).
pub const PAGE_SIZE: u32 = 50;

/// The statuses a supervisor can filter on, in the order the menu lists them.
pub(crate) const STATUS_CHOICES: [ReviewStatus; 7] = [
    ReviewStatus::Received,
    ReviewStatus::Accepted,
    ReviewStatus::Inspecting,
    ReviewStatus::Referred,
    ReviewStatus::Fixed,
    ReviewStatus::Rejected,
    ReviewStatus::Merged,
];

/// Statuses the default view shows: everything not yet closed.
pub(crate) const OPEN: [ReviewStatus; 4] = [
    ReviewStatus::Received,
    ReviewStatus::Accepted,
    ReviewStatus::Inspecting,
    ReviewStatus::Referred,
];

/// The ages the filter offers: (value, catalogue key, younger than / older than).
pub(crate) const AGES: [(&str, &str); 6] = [
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
    pub(crate) fn normalised(&self) -> Self {
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

    pub(crate) fn page_number(&self) -> u64 {
        non_empty(&self.page)
            .and_then(|p| p.parse::<u64>().ok())
            .filter(|&p| p >= 1)
            .unwrap_or(1)
    }

    /// The store query these parameters mean at `now`.
    pub(crate) fn query(&self, rule: OverdueRule, now: DateTime<Utc>) -> QueueQuery {
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

    /// These parameters as an address's query (empty for the default view;
    /// never the search text).
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self.normalised()).unwrap_or_default()
    }

    /// The address of the page at `path` showing these parameters (no query
    /// at all for the default view; never the search text).
    pub fn address_at(&self, path: &str) -> String {
        let query = self.query_string();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
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
        assert_eq!(params.query_string(), "status=received&zone=route-1&page=2");
        assert_eq!(QueueParams::default().query_string(), "");
        assert_eq!(
            params.address_at("/console/"),
            "/console/?status=received&zone=route-1&page=2"
        );
        assert_eq!(QueueParams::default().address_at("/console/"), "/console/");
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
