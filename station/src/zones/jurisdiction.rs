//! A new station's jurisdiction zone: from one of the Seoul districts the
//! station embeds (`station create --jurisdiction 11410`), or from a file
//! holding the outline (`--jurisdiction-file`), for stations elsewhere or
//! whose jurisdiction is not a whole district.

use postcso_model::ZoneKind;

use super::fields::check_area;
use super::geojson::{GeoJsonError, read_outline};
use crate::geo::{ATTRIBUTION, District, Districts};
use crate::repo::{NewZone, Zone};

/// Prefix of the code of a jurisdiction zone made from an embedded district:
/// `district-11410`. Exports recognise such zones by it to credit the data.
pub const DISTRICT_CODE_PREFIX: &str = "district-";
/// Code of a jurisdiction zone made from a file.
pub const FILE_ZONE_CODE: &str = "jurisdiction";

/// Why a jurisdiction could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JurisdictionError {
    /// The code names no embedded district.
    #[error("unknown district code `{code}`; Seoul's districts are: {known}")]
    UnknownDistrict {
        /// The code given.
        code: String,
        /// Every code with its name, for the operator to pick from.
        known: String,
    },
    /// The file is not an outline zones take.
    #[error("{0}")]
    File(#[from] GeoJsonError),
}

/// A jurisdiction zone to add, with what the console should say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Jurisdiction {
    /// The zone (kind `jurisdiction`, no devices).
    pub zone: NewZone,
    /// Rings of the outline turned to RFC 7946 winding.
    pub rings_rewound: usize,
    /// The credit the outline's data asks for, if it is embedded data.
    pub attribution: Option<&'static str>,
}

/// The jurisdiction zone of an embedded Seoul district, by its 5-digit
/// 시군구 code (e.g. `11410`, 서대문구).
pub fn from_district(code: &str) -> Result<Jurisdiction, JurisdictionError> {
    let seoul = Districts::seoul();
    let district =
        seoul
            .by_code(code.trim())
            .ok_or_else(|| JurisdictionError::UnknownDistrict {
                code: code.to_owned(),
                known: seoul
                    .all()
                    .iter()
                    .map(|d| format!("{} {}", d.code, d.name_ko))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
    let (area, repairs) = check_area(district.area.clone(), "")
        .map_err(|fault| JurisdictionError::File(GeoJsonError::Invalid(vec![fault])))?;
    Ok(Jurisdiction {
        zone: NewZone {
            code: format!("{DISTRICT_CODE_PREFIX}{}", district.code),
            kind: ZoneKind::Jurisdiction,
            name: district.name_ko.clone(),
            name_en: (!district.name_en.is_empty()).then(|| district.name_en.clone()),
            area: Some(area),
            ..NewZone::default()
        },
        rings_rewound: repairs.rings_rewound,
        attribution: Some(ATTRIBUTION),
    })
}

/// The jurisdiction zone of an outline file (see `geojson::read_outline`),
/// coded [`FILE_ZONE_CODE`]; the file's properties are not read.
pub fn from_outline(text: &str) -> Result<Jurisdiction, JurisdictionError> {
    let (area, at) = read_outline(text)?;
    let (area, repairs) =
        check_area(area, &at).map_err(|fault| GeoJsonError::Invalid(vec![fault]))?;
    Ok(Jurisdiction {
        zone: NewZone {
            code: FILE_ZONE_CODE.to_owned(),
            kind: ZoneKind::Jurisdiction,
            name: "관할구역".to_owned(),
            name_en: Some("Jurisdiction".to_owned()),
            area: Some(area),
            ..NewZone::default()
        },
        rings_rewound: repairs.rings_rewound,
        attribution: None,
    })
}

/// The embedded district a jurisdiction zone was made from, known by its
/// code (`district-<시군구 code>`), for crediting the data.
pub fn from_embedded_district(zone: &Zone) -> Option<&'static District> {
    if zone.kind != ZoneKind::Jurisdiction {
        return None;
    }
    let code = zone.code.strip_prefix(DISTRICT_CODE_PREFIX)?;
    Districts::seoul().by_code(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seodaemun_becomes_a_named_jurisdiction_with_its_credit() {
        let made = from_district("11410").expect("known");
        assert_eq!(made.zone.code, "district-11410");
        assert_eq!(made.zone.kind, ZoneKind::Jurisdiction);
        assert_eq!(made.zone.name, "서대문구");
        assert_eq!(made.zone.name_en.as_deref(), Some("Seodaemun-gu"));
        assert!(made.zone.area.is_some());
        assert_eq!(made.attribution, Some(ATTRIBUTION));
    }

    #[test]
    fn an_unknown_code_lists_the_known_ones() {
        let err = from_district("99999").expect_err("unknown");
        let text = err.to_string();
        assert!(text.contains("`99999`"), "{text}");
        assert!(text.contains("11410 서대문구"), "{text}");
        assert!(text.contains("11740 강동구"), "{text}");
    }

    #[test]
    fn a_file_outline_is_validated_and_rewound() {
        let clockwise = r#"{"type":"Polygon","coordinates":[[[126.93,37.56],[126.93,37.57],[126.94,37.57],[126.94,37.56],[126.93,37.56]]]}"#;
        let made = from_outline(clockwise).expect("valid");
        assert_eq!(made.rings_rewound, 1);
        assert_eq!(made.zone.code, FILE_ZONE_CODE);
        let bow_tie = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[126.93,37.56],[126.94,37.57],[126.94,37.56],[126.93,37.57],[126.93,37.56]]]}}"#;
        let err = from_outline(bow_tie).expect_err("refused");
        assert!(
            err.to_string()
                .starts_with("/geometry/coordinates/0/0: polygon 0 ring 0 position 0"),
            "{err}"
        );
    }
}
