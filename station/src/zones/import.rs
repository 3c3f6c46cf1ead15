//! A GeoJSON file to zones to import, checked whole before the store sees
//! it (every feature's fields and outline, codes unique in the file, none a
//! retired zone's), so one bad feature refuses the file and changes nothing;
//! and the report of what an import did, shared by the console and the API.

use std::collections::HashMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::Fault;
use super::fields::Places;
use super::geojson::{GeoJsonError, read_collection};
use crate::repo::{ImportOutcome, ImportedZone, NewZone, Zone};

/// Largest import file, in bytes: what `POST /v1/zones/import` reads and the
/// console opens. Room for a few hundred detailed outlines; bounds memory.
pub const MAX_IMPORT_BYTES: usize = 16 * 1024 * 1024;
/// Most features in one file.
pub const MAX_IMPORT_FEATURES: usize = 1_000;
/// Most faults reported for one file; the last says how many more there were.
pub const MAX_REPORTED_FAULTS: usize = 100;

/// A file's zones, checked, in file order (devices empty), with how many
/// rings of each outline were turned to RFC 7946's winding.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedImport {
    /// The zones, in file order.
    pub zones: Vec<NewZone>,
    /// Rings rewound per zone, in the same order.
    pub rings_rewound: Vec<usize>,
}

/// How a feature is named in its faults: by index, and code when it has one.
fn label(index: usize, code: Option<&str>) -> String {
    match code {
        Some(code) if !code.is_empty() => format!("feature {index} (`{code}`)"),
        _ => format!("feature {index}"),
    }
}

/// Names the feature in each of its faults.
fn labelled(faults: Vec<Fault>, label: &str) -> impl Iterator<Item = Fault> {
    faults.into_iter().map(move |f| Fault {
        detail: format!("{label}: {}", f.detail),
        pointer: f.pointer,
    })
}

/// Keeps at most [`MAX_REPORTED_FAULTS`], the last saying how many were left out.
fn capped(mut faults: Vec<Fault>) -> Vec<Fault> {
    if faults.len() > MAX_REPORTED_FAULTS {
        let left = faults.len() - (MAX_REPORTED_FAULTS - 1);
        faults.truncate(MAX_REPORTED_FAULTS - 1);
        faults.push(Fault::new(
            "/features",
            format!("and {left} more faults not listed"),
        ));
    }
    faults
}

/// Reads and checks a whole file; the zones to import, or every fault (at
/// most [`MAX_REPORTED_FAULTS`]), each naming its feature.
pub fn prepare(text: &str) -> Result<PreparedImport, GeoJsonError> {
    let features = read_collection(text)?;
    if features.len() > MAX_IMPORT_FEATURES {
        return Err(GeoJsonError::Invalid(vec![Fault::new(
            "/features",
            format!(
                "{} features; at most {MAX_IMPORT_FEATURES} zones are imported at once",
                features.len()
            ),
        )]));
    }
    let mut faults = Vec::new();
    let mut prepared = PreparedImport {
        zones: Vec::with_capacity(features.len()),
        rings_rewound: Vec::with_capacity(features.len()),
    };
    let mut first_of: HashMap<String, usize> = HashMap::new();
    for feature in features {
        let i = feature.index;
        let (draft, area) = match feature.read {
            Ok(read) => read,
            Err(found) => {
                faults.extend(labelled(found, &label(i, feature.code.as_deref())));
                continue;
            }
        };
        let name = label(i, draft.code.as_deref());
        let (fields, geometry) = (
            format!("/features/{i}/properties"),
            format!("/features/{i}/geometry"),
        );
        if let Some(code) = &draft.code
            && let Some(first) = first_of.insert(code.clone(), i)
        {
            faults.push(Fault::new(
                format!("{fields}/code"),
                format!("{name}: the code is also feature {first}'s; each zone once per file"),
            ));
            first_of.insert(code.clone(), first);
        }
        let places = Places {
            fields: &fields,
            area: &geometry,
        };
        match draft.check(area, places) {
            Ok((zone, repairs)) => {
                prepared.zones.push(zone);
                prepared.rings_rewound.push(repairs.rings_rewound);
            }
            Err(found) => faults.extend(labelled(found, &name)),
        }
    }
    if faults.is_empty() {
        Ok(prepared)
    } else {
        Err(GeoJsonError::Invalid(capped(faults)))
    }
}

/// What the file asks that the station's zones refuse: a code of a retired
/// zone (retired codes are never used again). Checked before importing to
/// name the feature; the store refuses it again, as a whole, if a zone is
/// retired in between.
pub fn check_against(existing: &[Zone], prepared: &PreparedImport) -> Result<(), GeoJsonError> {
    let faults: Vec<Fault> = prepared
        .zones
        .iter()
        .enumerate()
        .filter(|(_, new)| {
            existing
                .iter()
                .any(|z| z.code == new.code && z.retired_at.is_some())
        })
        .map(|(i, new)| {
            Fault::new(
                format!("/features/{i}/properties/code"),
                format!(
                    "{}: zone `{}` is retired, and retired codes are not used again",
                    label(i, Some(&new.code)),
                    new.code
                ),
            )
        })
        .collect();
    if faults.is_empty() {
        Ok(())
    } else {
        Err(GeoJsonError::Invalid(capped(faults)))
    }
}

/// One zone of an import, as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportedZoneReport {
    /// The zone's code.
    pub code: String,
    /// `added`, `updated` (devices kept) or `unchanged`.
    pub outcome: ImportOutcome,
    /// Rings of its outline turned to RFC 7946 winding (exterior
    /// counter-clockwise, holes clockwise).
    pub rings_rewound: usize,
}

/// What an import did, in counts and zone by zone (file order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ImportReport {
    /// Zones added (new codes).
    pub added: usize,
    /// Zones whose definition changed.
    pub updated: usize,
    /// Zones already as the file defines them.
    pub unchanged: usize,
    /// Rings turned to RFC 7946 winding over all outlines.
    pub rings_rewound: usize,
    /// Each zone of the file.
    pub zones: Vec<ImportedZoneReport>,
}

impl ImportReport {
    /// The report of the store's answer for a prepared import.
    pub fn new(imported: &[ImportedZone], prepared: &PreparedImport) -> Self {
        let zones: Vec<ImportedZoneReport> = imported
            .iter()
            .zip(
                prepared
                    .rings_rewound
                    .iter()
                    .copied()
                    .chain(std::iter::repeat(0)),
            )
            .map(|(z, rings_rewound)| ImportedZoneReport {
                code: z.zone.code.clone(),
                outcome: z.outcome,
                rings_rewound,
            })
            .collect();
        let count = |o: ImportOutcome| zones.iter().filter(|z| z.outcome == o).count();
        Self {
            added: count(ImportOutcome::Added),
            updated: count(ImportOutcome::Updated),
            unchanged: count(ImportOutcome::Unchanged),
            rings_rewound: zones.iter().map(|z| z.rings_rewound).sum(),
            zones,
        }
    }

    /// One line: the counts.
    pub fn summary(&self) -> String {
        format!(
            "{} added, {} updated, {} unchanged; {} ring(s) rewound to RFC 7946 winding",
            self.added, self.updated, self.unchanged, self.rings_rewound
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        "[[126.93,37.56],[126.94,37.56],[126.94,37.57],[126.93,37.57],[126.93,37.56]]";
    const BOW_TIE: &str =
        "[[126.93,37.56],[126.94,37.57],[126.94,37.56],[126.93,37.57],[126.93,37.56]]";

    fn file(features: &[(&str, &str, &str)]) -> String {
        let features: Vec<String> = features
            .iter()
            .map(|(code, kind, ring)| {
                format!(
                    r#"{{"type":"Feature","properties":{{"code":"{code}","kind":"{kind}","name_ko":"구역"}},
                       "geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#
                )
            })
            .collect();
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",")
        )
    }

    fn faults(e: GeoJsonError) -> Vec<Fault> {
        match e {
            GeoJsonError::Invalid(f) => f,
            other => panic!("expected faults, got {other:?}"),
        }
    }

    #[test]
    fn a_good_file_becomes_zones_with_their_repairs() {
        let clockwise =
            "[[126.93,37.56],[126.93,37.57],[126.94,37.57],[126.94,37.56],[126.93,37.56]]";
        let prepared = prepare(&file(&[
            ("a", "beat", SQUARE),
            ("b", "jurisdiction", clockwise),
        ]))
        .expect("valid");
        assert_eq!(prepared.zones.len(), 2);
        assert_eq!(prepared.rings_rewound, [0, 1]);
    }

    #[test]
    fn every_bad_feature_is_named_by_index_and_code() {
        let text = file(&[
            ("a", "beat", SQUARE),
            ("b", "bikeway", SQUARE),
            ("a", "beat", SQUARE),
            ("c", "beat", BOW_TIE),
        ]);
        let found = faults(prepare(&text).expect_err("refused"));
        let pointers: Vec<&str> = found.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/features/1/properties/kind",
                "/features/2/properties/code",
                "/features/3/geometry/coordinates/0/0"
            ]
        );
        assert!(
            found[1]
                .detail
                .starts_with("feature 2 (`a`): the code is also feature 0's")
        );
        assert_eq!(
            found[2].detail,
            "feature 3 (`c`): polygon 0 ring 0 position 0: the ring crosses itself"
        );
    }

    #[test]
    fn fault_lists_are_capped() {
        let many: Vec<(String, &str, &str)> = (0..150)
            .map(|i| (format!("z{i}"), "nope", SQUARE))
            .collect();
        let borrowed: Vec<(&str, &str, &str)> =
            many.iter().map(|(c, k, r)| (c.as_str(), *k, *r)).collect();
        let found = faults(prepare(&file(&borrowed)).expect_err("refused"));
        assert_eq!(found.len(), MAX_REPORTED_FAULTS);
        assert!(found[MAX_REPORTED_FAULTS - 1].detail.contains("51 more"));
    }
}
