//! Routing rules: which agency the station proposes for a report, by
//! category and district or zone, in priority order.

use super::*;

/// Where a routing rule applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", content = "code", rename_all = "snake_case")]
pub enum RuleArea {
    /// Anywhere.
    Any,
    /// Reports the station placed in this district (5-digit 시군구 code).
    District(String),
    /// Reports the station placed in this zone (its code).
    Zone(String),
}

impl RuleArea {
    /// Whether a report with this placement lies in the area. A report
    /// without a placement (not yet placed) is in no district or zone.
    pub fn contains(&self, placement: Option<&Placement>) -> bool {
        match self {
            Self::Any => true,
            Self::District(code) => placement
                .and_then(|p| p.district.as_ref())
                .is_some_and(|d| &d.code == code),
            Self::Zone(code) => placement.is_some_and(|p| p.zones.contains(code)),
        }
    }

    /// The two columns: `(district_code, zone_code)`.
    pub(crate) fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Self::Any => (None, None),
            Self::District(code) => (Some(code), None),
            Self::Zone(code) => (None, Some(code)),
        }
    }

    /// The area of the two columns.
    pub(crate) fn from_columns(district: Option<String>, zone: Option<String>) -> Self {
        match (district, zone) {
            (Some(code), _) => Self::District(code),
            (None, Some(code)) => Self::Zone(code),
            (None, None) => Self::Any,
        }
    }
}

impl std::fmt::Display for RuleArea {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Any => f.write_str("*"),
            Self::District(code) => write!(f, "district {code}"),
            Self::Zone(code) => write!(f, "zone {code}"),
        }
    }
}

/// A routing rule: reports of `category` (any when `None`) in `area` go to
/// the agency; the first matching rule by priority (lower first) wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoutingRule {
    /// Its id.
    pub id: Uuid,
    /// Lower is tried first; unique in the station.
    pub priority: u32,
    /// The category it is for; any when absent.
    pub category: Option<String>,
    /// Where it applies.
    pub area: RuleArea,
    /// The agency's id.
    pub agency_id: Uuid,
    /// The agency's code.
    pub agency_code: String,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

impl RoutingRule {
    /// Whether the rule applies to a report of `category` with `placement`.
    pub fn matches(&self, category: &str, placement: Option<&Placement>) -> bool {
        self.category.as_deref().is_none_or(|c| c == category) && self.area.contains(placement)
    }

    /// What the audit log keeps.
    pub(super) fn audit_view(&self) -> serde_json::Value {
        serde_json::json!({
            "priority": self.priority,
            "category": self.category,
            "area": self.area,
            "agency": self.agency_code,
        })
    }
}

/// A routing rule to add, checked by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoutingRule {
    /// Its priority; after the last rule (by 10) when absent.
    pub priority: Option<u32>,
    /// The category, or any.
    pub category: Option<String>,
    /// Where it applies.
    pub area: RuleArea,
    /// The agency's code.
    pub agency_code: String,
}

/// How far apart rules added without a priority are placed, so one can be
/// put between two later.
pub const PRIORITY_STEP: u32 = 10;

/// The priority of a rule added after `rules` without one.
pub(crate) fn next_priority(rules: &[RoutingRule]) -> u32 {
    rules
        .iter()
        .map(|r| r.priority)
        .max()
        .map_or(PRIORITY_STEP, |p| p.saturating_add(PRIORITY_STEP))
}

/// The columns a rule read selects (`r` the rule, `a` its agency), in the
/// order [`rule_from`] reads them.
pub(crate) const RULE_COLUMNS: &str =
    "r.id, r.priority, r.category, r.district_code, r.zone_code, r.agency_id, a.code, r.created_at";

/// A rule read back ([`RULE_COLUMNS`]).
pub(crate) fn rule_from(row: &impl Columns) -> Result<RoutingRule, RepoError> {
    Ok(RoutingRule {
        id: row.uuid(0)?,
        priority: u32::try_from(row.int(1)?).map_err(|e| bad_column(1, e))?,
        category: row.opt_text(2)?,
        area: RuleArea::from_columns(row.opt_text(3)?, row.opt_text(4)?),
        agency_id: row.uuid(5)?,
        agency_code: row.text(6)?,
        created_at: row.time(7)?,
    })
}

/// The rule a new rule becomes in `station`'s list: its agency must exist
/// and not be retired, its priority must be free.
pub(crate) fn plan_rule(
    rules: &[RoutingRule],
    agencies: &[Agency],
    new: &NewRoutingRule,
    now: DateTime<Utc>,
) -> Result<RoutingRule, RepoError> {
    let agency = find(agencies, &new.agency_code).ok_or(RepoError::NotFound("agency"))?;
    if agency.retired_at.is_some() {
        return Err(RepoError::Conflict(format!(
            "agency `{}` is retired and takes no routing rules",
            agency.code
        )));
    }
    let priority = new.priority.unwrap_or_else(|| next_priority(rules));
    if rules.iter().any(|r| r.priority == priority) {
        return Err(RepoError::Conflict(format!(
            "a routing rule with priority {priority} exists; choose another"
        )));
    }
    Ok(RoutingRule {
        id: Uuid::now_v7(),
        priority,
        category: new.category.clone(),
        area: new.area.clone(),
        agency_id: agency.id,
        agency_code: agency.code.clone(),
        created_at: crate::repo::columns::micros(now),
    })
}

/// The agency proposed for a report of `category` placed at `placement`:
/// the first rule by priority that matches and whose agency is not retired.
/// `rules` must be in priority order, as [`AgencyStore::routing_rules`]
/// returns them.
pub fn propose<'a>(
    rules: &[RoutingRule],
    agencies: &'a [Agency],
    category: &str,
    placement: Option<&Placement>,
) -> Option<(&'a Agency, RoutingRule)> {
    rules
        .iter()
        .filter(|r| r.matches(category, placement))
        .find_map(|r| {
            agencies
                .iter()
                .find(|a| a.id == r.agency_id && a.retired_at.is_none())
                .map(|a| (a, r.clone()))
        })
}
