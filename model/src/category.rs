//! Report categories: the six codes of the brief, extensible by the station.

use serde::{Deserialize, Serialize};

/// A category code as it travels on the wire and sits in the database.
///
/// It is kept as a string, not a closed enum, so that a code the station added
/// after this app was built never makes an old app fail to load a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

/// Why a category code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CategoryError {
    /// The code is not of the form the station issues (lowercase ASCII, digits, `_`).
    #[error("category code must be 1-40 lowercase ASCII letters, digits or '_'")]
    Malformed,
    /// The code is well formed but not in the list this device knows.
    #[error("category code `{0}` is not in the station's category list")]
    Unknown(String),
    /// The code exists but the station retired it; new reports may not use it.
    #[error("category code `{0}` has been retired by the station")]
    Retired(String),
}

impl CategoryCode {
    /// Parses a code, checking only its shape (not whether the station knows it).
    pub fn parse(code: &str) -> Result<Self, CategoryError> {
        let ok_len = (1..=40).contains(&code.len());
        let ok_chars = code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if ok_len && ok_chars {
            Ok(Self(code.to_owned()))
        } else {
            Err(CategoryError::Malformed)
        }
    }

    /// The code as text, for storage and the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = CategoryError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CategoryCode> for String {
    fn from(value: CategoryCode) -> Self {
        value.0
    }
}

impl std::fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One entry of the station's category list, with the reporting guidance the
/// police give carriers, so a carrier can read it on the phone offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryInfo {
    /// Stable code used in reports.
    pub code: CategoryCode,
    /// Korean display name.
    pub name_ko: String,
    /// English display name.
    pub name_en: String,
    /// What to report and what to photograph.
    pub guidance: String,
    /// Retired categories stay readable on old reports but take no new ones.
    #[serde(default)]
    pub retired: bool,
}

/// The six categories of the field brief, as `(code, Korean, English, guidance)`.
pub const BUILTIN_CATEGORIES: [(&str, &str, &str, &str); 6] = [
    (
        "crime_risk",
        "범죄발생 우려지역",
        "Crime risk",
        "Places where crime seems likely: dark alleys, hidden corners, broken locks. Photograph the spot from the street, without people's faces.",
    ),
    (
        "safety_facility",
        "방범시설물 설치 필요지역",
        "Safety facility needed",
        "Missing or broken CCTV, street lights or emergency bells. Photograph the pole or wall where the facility is missing or broken.",
    ),
    (
        "traffic_risk",
        "교통사고 우려지역",
        "Traffic risk",
        "Blind corners, missing crossings, speeding spots. Photograph the road layout as a driver or pedestrian sees it.",
    ),
    (
        "parcel_theft",
        "택배절도 빈번지역",
        "Parcel theft",
        "Entrances where parcels are often stolen. Photograph the entrance and where parcels are left, not the parcels' labels.",
    ),
    (
        "resident_anxiety",
        "주민들이 불안감이 높을 것으로 판단되는 지역",
        "Residents feel unsafe",
        "Places residents say they fear, or where you judge they would. Describe why in the note.",
    ),
    (
        "other",
        "기타",
        "Other",
        "Anything else the station should see. Say what it is in the note.",
    ),
];

/// Pairs of built-in categories that often describe the same place from two
/// sides, so a supervisor looking for duplicates of one report also sees
/// reports of the other filed nearby. The relation is symmetric and not
/// transitive; every category is related to itself; `other` and codes a
/// station added relate to nothing else.
///
/// - crime risk ~ resident anxiety: a spot residents fear is usually one the
///   police would call a crime risk, and carriers file it under either;
/// - crime risk ~ safety facility: a missing CCTV camera, street light or
///   emergency bell is the fix for a crime-risk spot, often filed as its cause;
/// - crime risk ~ parcel theft: a parcel-theft entrance is a crime-risk spot;
/// - safety facility ~ resident anxiety: a dark street is why residents feel unsafe;
/// - safety facility ~ traffic risk: a broken street light at a crossing is
///   both a missing facility and a traffic risk at night.
pub const RELATED_CATEGORIES: [(&str, &str); 5] = [
    ("crime_risk", "resident_anxiety"),
    ("crime_risk", "safety_facility"),
    ("crime_risk", "parcel_theft"),
    ("safety_facility", "resident_anxiety"),
    ("safety_facility", "traffic_risk"),
];

/// Whether two category codes are the same or related (see [`RELATED_CATEGORIES`]).
pub fn categories_related(a: &str, b: &str) -> bool {
    a == b
        || RELATED_CATEGORIES
            .iter()
            .any(|&(x, y)| (x == a && y == b) || (x == b && y == a))
}

/// `code` and every category related to it, `code` first: what a search for
/// duplicates of a report of `code` looks for.
pub fn related_categories(code: &str) -> Vec<&str> {
    let mut related = vec![code];
    for &(x, y) in &RELATED_CATEGORIES {
        if x == code {
            related.push(y);
        } else if y == code {
            related.push(x);
        }
    }
    related
}

/// The category list a device validates new reports against.
///
/// It starts as the six built-in categories and is replaced by the list the
/// station publishes through its changes feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryList {
    entries: Vec<CategoryInfo>,
}

impl Default for CategoryList {
    fn default() -> Self {
        let entries = BUILTIN_CATEGORIES
            .iter()
            .map(|(code, ko, en, guidance)| CategoryInfo {
                code: CategoryCode((*code).to_owned()),
                name_ko: (*ko).to_owned(),
                name_en: (*en).to_owned(),
                guidance: (*guidance).to_owned(),
                retired: false,
            })
            .collect();
        Self { entries }
    }
}

impl CategoryList {
    /// Builds a list from the station's entries.
    pub fn new(entries: Vec<CategoryInfo>) -> Self {
        Self { entries }
    }

    /// All entries, retired ones included, in the station's order.
    pub fn entries(&self) -> &[CategoryInfo] {
        &self.entries
    }

    /// Looks a code up, retired or not.
    pub fn get(&self, code: &str) -> Option<&CategoryInfo> {
        self.entries.iter().find(|c| c.code.as_str() == code)
    }

    /// Checks that a new report may use `code`: well formed, known, not retired.
    pub fn validate_for_new_report(&self, code: &str) -> Result<CategoryCode, CategoryError> {
        let parsed = CategoryCode::parse(code)?;
        match self.get(code) {
            None => Err(CategoryError::Unknown(code.to_owned())),
            Some(info) if info.retired => Err(CategoryError::Retired(code.to_owned())),
            Some(_) => Ok(parsed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_list_accepts_the_six_codes_of_the_brief() {
        let list = CategoryList::default();
        for (code, ..) in BUILTIN_CATEGORIES {
            assert_eq!(list.validate_for_new_report(code).unwrap().as_str(), code);
        }
    }

    #[test]
    fn unknown_malformed_and_retired_codes_are_typed_errors() {
        let mut list = CategoryList::default();
        assert_eq!(
            list.validate_for_new_report("graffiti"),
            Err(CategoryError::Unknown("graffiti".into()))
        );
        assert_eq!(
            list.validate_for_new_report("Crime Risk"),
            Err(CategoryError::Malformed)
        );
        assert_eq!(
            list.validate_for_new_report(""),
            Err(CategoryError::Malformed)
        );
        list.entries[0].retired = true;
        assert_eq!(
            list.validate_for_new_report("crime_risk"),
            Err(CategoryError::Retired("crime_risk".into()))
        );
    }

    #[test]
    fn related_categories_are_symmetric_built_in_and_leave_other_alone() {
        let builtin: Vec<&str> = BUILTIN_CATEGORIES.iter().map(|c| c.0).collect();
        for &(a, b) in &RELATED_CATEGORIES {
            assert!(builtin.contains(&a) && builtin.contains(&b), "{a} ~ {b}");
            assert_ne!(a, b);
            assert!(categories_related(a, b) && categories_related(b, a));
        }
        for code in &builtin {
            assert!(categories_related(code, code), "{code} relates to itself");
        }
        assert!(categories_related("crime_risk", "resident_anxiety"));
        assert!(categories_related("traffic_risk", "safety_facility"));
        assert!(!categories_related("traffic_risk", "parcel_theft"));
        assert!(
            !categories_related("crime_risk", "traffic_risk"),
            "not transitive"
        );
        assert_eq!(related_categories("other"), vec!["other"]);
        assert_eq!(
            related_categories("abandoned_house"),
            vec!["abandoned_house"]
        );
        assert_eq!(
            related_categories("crime_risk"),
            vec![
                "crime_risk",
                "resident_anxiety",
                "safety_facility",
                "parcel_theft"
            ]
        );
        for code in &builtin {
            for other in related_categories(code) {
                assert!(categories_related(code, other));
            }
        }
    }

    #[test]
    fn a_code_unknown_to_this_app_still_deserialises() {
        let code: CategoryCode = serde_json::from_str("\"abandoned_house\"").unwrap();
        assert_eq!(code.as_str(), "abandoned_house");
        assert!(CategoryList::default().get(code.as_str()).is_none());
    }
}
