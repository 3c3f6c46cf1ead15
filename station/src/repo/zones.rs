//! Zones of a station's district as the station stores them, and the rules
//! every backend applies when they change.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ZoneArea, ZoneInfo, ZoneKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column, micros};
use super::feed::{ActionLog, NewChange};
use super::{Actor, RepoError, StationId};

mod import;

pub use import::{ImportOutcome, ImportedZone};
pub(crate) use import::{ImportStep, plan_import};

/// A zone: a beat, a watch area or the station's jurisdiction, managed by the
/// station's admins. Serialised as is into the feed's `zone` entries (and,
/// before zone deltas, the whole-list `zones` entries, which is why every
/// field added since has a default), from which each carrier's view is cut
/// ([`Zone::for_device`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// Stable code, unique in the station, e.g. `route-12`.
    pub code: String,
    /// What the zone is for.
    #[serde(default)]
    pub kind: ZoneKind,
    /// Why a watch area is watched, e.g. `dark_alley`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// Display name in Korean.
    pub name: String,
    /// Display name in English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// What carriers should look for there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guidance: Option<String>,
    /// In force from this instant; always when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<DateTime<Utc>>,
    /// In force until this instant (exclusive); forever when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<DateTime<Utc>>,
    /// Outline, if drawn: validated, with RFC 7946 winding.
    pub area: Option<ZoneArea>,
    /// Carrier devices assigned to it, in id order.
    pub devices: Vec<Uuid>,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Set once retired; retired zones are kept, never deleted.
    pub retired_at: Option<DateTime<Utc>>,
}

impl Zone {
    /// What the audit log keeps of a zone: everything but the outline's
    /// points (positions stay out of the log), of which it keeps only the count.
    pub(crate) fn audit_view(&self) -> serde_json::Value {
        let points = self.area.as_ref().map(ZoneArea::position_count);
        serde_json::json!({
            "code": self.code,
            "kind": self.kind,
            "theme": self.theme,
            "name": self.name,
            "name_en": self.name_en,
            "guidance": self.guidance,
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
            "area_points": points,
            "devices": self.devices,
            "retired": self.retired_at.is_some(),
        })
    }

    /// What a carrier's phone gets: no other devices' ids, only whether this
    /// one is assigned.
    pub fn for_device(&self, device: Uuid) -> ZoneInfo {
        ZoneInfo {
            code: self.code.clone(),
            kind: self.kind,
            theme: self.theme.clone(),
            name: self.name.clone(),
            name_en: self.name_en.clone(),
            guidance: self.guidance.clone(),
            valid_from: self.valid_from,
            valid_until: self.valid_until,
            area: self.area.clone(),
            assigned: self.devices.contains(&device),
            retired: self.retired_at.is_some(),
        }
    }
}

/// A zone to add (or, in an import, the whole new definition of one); its
/// fields already checked by the caller (`crate::zones`), its area validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewZone {
    /// Code, unique in the station.
    pub code: String,
    /// What the zone is for.
    pub kind: ZoneKind,
    /// Why a watch area is watched.
    pub theme: Option<String>,
    /// Display name in Korean.
    pub name: String,
    /// Display name in English.
    pub name_en: Option<String>,
    /// What carriers should look for there.
    pub guidance: Option<String>,
    /// Start of validity.
    pub valid_from: Option<DateTime<Utc>>,
    /// End of validity (exclusive).
    pub valid_until: Option<DateTime<Utc>>,
    /// Outline, if any.
    pub area: Option<ZoneArea>,
    /// Devices of the station to assign.
    pub devices: Vec<Uuid>,
}

/// Changes to a zone; `None` fields stay as they are, `Some(None)` clears an
/// optional one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneUpdate {
    /// New kind.
    pub kind: Option<ZoneKind>,
    /// New theme.
    pub theme: Option<Option<String>>,
    /// New Korean name.
    pub name: Option<String>,
    /// New English name.
    pub name_en: Option<Option<String>>,
    /// New guidance.
    pub guidance: Option<Option<String>>,
    /// New start of validity.
    pub valid_from: Option<Option<DateTime<Utc>>>,
    /// New end of validity.
    pub valid_until: Option<Option<DateTime<Utc>>>,
    /// New outline; `Some(None)` removes it.
    pub area: Option<Option<ZoneArea>>,
    /// The complete new set of assigned devices.
    pub devices: Option<Vec<Uuid>>,
}

/// A rule between a zone's fields, which no single field can break alone:
/// checked on every add, update and import, by the API before storing and by
/// the store on the merged result of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ZoneRuleError {
    /// The validity ends before (or when) it starts.
    #[error("valid_until must be after valid_from")]
    ValidityReversed,
    /// A theme on a zone that is not a watch area.
    #[error("only watch areas have a theme")]
    ThemeOutsideWatchArea,
    /// A watch area or jurisdiction without an outline, which could never
    /// tell a carrier they are in it.
    #[error("a {0} needs an outline (area)")]
    NeedsArea(&'static str),
}

impl ZoneRuleError {
    /// The field the fault is reported on.
    pub fn field(self) -> &'static str {
        match self {
            Self::ValidityReversed => "valid_until",
            Self::ThemeOutsideWatchArea => "theme",
            Self::NeedsArea(_) => "area",
        }
    }
}

/// Checks the rules between a zone's fields.
pub fn check_zone_rules(
    kind: ZoneKind,
    theme: Option<&str>,
    has_area: bool,
    valid_from: Option<DateTime<Utc>>,
    valid_until: Option<DateTime<Utc>>,
) -> Result<(), ZoneRuleError> {
    if let (Some(from), Some(until)) = (valid_from, valid_until)
        && until <= from
    {
        return Err(ZoneRuleError::ValidityReversed);
    }
    if theme.is_some() && kind != ZoneKind::WatchArea {
        return Err(ZoneRuleError::ThemeOutsideWatchArea);
    }
    if !has_area && kind != ZoneKind::Beat {
        return Err(ZoneRuleError::NeedsArea(match kind {
            ZoneKind::WatchArea => "watch area",
            _ => "jurisdiction",
        }));
    }
    Ok(())
}

/// A zone's stored fields apart from its code and times, for a backend to
/// write: what an add, an update or an import leaves.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ZoneFields {
    pub kind: ZoneKind,
    pub theme: Option<String>,
    pub name: String,
    pub name_en: Option<String>,
    pub guidance: Option<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub area: Option<ZoneArea>,
    /// Assigned devices, sorted and without repeats.
    pub devices: Vec<Uuid>,
}

impl ZoneFields {
    /// A stored zone's fields.
    pub(crate) fn of(zone: &Zone) -> Self {
        Self {
            kind: zone.kind,
            theme: zone.theme.clone(),
            name: zone.name.clone(),
            name_en: zone.name_en.clone(),
            guidance: zone.guidance.clone(),
            valid_from: zone.valid_from,
            valid_until: zone.valid_until,
            area: zone.area.clone(),
            devices: zone.devices.clone(),
        }
    }

    /// A new zone's fields, with `devices` assigned; times to the
    /// microsecond, as both backends keep them, so a definition given again
    /// compares equal to the stored one.
    pub(crate) fn new(zone: &NewZone, mut devices: Vec<Uuid>) -> Self {
        devices.sort();
        devices.dedup();
        Self {
            kind: zone.kind,
            theme: zone.theme.clone(),
            name: zone.name.clone(),
            name_en: zone.name_en.clone(),
            guidance: zone.guidance.clone(),
            valid_from: zone.valid_from.map(micros),
            valid_until: zone.valid_until.map(micros),
            area: zone.area.clone(),
            devices,
        }
    }

    /// [`check_zone_rules`] on these fields; a conflict naming the zone, for
    /// a result that only the stored state made wrong.
    pub(super) fn check_rules(&self, code: &str) -> Result<(), RepoError> {
        check_zone_rules(
            self.kind,
            self.theme.as_deref(),
            self.area.is_some(),
            self.valid_from,
            self.valid_until,
        )
        .map_err(|e| RepoError::Conflict(format!("zone `{code}`: {e}")))
    }
}

/// Refuses a change to a retired zone.
pub(super) fn not_retired(zone: &Zone) -> Result<(), RepoError> {
    match zone.retired_at {
        Some(_) => Err(RepoError::Conflict(format!(
            "zone `{}` is retired and cannot be changed",
            zone.code
        ))),
        None => Ok(()),
    }
}

impl ZoneUpdate {
    /// What `before` becomes: `None` when nothing changes, a conflict when
    /// the zone is retired or the result breaks a rule between fields (say,
    /// a `valid_until` before the stored `valid_from`). Both backends decide
    /// an update here.
    pub(crate) fn applied_to(&self, before: &Zone) -> Result<Option<ZoneFields>, RepoError> {
        not_retired(before)?;
        let old = ZoneFields::of(before);
        let pick = |new: &Option<Option<String>>, old: &Option<String>| {
            new.clone().unwrap_or_else(|| old.clone())
        };
        let mut devices = self.devices.clone().unwrap_or_else(|| old.devices.clone());
        devices.sort();
        devices.dedup();
        let after = ZoneFields {
            kind: self.kind.unwrap_or(old.kind),
            theme: pick(&self.theme, &old.theme),
            name: self.name.clone().unwrap_or_else(|| old.name.clone()),
            name_en: pick(&self.name_en, &old.name_en),
            guidance: pick(&self.guidance, &old.guidance),
            valid_from: self.valid_from.map_or(old.valid_from, |t| t.map(micros)),
            valid_until: self.valid_until.map_or(old.valid_until, |t| t.map(micros)),
            area: self.area.clone().unwrap_or_else(|| old.area.clone()),
            devices,
        };
        if after == old {
            return Ok(None);
        }
        after.check_rules(&before.code)?;
        Ok(Some(after))
    }
}

/// The columns a zone read selects, in the order [`zone_from`] reads them.
pub(crate) const ZONE_COLUMNS: &str = "code, name, area_json, created_at, updated_at, retired_at, \
     kind, theme, name_en, guidance, valid_from, valid_until";

/// A zone read back ([`ZONE_COLUMNS`]), given its devices.
pub(crate) fn zone_from(row: &impl Columns, devices: Vec<Uuid>) -> Result<Zone, RepoError> {
    let kind = row.text(6)?;
    Ok(Zone {
        code: row.text(0)?,
        kind: ZoneKind::parse(&kind).ok_or_else(|| bad_column(6, format!("zone kind `{kind}`")))?,
        theme: row.opt_text(7)?,
        name: row.text(1)?,
        name_en: row.opt_text(8)?,
        guidance: row.opt_text(9)?,
        valid_from: row.opt_time(10)?,
        valid_until: row.opt_time(11)?,
        area: row.opt_json(2, "zone area")?,
        devices,
        created_at: row.time(3)?,
        updated_at: row.time(4)?,
        retired_at: row.opt_time(5)?,
    })
}

/// A zone's outline as the `area_json` column stores it.
pub(crate) fn area_json(area: Option<&ZoneArea>) -> Result<Option<String>, RepoError> {
    area.map(serde_json::to_string)
        .transpose()
        .map_err(|e| RepoError::Storage(format!("cannot serialise a zone area: {e}")))
}

/// The zone of `code` among the station's; `NotFound("zone")` when none.
pub(crate) fn find(zones: &[Zone], code: &str) -> Result<Zone, RepoError> {
    zones
        .iter()
        .find(|z| z.code == code)
        .cloned()
        .ok_or(RepoError::NotFound("zone"))
}

/// The refusal of a second zone with the same code.
pub(crate) fn code_taken(code: &str) -> RepoError {
    RepoError::Conflict(format!(
        "zone `{code}` already exists in this station (retired zones keep their code)"
    ))
}

/// The three changes a zone goes through, each with its audit action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZoneChange {
    /// `zone.add`
    Add,
    /// `zone.update`
    Update,
    /// `zone.retire`
    Retire,
}

impl ActionLog {
    /// The audit row of a zone change (before and after, outlines reduced
    /// to a point count) and the feed entry with the zone after it: a delta,
    /// so a phone catching up reads the zones that changed, not the whole
    /// list once per change.
    pub(crate) fn zone_changed(
        actor: Actor,
        change: ZoneChange,
        before: Option<&Zone>,
        after: &Zone,
    ) -> Result<Self, RepoError> {
        let action = match change {
            ZoneChange::Add => "zone.add",
            ZoneChange::Update => "zone.update",
            ZoneChange::Retire => "zone.retire",
        };
        Ok(Self {
            actor,
            audit: AuditRecord::new(
                action,
                "zone",
                &after.code,
                before.map(Zone::audit_view),
                after.audit_view(),
            ),
            change: Some(NewChange::zone(after)?),
        })
    }
}

/// A station's zones: admins change them, phones get them through the feed.
///
/// Every write runs in one transaction with its audit rows and one `zone`
/// feed entry per zone it changed.
#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// The station's zones, retired ones included, in the order they were added.
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError>;
    /// Adds a zone: `Conflict` when the code exists, `NotFound("device")` when
    /// a listed device is not one of the station's. Appends a `zone` feed
    /// entry and a `zone.add` audit row.
    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError>;
    /// Changes what the update names: `NotFound("zone")`,
    /// `NotFound("device")`, `Conflict` when retired or when the result
    /// breaks a rule between fields ([`check_zone_rules`]). Returns the zone
    /// and whether anything changed; only a change writes the feed entry and
    /// the `zone.update` audit row (before and after).
    async fn update_zone(
        &self,
        station: StationId,
        code: &str,
        update: ZoneUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError>;
    /// Retires a zone (never deletes it): feed entry and `zone.retire` audit
    /// row. Returns the zone and whether this call retired it.
    /// `NotFound("zone")`.
    async fn retire_zone(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Zone, bool), RepoError>;
    /// Imports zone definitions, all or nothing, in one transaction: a code
    /// the station has gets the new definition and keeps its devices, a new
    /// code is added (with the devices its entry lists); zones the import
    /// does not name are left alone. Each zone that changed gets its feed
    /// entry and `zone.add` or `zone.update` audit row; unchanged ones get
    /// nothing. `Conflict` (and nothing written) when a code repeats, names a
    /// retired zone or a zone breaks a rule between fields; `NotFound("device")`.
    /// Returns each zone in the import's order with its outcome.
    async fn import_zones(
        &self,
        station: StationId,
        zones: Vec<NewZone>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportedZone>, RepoError>;
}

#[cfg(test)]
impl Zone {
    /// A beat named "Market" with no outline, made now: the starting point
    /// of the zone unit tests.
    pub(crate) fn test_beat(code: &str, devices: Vec<Uuid>) -> Self {
        let at = Utc::now();
        Zone {
            code: code.to_owned(),
            kind: ZoneKind::Beat,
            theme: None,
            name: "Market".to_owned(),
            name_en: None,
            guidance: None,
            valid_from: None,
            valid_until: None,
            area: None,
            devices,
            created_at: at,
            updated_at: at,
            retired_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(devices: Vec<Uuid>) -> Zone {
        Zone::test_beat("z1", devices)
    }

    #[test]
    fn an_update_changes_what_it_names_and_nothing_else() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let before = zone(vec![a]);
        let none = ZoneUpdate::default();
        assert_eq!(none.applied_to(&before).expect("applies"), None);
        let same = ZoneUpdate {
            name: Some("Market".to_owned()),
            devices: Some(vec![a, a]),
            name_en: Some(None),
            ..ZoneUpdate::default()
        };
        assert_eq!(
            same.applied_to(&before).expect("applies"),
            None,
            "no change"
        );
        let more = ZoneUpdate {
            devices: Some(vec![b, a, b]),
            guidance: Some(Some("Look for broken lights".to_owned())),
            ..ZoneUpdate::default()
        };
        let mut both = vec![a, b];
        both.sort();
        let after = more.applied_to(&before).expect("applies").expect("changed");
        assert_eq!(after.devices, both);
        assert_eq!(after.guidance.as_deref(), Some("Look for broken lights"));
        assert_eq!(after.name, "Market");
    }

    #[test]
    fn a_retired_zone_cannot_be_updated() {
        let mut before = zone(vec![]);
        before.retired_at = Some(Utc::now());
        let rename = ZoneUpdate {
            name: Some("Station square".to_owned()),
            ..ZoneUpdate::default()
        };
        assert!(matches!(
            rename.applied_to(&before),
            Err(RepoError::Conflict(_))
        ));
    }

    #[test]
    fn an_update_that_breaks_a_rule_with_the_stored_fields_is_a_conflict() {
        let mut before = zone(vec![]);
        let from = Utc::now();
        before.valid_from = Some(from);
        let reversed = ZoneUpdate {
            valid_until: Some(Some(from - chrono::Duration::days(1))),
            ..ZoneUpdate::default()
        };
        assert!(matches!(
            reversed.applied_to(&before),
            Err(RepoError::Conflict(m)) if m.contains("valid_until")
        ));
        let themed = ZoneUpdate {
            theme: Some(Some("dark_alley".to_owned())),
            ..ZoneUpdate::default()
        };
        assert!(matches!(
            themed.applied_to(&before),
            Err(RepoError::Conflict(m)) if m.contains("theme")
        ));
        let watch = ZoneUpdate {
            kind: Some(ZoneKind::WatchArea),
            ..ZoneUpdate::default()
        };
        assert!(matches!(
            watch.applied_to(&before),
            Err(RepoError::Conflict(m)) if m.contains("outline")
        ));
    }
}
