//! Zones of a station's district as the station stores them, and the rules
//! every backend applies when they change.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ZoneArea, ZoneInfo, ZoneKind};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::{ActionLog, NewChange};
use super::{Actor, RepoError, StationId};

/// A zone: a delivery route or beat of the station's district, managed by its
/// admins. Serialised as is into the feed's `zones` entries, from which each
/// carrier's view is cut ([`Zone::for_device`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Zone {
    /// Stable code, unique in the station, e.g. `route-12`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Outline, if drawn (validated GeoJSON polygon).
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
            "name": self.name,
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
            kind: ZoneKind::Beat,
            theme: None,
            name: self.name.clone(),
            name_en: None,
            guidance: None,
            valid_from: None,
            valid_until: None,
            area: self.area.clone(),
            assigned: self.devices.contains(&device),
            retired: self.retired_at.is_some(),
        }
    }
}

/// A zone to add; already validated by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewZone {
    /// Code, unique in the station.
    pub code: String,
    /// Display name.
    pub name: String,
    /// Outline, if any.
    pub area: Option<ZoneArea>,
    /// Devices of the station to assign.
    pub devices: Vec<Uuid>,
}

/// Changes to a zone; `None` fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ZoneUpdate {
    /// New name.
    pub name: Option<String>,
    /// New outline; `Some(None)` removes it.
    pub area: Option<Option<ZoneArea>>,
    /// The complete new set of assigned devices.
    pub devices: Option<Vec<Uuid>>,
}

/// A zone's fields after a [`ZoneUpdate`], for a backend to store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ZoneFields {
    /// Name.
    pub name: String,
    /// Outline.
    pub area: Option<ZoneArea>,
    /// Assigned devices, sorted and without repeats.
    pub devices: Vec<Uuid>,
}

impl ZoneUpdate {
    /// What `before` becomes: `None` when nothing changes, a conflict when
    /// the zone is retired. Both backends decide an update here.
    pub(crate) fn applied_to(&self, before: &Zone) -> Result<Option<ZoneFields>, RepoError> {
        if before.retired_at.is_some() {
            return Err(RepoError::Conflict(format!(
                "zone `{}` is retired and cannot be changed",
                before.code
            )));
        }
        let mut devices = self
            .devices
            .clone()
            .unwrap_or_else(|| before.devices.clone());
        devices.sort();
        devices.dedup();
        let after = ZoneFields {
            name: self.name.clone().unwrap_or_else(|| before.name.clone()),
            area: self.area.clone().unwrap_or_else(|| before.area.clone()),
            devices,
        };
        let unchanged = after.name == before.name
            && after.area == before.area
            && after.devices == before.devices;
        Ok((!unchanged).then_some(after))
    }
}

/// A zone read back, given its devices: `code, name, area_json, created_at,
/// updated_at, retired_at`.
pub(crate) fn zone_from(row: &impl Columns, devices: Vec<Uuid>) -> Result<Zone, RepoError> {
    Ok(Zone {
        code: row.text(0)?,
        name: row.text(1)?,
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
    /// to a point count) and the feed entry with the station's whole zone
    /// list after it, in which `after` is.
    pub(crate) fn zone_changed(
        actor: Actor,
        change: ZoneChange,
        before: Option<&Zone>,
        after: &Zone,
        zones: &[Zone],
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
            change: Some(NewChange::zones(zones)?),
        })
    }
}

/// A station's zones: admins change them, phones get them through the feed.
///
/// Every write runs in one transaction with its audit row and a `zones` feed
/// entry carrying the whole list.
#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// The station's zones, retired ones included, in the order they were added.
    async fn zones(&self, station: StationId) -> Result<Vec<Zone>, RepoError>;
    /// Adds a zone: `Conflict` when the code exists, `NotFound("device")` when
    /// a listed device is not one of the station's. Appends a `zones` feed entry
    /// (the whole list) and a `zone.add` audit row.
    async fn add_zone(
        &self,
        station: StationId,
        zone: NewZone,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Zone, RepoError>;
    /// Changes a zone's name, area or devices: `NotFound("zone")`,
    /// `NotFound("device")`, `Conflict` when retired. Returns the zone and
    /// whether anything changed; only a change writes the feed entry and the
    /// `zone.update` audit row (before and after).
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(devices: Vec<Uuid>) -> Zone {
        let at = Utc::now();
        Zone {
            code: "z1".to_owned(),
            name: "Market".to_owned(),
            area: None,
            devices,
            created_at: at,
            updated_at: at,
            retired_at: None,
        }
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
            ..ZoneUpdate::default()
        };
        assert_eq!(
            same.applied_to(&before).expect("applies"),
            None,
            "no change"
        );
        let more = ZoneUpdate {
            devices: Some(vec![b, a, b]),
            ..ZoneUpdate::default()
        };
        let mut both = vec![a, b];
        both.sort();
        assert_eq!(
            more.applied_to(&before).expect("applies"),
            Some(ZoneFields {
                name: "Market".to_owned(),
                area: None,
                devices: both,
            })
        );
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
}
