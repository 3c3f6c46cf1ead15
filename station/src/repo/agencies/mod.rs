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

mod fields;
mod routing;
#[cfg(test)]
mod tests;

pub use fields::*;
pub use routing::*;

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
