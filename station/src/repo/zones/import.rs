//! Planning an import against the station's zones, before a backend writes
//! anything: each zone of the file becomes an add, an update (devices kept)
//! or nothing, or the whole import is refused naming the zone.

use serde::Serialize;

use super::{NewZone, Zone, ZoneFields, not_retired};
use crate::repo::RepoError;

/// How an imported zone fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    /// A new code: the zone was added (with no devices).
    Added,
    /// An existing code whose definition changed; its devices were kept.
    Updated,
    /// An existing code with the same definition: nothing was written.
    Unchanged,
}

/// One zone of an import, in file order, as it is after the import.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedZone {
    /// What happened to it.
    pub outcome: ImportOutcome,
    /// The zone now.
    pub zone: Zone,
}

/// What a backend does for one zone of an import, decided before it writes
/// anything so a refusal leaves nothing behind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ImportStep {
    /// Insert a new zone.
    Add(ZoneFields),
    /// Overwrite an existing zone's definition (devices kept).
    Update {
        /// The zone before.
        before: Box<Zone>,
        /// Its fields after.
        fields: ZoneFields,
    },
    /// Leave it as it is.
    Unchanged(Box<Zone>),
}

/// Plans an import against the station's zones: each zone of the file
/// (`zones`, in file order) becomes a step. Refused as a whole, naming the
/// zone by its place in the file, when a code repeats, names a retired zone,
/// or a zone breaks a rule between fields.
pub(crate) fn plan_import(
    existing: &[Zone],
    zones: &[NewZone],
) -> Result<Vec<(String, ImportStep)>, RepoError> {
    let mut seen = std::collections::HashSet::new();
    zones
        .iter()
        .enumerate()
        .map(|(i, new)| {
            let refuse = |why: String| {
                RepoError::Conflict(format!("zone {i} of the import (`{}`): {why}", new.code))
            };
            if !seen.insert(new.code.as_str()) {
                return Err(refuse("the code appears twice".to_owned()));
            }
            let step = match existing.iter().find(|z| z.code == new.code) {
                None => ImportStep::Add(ZoneFields::new(new, new.devices.clone())),
                Some(before) => {
                    not_retired(before).map_err(|e| refuse(e.to_string()))?;
                    let fields = ZoneFields::new(new, before.devices.clone());
                    if fields == ZoneFields::of(before) {
                        ImportStep::Unchanged(Box::new(before.clone()))
                    } else {
                        ImportStep::Update {
                            before: Box::new(before.clone()),
                            fields,
                        }
                    }
                }
            };
            if let ImportStep::Add(fields) | ImportStep::Update { fields, .. } = &step {
                fields
                    .check_rules(&new.code)
                    .map_err(|e| refuse(e.to_string()))?;
            }
            Ok((new.code.clone(), step))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    fn zone(devices: Vec<Uuid>) -> Zone {
        Zone::test_beat("z1", devices)
    }

    #[test]
    fn an_import_plan_adds_updates_keeps_and_refuses_as_a_whole() {
        let a = Uuid::new_v4();
        let existing = vec![zone(vec![a])];
        let same = NewZone {
            code: "z1".into(),
            name: "Market".into(),
            ..NewZone::default()
        };
        let renamed = NewZone {
            name: "Market street".into(),
            ..same.clone()
        };
        let fresh = NewZone {
            code: "z2".into(),
            name: "New".into(),
            ..NewZone::default()
        };
        let plan = plan_import(&existing, &[same.clone(), fresh.clone()]).expect("plan");
        assert!(matches!(plan[0].1, ImportStep::Unchanged(_)));
        assert!(matches!(plan[1].1, ImportStep::Add(_)));
        let plan = plan_import(&existing, &[renamed]).expect("plan");
        let ImportStep::Update { fields, .. } = &plan[0].1 else {
            panic!("an update: {plan:?}");
        };
        assert_eq!(fields.devices, [a], "devices kept");
        assert!(matches!(
            plan_import(&existing, &[fresh.clone(), fresh]),
            Err(RepoError::Conflict(m)) if m.contains("zone 1 of the import (`z2`)")
        ));
        let mut retired = existing;
        retired[0].retired_at = Some(Utc::now());
        assert!(matches!(
            plan_import(&retired, &[same]),
            Err(RepoError::Conflict(m)) if m.contains("retired")
        ));
    }
}
