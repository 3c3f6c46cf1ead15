//! Agencies a station refers fixes to (the 구청 for street lights and CCTV,
//! the post office for parcel theft, the police station itself for
//! patrols), and the routing rules that propose one for a report.
//!
//! An agency is never deleted, only retired, so referrals keep pointing at
//! it. Its Open311 API key is a secret: it is written when given and read
//! back only by [`AgencyStore::agency_api_key`] (for the sender); [`Agency`]
//! holds only whether one is set, and the audit log only whether it changed.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::feed::ActionLog;
use super::{Actor, Placement, RepoError, StationId};

/// What kind of body an agency is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// A 구청 (district office): street lights, security lights, CCTV.
    DistrictOffice,
    /// The city: its roads.
    City,
    /// A post office: parcel theft at delivery points.
    PostOffice,
    /// The police (the station itself): patrols.
    Police,
    /// Anything else.
    Other,
}

/// How a referral reaches an agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendMethod {
    /// Open311 GeoReport v2 `POST requests`.
    Open311,
    /// A referral packet by e-mail.
    Email,
    /// Nothing is sent: the supervisor contacts the agency and records its
    /// answer by hand.
    Manual,
}

/// The format an agency's Open311 server answers in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Open311Format {
    /// `requests.xml` (the format the spec requires every server to offer).
    Xml,
    /// `requests.json`.
    Json,
}

/// Spellings shared by the database, the wire and the command line.
macro_rules! spelled {
    ($ty:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The database and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }

            /// Parses the database and wire spelling.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($ty::$variant),)* _ => None }
            }

            /// The spellings, for error messages: `a, b or c`.
            pub fn choices() -> String {
                let all: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                match all.split_last() {
                    Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
                    _ => all.join(""),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled!(AgencyKind {
    DistrictOffice => "district_office",
    City => "city",
    PostOffice => "post_office",
    Police => "police",
    Other => "other",
});
spelled!(SendMethod { Open311 => "open311", Email => "email", Manual => "manual" });
spelled!(Open311Format { Xml => "xml", Json => "json" });

/// An agency's Open311 settings as anyone may read them: the API key only
/// as whether one is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Open311Settings {
    /// The GeoReport v2 base URL (`…/requests.json` is appended).
    pub endpoint: String,
    /// The `jurisdiction_id` the server wants, if it serves several.
    pub jurisdiction_id: Option<String>,
    /// The format it answers in.
    pub format: Open311Format,
    /// Our category codes → its `service_code`s.
    pub service_codes: BTreeMap<String, String>,
    /// Whether an API key is stored (it is never shown again).
    pub api_key_set: bool,
}

/// An agency as stored, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Agency {
    /// Its id; referrals point at it.
    pub id: Uuid,
    /// Stable code, unique in the station, e.g. `seodaemun-gu-office`.
    pub code: String,
    /// Korean name, e.g. `서대문구청`: what the carrier is told.
    pub name_ko: String,
    /// English name, e.g. `Seodaemun-gu Office`.
    pub name_en: String,
    /// What kind of body it is.
    pub kind: AgencyKind,
    /// How referrals reach it.
    pub send_method: SendMethod,
    /// For `open311`: where and how.
    pub open311: Option<Open311Settings>,
    /// For `email`: where the referral packet goes.
    pub emails: Vec<String>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was retired: it takes no new referrals; old ones keep it.
    pub retired_at: Option<DateTime<Utc>>,
}

/// Open311 settings to store; checked by the caller (`crate::agencies`).
#[derive(Debug, Clone)]
pub struct NewOpen311 {
    /// The GeoReport v2 base URL.
    pub endpoint: String,
    /// The `jurisdiction_id`, if any.
    pub jurisdiction_id: Option<String>,
    /// The answers' format.
    pub format: Open311Format,
    /// Our category codes → its `service_code`s.
    pub service_codes: BTreeMap<String, String>,
    /// The API key, when one is given.
    pub api_key: Option<SecretString>,
}

/// An agency to add (or, in an import, the whole new definition of one);
/// its fields checked by the caller (`crate::agencies::fields`).
#[derive(Debug, Clone)]
pub struct NewAgency {
    /// Code, unique in the station.
    pub code: String,
    /// Korean name.
    pub name_ko: String,
    /// English name.
    pub name_en: String,
    /// Kind of body.
    pub kind: AgencyKind,
    /// How referrals reach it.
    pub send_method: SendMethod,
    /// Required for `open311`, absent otherwise.
    pub open311: Option<NewOpen311>,
    /// At least one for `email`, none otherwise.
    pub emails: Vec<String>,
}

/// Changes to an agency; `None` fields stay as they are. When the send
/// method changes, the settings of the old method are dropped, and the new
/// one's must be given (or already be stored).
#[derive(Debug, Clone, Default)]
pub struct AgencyUpdate {
    /// New Korean name.
    pub name_ko: Option<String>,
    /// New English name.
    pub name_en: Option<String>,
    /// New kind.
    pub kind: Option<AgencyKind>,
    /// New send method.
    pub send_method: Option<SendMethod>,
    /// New Open311 endpoint.
    pub endpoint: Option<String>,
    /// New `jurisdiction_id`; `Some(None)` clears it.
    pub jurisdiction_id: Option<Option<String>>,
    /// New answer format.
    pub format: Option<Open311Format>,
    /// The complete new service-code map.
    pub service_codes: Option<BTreeMap<String, String>>,
    /// A new API key; `Some(None)` removes the stored one.
    pub api_key: Option<Option<SecretString>>,
    /// The complete new list of addresses.
    pub emails: Option<Vec<String>>,
}

/// Why an agency's fields do not fit together: checked on every add, update
/// and import, on the merged result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgencyRuleError {
    /// `open311` without an endpoint.
    #[error("an open311 agency needs an endpoint")]
    NeedsEndpoint,
    /// `email` without an address.
    #[error("an email agency needs at least one address")]
    NeedsAddress,
}

impl AgencyRuleError {
    /// The field the fault is reported on.
    pub fn field(self) -> &'static str {
        match self {
            Self::NeedsEndpoint => "endpoint",
            Self::NeedsAddress => "emails",
        }
    }
}

/// An agency's stored fields apart from its id, code and times: what an
/// add, an update or an import leaves, secret included.
#[derive(Debug, Clone)]
pub(crate) struct AgencyFields {
    pub name_ko: String,
    pub name_en: String,
    pub kind: AgencyKind,
    pub send_method: SendMethod,
    pub endpoint: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub format: Option<Open311Format>,
    pub service_codes: BTreeMap<String, String>,
    pub api_key: Option<SecretString>,
    pub emails: Vec<String>,
}

impl PartialEq for AgencyFields {
    fn eq(&self, other: &Self) -> bool {
        let key = |k: &Option<SecretString>| k.as_ref().map(|k| k.expose_secret().to_owned());
        self.name_ko == other.name_ko
            && self.name_en == other.name_en
            && self.kind == other.kind
            && self.send_method == other.send_method
            && self.endpoint == other.endpoint
            && self.jurisdiction_id == other.jurisdiction_id
            && self.format == other.format
            && self.service_codes == other.service_codes
            && key(&self.api_key) == key(&other.api_key)
            && self.emails == other.emails
    }
}

impl AgencyFields {
    /// A new agency's fields, normalised ([`AgencyFields::normalised`]).
    pub(crate) fn new(agency: &NewAgency) -> Self {
        let open311 = agency.open311.as_ref();
        Self {
            name_ko: agency.name_ko.clone(),
            name_en: agency.name_en.clone(),
            kind: agency.kind,
            send_method: agency.send_method,
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: open311.and_then(|o| o.jurisdiction_id.clone()),
            format: open311.map(|o| o.format),
            service_codes: open311.map(|o| o.service_codes.clone()).unwrap_or_default(),
            api_key: open311.and_then(|o| o.api_key.clone()),
            emails: agency.emails.clone(),
        }
        .normalised()
    }

    /// A stored agency's fields, with its stored key.
    pub(crate) fn of(agency: &Agency, api_key: Option<SecretString>) -> Self {
        let open311 = agency.open311.as_ref();
        Self {
            name_ko: agency.name_ko.clone(),
            name_en: agency.name_en.clone(),
            kind: agency.kind,
            send_method: agency.send_method,
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: open311.and_then(|o| o.jurisdiction_id.clone()),
            format: open311.map(|o| o.format),
            service_codes: open311.map(|o| o.service_codes.clone()).unwrap_or_default(),
            api_key,
            emails: agency.emails.clone(),
        }
    }

    /// The fields with the settings of the other send methods dropped (an
    /// email agency keeps no endpoint or key), and Open311's answer format
    /// defaulting to XML, which every GeoReport v2 server offers.
    pub(crate) fn normalised(mut self) -> Self {
        if self.send_method == SendMethod::Open311 {
            self.format.get_or_insert(Open311Format::Xml);
        } else {
            self.endpoint = None;
            self.jurisdiction_id = None;
            self.format = None;
            self.service_codes.clear();
            self.api_key = None;
        }
        if self.send_method != SendMethod::Email {
            self.emails.clear();
        }
        self
    }

    /// The rules between the fields.
    pub(crate) fn check(&self) -> Result<(), AgencyRuleError> {
        match self.send_method {
            SendMethod::Open311 if self.endpoint.is_none() => Err(AgencyRuleError::NeedsEndpoint),
            SendMethod::Email if self.emails.is_empty() => Err(AgencyRuleError::NeedsAddress),
            _ => Ok(()),
        }
    }

    /// [`AgencyFields::check`] as a conflict naming the agency, for a result
    /// the stored state made wrong.
    pub(crate) fn check_for(&self, code: &str) -> Result<(), RepoError> {
        self.check()
            .map_err(|e| RepoError::Conflict(format!("agency `{code}`: {e}")))
    }

    /// What the audit log keeps: everything but the key, of which it keeps
    /// whether one is set.
    pub(crate) fn audit_view(&self, code: &str, retired: bool) -> serde_json::Value {
        serde_json::json!({
            "code": code,
            "name_ko": self.name_ko,
            "name_en": self.name_en,
            "kind": self.kind,
            "send_method": self.send_method,
            "endpoint": self.endpoint,
            "jurisdiction_id": self.jurisdiction_id,
            "format": self.format,
            "service_codes": self.service_codes,
            "api_key_set": self.api_key.is_some(),
            "emails": self.emails,
            "retired": retired,
        })
    }

    /// The `service_codes_json` column.
    pub(crate) fn service_codes_json(&self) -> Result<String, RepoError> {
        serde_json::to_string(&self.service_codes)
            .map_err(|e| RepoError::Storage(format!("cannot serialise service codes: {e}")))
    }

    /// The `emails_json` column.
    pub(crate) fn emails_json(&self) -> Result<String, RepoError> {
        serde_json::to_string(&self.emails)
            .map_err(|e| RepoError::Storage(format!("cannot serialise addresses: {e}")))
    }

    /// The key as the `open311_api_key` column holds it.
    pub(crate) fn api_key_text(&self) -> Option<String> {
        self.api_key.as_ref().map(|k| k.expose_secret().to_owned())
    }
}

impl AgencyUpdate {
    /// The update that gives an existing agency the whole definition `new`,
    /// keeping its stored API key unless `new` gives one: what an import does.
    pub fn redefine(new: &NewAgency) -> Self {
        let open311 = new.open311.as_ref();
        Self {
            name_ko: Some(new.name_ko.clone()),
            name_en: Some(new.name_en.clone()),
            kind: Some(new.kind),
            send_method: Some(new.send_method),
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: Some(open311.and_then(|o| o.jurisdiction_id.clone())),
            format: open311.map(|o| o.format),
            service_codes: Some(open311.map(|o| o.service_codes.clone()).unwrap_or_default()),
            api_key: open311.and_then(|o| o.api_key.clone()).map(Some),
            emails: Some(new.emails.clone()),
        }
    }

    /// What `before` (with its stored key) becomes: `None` when nothing
    /// changes; a conflict when the agency is retired or the result breaks a
    /// rule between fields. Both backends decide an update here.
    pub(crate) fn applied_to(
        &self,
        before: &Agency,
        api_key: Option<SecretString>,
    ) -> Result<Option<AgencyFields>, RepoError> {
        not_retired(before)?;
        let old = AgencyFields::of(before, api_key);
        let after = AgencyFields {
            name_ko: self.name_ko.clone().unwrap_or_else(|| old.name_ko.clone()),
            name_en: self.name_en.clone().unwrap_or_else(|| old.name_en.clone()),
            kind: self.kind.unwrap_or(old.kind),
            send_method: self.send_method.unwrap_or(old.send_method),
            endpoint: self.endpoint.clone().or_else(|| old.endpoint.clone()),
            jurisdiction_id: self
                .jurisdiction_id
                .clone()
                .unwrap_or_else(|| old.jurisdiction_id.clone()),
            format: self.format.or(old.format),
            service_codes: self
                .service_codes
                .clone()
                .unwrap_or_else(|| old.service_codes.clone()),
            api_key: self.api_key.clone().unwrap_or_else(|| old.api_key.clone()),
            emails: self.emails.clone().unwrap_or_else(|| old.emails.clone()),
        }
        .normalised();
        if after == old {
            return Ok(None);
        }
        after.check_for(&before.code)?;
        Ok(Some(after))
    }
}

/// Refuses a change to a retired agency.
pub(crate) fn not_retired(agency: &Agency) -> Result<(), RepoError> {
    match agency.retired_at {
        Some(_) => Err(RepoError::Conflict(format!(
            "agency `{}` is retired and cannot be changed",
            agency.code
        ))),
        None => Ok(()),
    }
}

/// The refusal of a second agency with the same code.
pub(crate) fn code_taken(code: &str) -> RepoError {
    RepoError::Conflict(format!(
        "agency `{code}` already exists in this station (retired agencies keep their code)"
    ))
}

/// The columns an agency read selects, in the order [`agency_from`] reads
/// them: never the API key, only whether one is set.
pub(crate) const AGENCY_COLUMNS: &str = "id, code, name_ko, name_en, kind, send_method, \
     open311_endpoint, open311_jurisdiction_id, open311_format, service_codes_json, \
     open311_api_key IS NOT NULL, emails_json, created_at, updated_at, retired_at";

/// An agency read back ([`AGENCY_COLUMNS`]).
pub(crate) fn agency_from(row: &impl Columns) -> Result<Agency, RepoError> {
    let kind = row.text(4)?;
    let method = row.text(5)?;
    let send_method = SendMethod::parse(&method)
        .ok_or_else(|| bad_column(5, format!("send method `{method}`")))?;
    let open311 = match (send_method, row.opt_text(6)?) {
        (SendMethod::Open311, Some(endpoint)) => {
            let format = row.opt_text(8)?.unwrap_or_default();
            Some(Open311Settings {
                endpoint,
                jurisdiction_id: row.opt_text(7)?,
                format: Open311Format::parse(&format)
                    .ok_or_else(|| bad_column(8, format!("Open311 format `{format}`")))?,
                service_codes: row.json(9, "service codes")?,
                api_key_set: row.flag(10)?,
            })
        }
        _ => None,
    };
    Ok(Agency {
        id: row.uuid(0)?,
        code: row.text(1)?,
        name_ko: row.text(2)?,
        name_en: row.text(3)?,
        kind: AgencyKind::parse(&kind)
            .ok_or_else(|| bad_column(4, format!("agency kind `{kind}`")))?,
        send_method,
        open311,
        emails: row.json(11, "addresses")?,
        created_at: row.time(12)?,
        updated_at: row.time(13)?,
        retired_at: row.opt_time(14)?,
    })
}

/// The agency of `code` among the station's.
pub(crate) fn find<'a>(agencies: &'a [Agency], code: &str) -> Option<&'a Agency> {
    agencies.iter().find(|a| a.code == code)
}

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
    fn audit_view(&self) -> serde_json::Value {
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
        created_at: super::columns::micros(now),
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

/// The three changes an agency goes through, each with its audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgencyChange {
    /// `agency.add`
    Add,
    /// `agency.update`
    Update,
    /// `agency.retire`
    Retire,
}

impl ActionLog {
    /// The audit row of an agency change: before and after without the key
    /// (whether one is set, and on an update whether it changed). No feed
    /// entry: phones and the queue do not show agencies.
    pub(crate) fn agency_changed(
        actor: Actor,
        change: AgencyChange,
        code: &str,
        before: Option<(&AgencyFields, bool)>,
        after: (&AgencyFields, bool),
    ) -> Self {
        let action = match change {
            AgencyChange::Add => "agency.add",
            AgencyChange::Update => "agency.update",
            AgencyChange::Retire => "agency.retire",
        };
        let mut after_view = after.0.audit_view(code, after.1);
        if let Some((old, _)) = before {
            let changed = old.api_key_text() != after.0.api_key_text();
            after_view["api_key_changed"] = serde_json::Value::Bool(changed);
        }
        Self {
            actor,
            audit: AuditRecord::new(
                action,
                "agency",
                code,
                before.map(|(f, retired)| f.audit_view(code, retired)),
                after_view,
            ),
            change: None,
        }
    }

    /// `routing_rule.add`.
    pub(crate) fn rule_added(actor: Actor, rule: &RoutingRule) -> Self {
        Self {
            actor,
            audit: AuditRecord::new(
                "routing_rule.add",
                "routing_rule",
                rule.id,
                None,
                rule.audit_view(),
            ),
            change: None,
        }
    }

    /// `routing_rule.remove`.
    pub(crate) fn rule_removed(actor: Actor, rule: &RoutingRule) -> Self {
        Self {
            actor,
            audit: AuditRecord::new(
                "routing_rule.remove",
                "routing_rule",
                rule.id,
                Some(rule.audit_view()),
                serde_json::json!({ "removed": true }),
            ),
            change: None,
        }
    }
}

/// What an import did to one agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyImportOutcome {
    /// It was new.
    Added,
    /// It existed and changed.
    Updated,
    /// It existed as the file defines it.
    Unchanged,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyImport {
    /// Each agency of the file, in its order, with what happened to it.
    pub agencies: Vec<(String, AgencyImportOutcome)>,
    /// Whether the routing rules were replaced by the file's (false when the
    /// file gave none, or the same ones).
    pub rules_replaced: bool,
    /// The station's rules after the import.
    pub rules: usize,
}

/// A rule as an import defines it, compared with the stored ones to tell
/// whether the routing changed.
pub(crate) fn same_rules(stored: &[RoutingRule], new: &[NewRoutingRule]) -> bool {
    stored.len() == new.len()
        && stored.iter().zip(new).all(|(s, n)| {
            n.priority == Some(s.priority)
                && s.category == n.category
                && s.area == n.area
                && s.agency_code == n.agency_code
        })
}

/// Gives rules of an import without a priority their place: 10, 20, … in
/// the file's order after the previous one.
pub(crate) fn number_rules(rules: &mut [NewRoutingRule]) {
    let mut last = 0u32;
    for rule in rules {
        let p = rule
            .priority
            .unwrap_or_else(|| last.saturating_add(PRIORITY_STEP));
        rule.priority = Some(p);
        last = p;
    }
}

/// Agencies and routing rules: admins manage them, supervisors read them
/// when they refer. Every write runs in one transaction with its audit rows.
#[async_trait]
pub trait AgencyStore: Send + Sync {
    /// The station's agencies, retired ones included, by code.
    async fn agencies(&self, station: StationId) -> Result<Vec<Agency>, RepoError>;
    /// Adds an agency (fields checked, see [`AgencyFields::check`]):
    /// `Conflict` when the code exists. Writes an `agency.add` audit row.
    async fn add_agency(
        &self,
        station: StationId,
        agency: NewAgency,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Agency, RepoError>;
    /// Changes what the update names: `NotFound("agency")`; `Conflict` when
    /// retired or the result breaks a rule. Returns the agency and whether
    /// anything changed; only a change writes `agency.update`.
    async fn update_agency(
        &self,
        station: StationId,
        code: &str,
        update: AgencyUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError>;
    /// Retires an agency (never deletes it): its routing rules stop
    /// proposing it and it takes no new referrals; referrals keep it.
    /// Returns the agency and whether this call retired it.
    async fn retire_agency(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError>;
    /// The agency's Open311 API key, for the sender only: never shown.
    async fn agency_api_key(
        &self,
        station: StationId,
        agency: Uuid,
    ) -> Result<Option<SecretString>, RepoError>;
    /// The station's routing rules in priority order (lower first).
    async fn routing_rules(&self, station: StationId) -> Result<Vec<RoutingRule>, RepoError>;
    /// Adds a rule: `NotFound("agency")`; `Conflict` when its agency is
    /// retired or its priority taken. Writes `routing_rule.add`.
    async fn add_routing_rule(
        &self,
        station: StationId,
        rule: NewRoutingRule,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError>;
    /// Removes a rule: `NotFound("routing rule")`. Writes `routing_rule.remove`
    /// (the rule as it was).
    async fn remove_routing_rule(
        &self,
        station: StationId,
        rule: Uuid,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError>;
    /// Imports agency definitions and, when `rules` is given, the complete
    /// routing, all or nothing in one transaction. An agency whose code
    /// exists gets the new definition (keeping its stored API key unless the
    /// import gives one); a new code is added; agencies the import does not
    /// name are left alone. Given rules replace the station's (unless they are
    /// the same). `Conflict` (nothing written) when a code repeats or names a
    /// retired agency, or a rule's priority repeats; `NotFound("agency")` for
    /// a rule naming no agency.
    async fn import_agencies(
        &self,
        station: StationId,
        agencies: Vec<NewAgency>,
        rules: Option<Vec<NewRoutingRule>>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AgencyImport, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::PlacedDistrict;

    fn agency(code: &str, method: SendMethod) -> Agency {
        let at = Utc::now();
        Agency {
            id: Uuid::now_v7(),
            code: code.to_owned(),
            name_ko: "서대문구청".to_owned(),
            name_en: "Seodaemun-gu Office".to_owned(),
            kind: AgencyKind::DistrictOffice,
            send_method: method,
            open311: None,
            emails: Vec::new(),
            created_at: at,
            updated_at: at,
            retired_at: None,
        }
    }

    fn rule(priority: u32, category: Option<&str>, area: RuleArea, agency: &Agency) -> RoutingRule {
        RoutingRule {
            id: Uuid::now_v7(),
            priority,
            category: category.map(str::to_owned),
            area,
            agency_id: agency.id,
            agency_code: agency.code.clone(),
            created_at: Utc::now(),
        }
    }

    fn placed(district: &str, zones: &[&str]) -> Placement {
        Placement {
            district: Some(PlacedDistrict {
                code: district.to_owned(),
                name: "구".to_owned(),
            }),
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
            ..Placement::default()
        }
    }

    #[test]
    fn the_first_matching_rule_by_priority_proposes_and_open_fields_match_anything() {
        let gu = agency("gu", SendMethod::Manual);
        let post = agency("post", SendMethod::Manual);
        let police = agency("police", SendMethod::Manual);
        let agencies = vec![gu.clone(), post.clone(), police.clone()];
        let rules = vec![
            rule(
                10,
                Some("safety_facility"),
                RuleArea::District("11410".into()),
                &gu,
            ),
            rule(20, Some("parcel_theft"), RuleArea::Any, &post),
            rule(30, None, RuleArea::Zone("dark-alley".into()), &police),
        ];
        let inside = placed("11410", &["dark-alley"]);
        let outside = placed("11440", &[]);
        let pick = |category: &str, p: Option<&Placement>| {
            propose(&rules, &agencies, category, p).map(|(a, r)| (a.code.clone(), r.priority))
        };
        assert_eq!(
            pick("safety_facility", Some(&inside)),
            Some(("gu".into(), 10))
        );
        assert_eq!(
            pick("safety_facility", Some(&outside)),
            None,
            "another district"
        );
        assert_eq!(
            pick("parcel_theft", Some(&outside)),
            Some(("post".into(), 20))
        );
        assert_eq!(
            pick("crime_risk", Some(&inside)),
            Some(("police".into(), 30))
        );
        assert_eq!(
            pick("crime_risk", None),
            None,
            "an unplaced report is in no zone"
        );
        let mut retired = agencies.clone();
        retired[0].retired_at = Some(Utc::now());
        assert_eq!(
            propose(&rules, &retired, "safety_facility", Some(&inside))
                .map(|(a, _)| a.code.clone()),
            Some("police".into()),
            "a retired agency's rule is passed over"
        );
    }

    #[test]
    fn fields_of_other_methods_are_dropped_and_each_method_needs_its_own() {
        let fields = AgencyFields {
            name_ko: "구청".into(),
            name_en: "Office".into(),
            kind: AgencyKind::DistrictOffice,
            send_method: SendMethod::Email,
            endpoint: Some("https://x.example/open311/v2".into()),
            jurisdiction_id: Some("j".into()),
            format: Some(Open311Format::Json),
            service_codes: BTreeMap::from([("a".into(), "1".into())]),
            api_key: Some(SecretString::from("k")),
            emails: vec![],
        }
        .normalised();
        assert!(fields.endpoint.is_none() && fields.api_key.is_none() && fields.format.is_none());
        assert_eq!(fields.check(), Err(AgencyRuleError::NeedsAddress));
        let open311 = AgencyFields {
            send_method: SendMethod::Open311,
            emails: vec!["a@b.example".into()],
            ..fields
        }
        .normalised();
        assert!(open311.emails.is_empty());
        assert_eq!(open311.format, Some(Open311Format::Xml), "XML by default");
        assert_eq!(open311.check(), Err(AgencyRuleError::NeedsEndpoint));
    }

    #[test]
    fn an_update_that_changes_nothing_is_none_and_a_new_key_is_a_change() {
        let before = agency("gu", SendMethod::Manual);
        assert!(
            AgencyUpdate::default()
                .applied_to(&before, None)
                .expect("applies")
                .is_none()
        );
        let same = AgencyUpdate {
            name_ko: Some("서대문구청".into()),
            ..AgencyUpdate::default()
        };
        assert!(same.applied_to(&before, None).expect("applies").is_none());
        let mut open311 = before.clone();
        open311.send_method = SendMethod::Open311;
        open311.open311 = Some(Open311Settings {
            endpoint: "https://x.example".into(),
            jurisdiction_id: None,
            format: Open311Format::Json,
            service_codes: BTreeMap::new(),
            api_key_set: true,
        });
        let rekey = AgencyUpdate {
            api_key: Some(Some(SecretString::from("new"))),
            ..AgencyUpdate::default()
        };
        let after = rekey
            .applied_to(&open311, Some(SecretString::from("old")))
            .expect("applies")
            .expect("changed");
        assert_eq!(after.api_key_text().as_deref(), Some("new"));
        let again = AgencyUpdate {
            api_key: Some(Some(SecretString::from("old"))),
            ..AgencyUpdate::default()
        };
        assert!(
            again
                .applied_to(&open311, Some(SecretString::from("old")))
                .expect("applies")
                .is_none()
        );
    }

    #[test]
    fn rules_without_a_priority_follow_the_last() {
        let gu = agency("gu", SendMethod::Manual);
        assert_eq!(next_priority(&[]), PRIORITY_STEP);
        let rules = vec![rule(35, None, RuleArea::Any, &gu)];
        assert_eq!(next_priority(&rules), 45);
        let mut new = vec![
            NewRoutingRule {
                priority: None,
                category: None,
                area: RuleArea::Any,
                agency_code: "gu".into(),
            };
            3
        ];
        new[1].priority = Some(15);
        number_rules(&mut new);
        let priorities: Vec<_> = new.iter().map(|r| r.priority).collect();
        assert_eq!(priorities, [Some(10), Some(15), Some(25)]);
        assert_eq!(
            AgencyKind::choices(),
            "district_office, city, post_office, police or other"
        );
    }
}
