//! Seoul's 25 districts (자치구) with their 시군구 codes, embedded from
//! `station/data/seoul-gu.geojson`: which district a report falls in, and the
//! outline a station's jurisdiction is set from.

use std::sync::OnceLock;

use postcso_model::{ZoneArea, ZoneIndex};
use serde::Deserialize;

/// The source text, embedded so a station needs no data files to know Seoul.
const SEOUL_GU: &str = include_str!("../../data/seoul-gu.geojson");

/// The credit the boundary data's licence (CC BY 4.0, from KOGL Type 1 data)
/// asks for wherever it is shown or redistributed: the console's map, exports.
pub const ATTRIBUTION: &str = "Boundaries: Statistics Korea SGIS (KOGL Type 1), \
modified by vuski/admdongkor, CC BY 4.0 / 경계: 통계청 SGIS(공공누리 제1유형), 가공 vuski/admdongkor, CC BY 4.0";

/// One district.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    /// The 5-digit 시군구 code, e.g. `11410`.
    pub code: String,
    /// Its Korean name, e.g. `서대문구`.
    pub name_ko: String,
    /// Its English name (Revised Romanization, as the districts write it),
    /// e.g. `Seodaemun-gu`; empty for a code the table below lacks.
    pub name_en: String,
    /// Its outline.
    pub area: ZoneArea,
}

/// English names of Seoul's 25 districts by 시군구 code; the boundary file
/// carries Korean names only.
const ENGLISH_NAMES: &[(&str, &str)] = &[
    ("11110", "Jongno-gu"),
    ("11140", "Jung-gu"),
    ("11170", "Yongsan-gu"),
    ("11200", "Seongdong-gu"),
    ("11215", "Gwangjin-gu"),
    ("11230", "Dongdaemun-gu"),
    ("11260", "Jungnang-gu"),
    ("11290", "Seongbuk-gu"),
    ("11305", "Gangbuk-gu"),
    ("11320", "Dobong-gu"),
    ("11350", "Nowon-gu"),
    ("11380", "Eunpyeong-gu"),
    ("11410", "Seodaemun-gu"),
    ("11440", "Mapo-gu"),
    ("11470", "Yangcheon-gu"),
    ("11500", "Gangseo-gu"),
    ("11530", "Guro-gu"),
    ("11545", "Geumcheon-gu"),
    ("11560", "Yeongdeungpo-gu"),
    ("11590", "Dongjak-gu"),
    ("11620", "Gwanak-gu"),
    ("11650", "Seocho-gu"),
    ("11680", "Gangnam-gu"),
    ("11710", "Songpa-gu"),
    ("11740", "Gangdong-gu"),
];

/// The English name of a district code, if the table has it.
fn english_name(code: &str) -> Option<&'static str> {
    ENGLISH_NAMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Seoul's districts with a point index over them.
pub struct Districts {
    list: Vec<District>,
    index: ZoneIndex<usize>,
}

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
    geometry: ZoneArea,
}

#[derive(Deserialize)]
struct Properties {
    sgg_code: String,
    name_ko: String,
}

impl Districts {
    /// The embedded Seoul districts, parsed and indexed once per process.
    pub fn seoul() -> &'static Districts {
        static SEOUL: OnceLock<Districts> = OnceLock::new();
        SEOUL.get_or_init(|| {
            // The embedded file is part of the build and checked by the tests
            // below; failing to parse it is a build defect, not bad input.
            let parsed: Collection =
                serde_json::from_str(SEOUL_GU).expect("the embedded Seoul districts parse");
            Districts::new(
                parsed
                    .features
                    .into_iter()
                    .map(|f| District {
                        name_en: english_name(&f.properties.sgg_code)
                            .unwrap_or_default()
                            .to_owned(),
                        code: f.properties.sgg_code,
                        name_ko: f.properties.name_ko,
                        area: f.geometry,
                    })
                    .collect(),
            )
        })
    }

    /// Indexes a list of districts.
    pub fn new(list: Vec<District>) -> Self {
        let index = ZoneIndex::new(list.iter().enumerate().map(|(i, d)| (i, &d.area)));
        Self { list, index }
    }

    /// Every district, in the file's order.
    pub fn all(&self) -> &[District] {
        &self.list
    }

    /// The district of a code, e.g. `11410`.
    pub fn by_code(&self, code: &str) -> Option<&District> {
        self.list.iter().find(|d| d.code == code)
    }

    /// The district a point falls in; `None` outside all of them. On a shared
    /// edge the first in file order wins.
    pub fn at(&self, lat: f64, lon: f64) -> Option<&District> {
        self.index
            .containing(lat, lon)
            .first()
            .map(|&&i| &self.list[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_districts_are_seouls_twenty_five_and_all_valid() {
        let seoul = Districts::seoul();
        assert_eq!(seoul.all().len(), 25);
        for d in seoul.all() {
            assert!(d.code.starts_with("11") && d.code.len() == 5, "{}", d.code);
            assert_eq!(d.area.validate(), Ok(()), "{} {}", d.code, d.name_ko);
        }
        assert_eq!(
            seoul.by_code("11410").map(|d| d.name_ko.as_str()),
            Some("서대문구")
        );
    }

    #[test]
    fn every_district_has_its_english_name() {
        let seoul = Districts::seoul();
        for d in seoul.all() {
            assert!(d.name_en.ends_with("-gu"), "{} {}", d.code, d.name_ko);
        }
        assert_eq!(ENGLISH_NAMES.len(), seoul.all().len());
        assert_eq!(
            seoul.by_code("11410").map(|d| d.name_en.as_str()),
            Some("Seodaemun-gu")
        );
    }

    #[test]
    fn known_places_fall_in_their_districts() {
        let seoul = Districts::seoul();
        let name = |lat, lon| seoul.at(lat, lon).map(|d| d.name_ko.as_str());
        // Yonsei University, Sinchon (서대문구).
        assert_eq!(name(37.5658, 126.9386), Some("서대문구"));
        // Hongik University (마포구), just across the line.
        assert_eq!(name(37.5509, 126.9250), Some("마포구"));
        // Seoul City Hall (중구).
        assert_eq!(name(37.5663, 126.9779), Some("중구"));
        // Busan is in no Seoul district.
        assert_eq!(name(35.1796, 129.0756), None);
    }
}
