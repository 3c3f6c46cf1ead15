//! Reading GeoJSON (RFC 7946) as zones take it: a FeatureCollection whose
//! features each carry a zone's properties and a `Polygon` or `MultiPolygon`
//! geometry, in WGS84 longitude/latitude. Each feature is read on its own from
//! the raw text, so one bad feature is reported with all the others' faults
//! and a large file is never held as a tree of JSON values.

use postcso_model::ZoneArea;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::Fault;
use super::fields::ZoneDraft;

/// Names of WGS84 longitude/latitude that a `crs` member may give (the 2008
/// GeoJSON spec's member; RFC 7946 dropped it and means CRS84 throughout).
/// `EPSG:4326` is listed because GIS tools write it for files whose positions
/// are, as GeoJSON's always are, longitude first.
const WGS84_NAMES: &[&str] = &[
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "urn:ogc:def:crs:ogc::crs84",
    "ogc:crs84",
    "crs84",
    "epsg:4326",
    "urn:ogc:def:crs:epsg::4326",
    "urn:ogc:def:crs:epsg:4326",
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
];

/// Why a GeoJSON text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeoJsonError {
    /// Not JSON (or truncated, or a number JSON cannot hold such as `NaN`).
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not what zones take; every fault found.
    #[error("{}", summary(.0))]
    Invalid(Vec<Fault>),
}

/// One line for a list of faults: the first, and how many more.
fn summary(faults: &[Fault]) -> String {
    match faults {
        [] => "refused".to_owned(),
        [one] => one.to_string(),
        [first, rest @ ..] => format!("{first} (and {} more)", rest.len()),
    }
}

/// One feature of a collection, read: its index in `features`, its
/// properties as a zone draft and its outline (`None` for a `null`
/// geometry), or every fault found in it.
#[derive(Debug, Clone)]
pub struct FeatureRead {
    /// Index in the collection's `features`.
    pub index: usize,
    /// Its `code` property, when it has one, to name it in faults.
    pub code: Option<String>,
    /// The properties (or their faults) and the geometry (or its faults).
    pub read: Result<(ZoneDraft, Option<ZoneArea>), Vec<Fault>>,
}

/// A position: `[longitude, latitude]`, or with an altitude, which zones do
/// not use and which is dropped.
struct Position([f64; 2]);

impl<'de> Deserialize<'de> for Position {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Numbers;
        impl<'de> Visitor<'de> for Numbers {
            type Value = Position;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a position [longitude, latitude] or [longitude, latitude, altitude]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Position, A::Error> {
                let lon: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let lat: f64 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let _altitude: Option<f64> = seq.next_element()?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(4, &self));
                }
                Ok(Position([lon, lat]))
            }
        }
        d.deserialize_seq(Numbers)
    }
}

type RawRings = Vec<Vec<Position>>;

fn rings(raw: RawRings) -> postcso_model::Rings {
    raw.into_iter()
        .map(|ring| ring.into_iter().map(|p| p.0).collect())
        .collect()
}

/// Parses `raw` as `T`, a data fault placed at `at` plus the path inside.
fn parse_at<'a, T: Deserialize<'a>>(raw: &'a str, at: &str) -> Result<T, Fault> {
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let mut pointer = at.to_owned();
        for segment in e.path().iter() {
            use serde_path_to_error::Segment;
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } | Segment::Enum { variant: key } => {
                    pointer.push('/');
                    pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                }
                Segment::Unknown => {}
            }
        }
        let message = e.inner().to_string();
        let message = match message.rfind(" at line ") {
            Some(cut) => message[..cut].to_owned(),
            None => message,
        };
        Fault::new(pointer, message)
    })
}

/// A geometry object as it comes, before its coordinates are read.
#[derive(Deserialize)]
struct RawGeometry<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, borrow)]
    coordinates: Option<&'a RawValue>,
}

/// Reads a geometry (at pointer `at`) as a zone's outline, unvalidated:
/// only `Polygon` and `MultiPolygon` are areas.
pub fn read_geometry(raw: &RawValue, at: &str) -> Result<ZoneArea, Fault> {
    let geometry: RawGeometry<'_> = parse_at(raw.get(), at)?;
    let kind = geometry.kind.unwrap_or_default();
    let at_coordinates = format!("{at}/coordinates");
    let coordinates = || {
        geometry.coordinates.map(RawValue::get).ok_or_else(|| {
            Fault::new(
                at_coordinates.clone(),
                "missing: a geometry needs its coordinates",
            )
        })
    };
    match kind.as_str() {
        "Polygon" => {
            let raw: RawRings = parse_at(coordinates()?, &at_coordinates)?;
            Ok(ZoneArea::Polygon {
                coordinates: rings(raw),
            })
        }
        "MultiPolygon" => {
            let raw: Vec<RawRings> = parse_at(coordinates()?, &at_coordinates)?;
            Ok(ZoneArea::MultiPolygon {
                coordinates: raw.into_iter().map(rings).collect(),
            })
        }
        "" => Err(Fault::new(
            format!("{at}/type"),
            "missing: a geometry needs its type (Polygon or MultiPolygon)",
        )),
        other => Err(Fault::new(
            format!("{at}/type"),
            format!(
                "a {other} is not an area: a zone's geometry must be a Polygon or MultiPolygon"
            ),
        )),
    }
}

/// Checks a `crs` member (at `at`) names WGS84 longitude/latitude.
fn check_crs(raw: &RawValue, at: &str) -> Result<(), Fault> {
    #[derive(Deserialize)]
    struct Crs {
        #[serde(rename = "type")]
        kind: Option<String>,
        properties: Option<CrsProperties>,
    }
    #[derive(Deserialize)]
    struct CrsProperties {
        name: Option<String>,
    }
    let refuse = |what: &str| {
        Fault::new(
            at,
            format!(
                "the file's coordinates are in {what}; zones take WGS84 longitude/latitude \
                 (CRS84 or EPSG:4326): reproject the file first, e.g. \
                 `ogr2ogr -t_srs EPSG:4326 out.geojson in.geojson`"
            ),
        )
    };
    let crs: Crs = parse_at(raw.get(), at)?;
    let name = match (crs.kind.as_deref(), crs.properties.and_then(|p| p.name)) {
        (Some("name"), Some(name)) => name,
        _ => return Err(refuse("a coordinate system given other than by name")),
    };
    if WGS84_NAMES.contains(&name.trim().to_ascii_lowercase().as_str()) {
        Ok(())
    } else {
        Err(refuse(&format!("`{name}`")))
    }
}

/// The outer shape of a FeatureCollection; the features are read one by one.
#[derive(Deserialize)]
struct RawCollection<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, borrow)]
    crs: Option<&'a RawValue>,
    #[serde(default, borrow)]
    features: Option<Vec<&'a RawValue>>,
}

/// A feature as it comes.
#[derive(Deserialize)]
struct RawFeature<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, borrow)]
    properties: Option<&'a RawValue>,
    #[serde(default, borrow)]
    geometry: Option<&'a RawValue>,
}

/// Reads one feature (index `index` of the collection).
fn read_feature(raw: &RawValue, index: usize) -> FeatureRead {
    let mut code = None;
    let read = read_parts(raw, index, &mut code);
    FeatureRead { index, code, read }
}

/// Reads one feature's parts, noting its code as soon as it is known.
fn read_parts(
    raw: &RawValue,
    index: usize,
    code: &mut Option<String>,
) -> Result<(ZoneDraft, Option<ZoneArea>), Vec<Fault>> {
    let at = format!("/features/{index}");
    let feature: RawFeature<'_> = parse_at(raw.get(), &at).map_err(|f| vec![f])?;
    let mut faults = Vec::new();
    if feature.kind.as_deref() != Some("Feature") {
        faults.push(Fault::new(format!("{at}/type"), "must be \"Feature\""));
    }
    let draft = match feature.properties {
        Some(raw) => parse_at::<ZoneDraft>(raw.get(), &format!("{at}/properties"))
            .inspect(|draft| code.clone_from(&draft.code))
            .map_err(|f| faults.push(f))
            .ok(),
        None => {
            faults.push(Fault::new(
                format!("{at}/properties"),
                "missing: a feature needs the zone's properties (code, name_ko, ...)",
            ));
            None
        }
    };
    let area = match feature.geometry {
        None => Some(None),
        Some(raw) => read_geometry(raw, &format!("{at}/geometry"))
            .map(Some)
            .map_err(|f| faults.push(f))
            .ok(),
    };
    match (draft, area) {
        (Some(draft), Some(area)) if faults.is_empty() => Ok((draft, area)),
        _ => Err(faults),
    }
}

/// The parse of the whole text, as [`GeoJsonError::Syntax`] when it is not JSON.
fn parse_text<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T, GeoJsonError> {
    serde_json::from_str(text).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            GeoJsonError::Invalid(vec![Fault::new("", format!("not a GeoJSON object: {e}"))])
        }
        _ => GeoJsonError::Syntax(e.to_string()),
    })
}

/// Reads a FeatureCollection: the collection's own faults (type, `crs`) as
/// an error, else each feature read on its own.
pub fn read_collection(text: &str) -> Result<Vec<FeatureRead>, GeoJsonError> {
    let collection: RawCollection<'_> = parse_text(text)?;
    let mut faults = Vec::new();
    if collection.kind.as_deref() != Some("FeatureCollection") {
        faults.push(Fault::new(
            "/type",
            "must be \"FeatureCollection\": the file holds one feature per zone",
        ));
    }
    if let Some(crs) = collection.crs
        && let Err(fault) = check_crs(crs, "/crs")
    {
        faults.push(fault);
    }
    let Some(features) = collection.features else {
        faults.push(Fault::new("/features", "missing: the list of features"));
        return Err(GeoJsonError::Invalid(faults));
    };
    if !faults.is_empty() {
        return Err(GeoJsonError::Invalid(faults));
    }
    Ok(features
        .into_iter()
        .enumerate()
        .map(|(index, raw)| read_feature(raw, index))
        .collect())
}

/// Reads one outline: a `Polygon` or `MultiPolygon` geometry, a Feature
/// with one, or a FeatureCollection of exactly one such feature (what GIS
/// tools write for a district's boundary). Unvalidated; properties ignored.
pub fn read_outline(text: &str) -> Result<(ZoneArea, String), GeoJsonError> {
    #[derive(Deserialize)]
    struct Any<'a> {
        #[serde(rename = "type")]
        kind: Option<String>,
        #[serde(default, borrow)]
        crs: Option<&'a RawValue>,
        #[serde(default, borrow)]
        geometry: Option<&'a RawValue>,
        #[serde(default, borrow)]
        features: Option<Vec<&'a RawValue>>,
    }
    let invalid = |f: Fault| GeoJsonError::Invalid(vec![f]);
    let whole: Any<'_> = parse_text(text)?;
    if let Some(crs) = whole.crs {
        check_crs(crs, "/crs").map_err(invalid)?;
    }
    let root: &RawValue =
        serde_json::from_str(text).map_err(|e| GeoJsonError::Syntax(e.to_string()))?;
    let (geometry, at) = match whole.kind.as_deref() {
        Some("Polygon" | "MultiPolygon") => (root, String::new()),
        Some("Feature") => (
            whole
                .geometry
                .ok_or_else(|| invalid(Fault::new("/geometry", "missing: the outline")))?,
            "/geometry".to_owned(),
        ),
        Some("FeatureCollection") => match whole.features.as_deref() {
            Some([one]) => {
                let feature: RawFeature<'_> =
                    parse_at(one.get(), "/features/0").map_err(invalid)?;
                let geometry = feature.geometry.ok_or_else(|| {
                    invalid(Fault::new("/features/0/geometry", "missing: the outline"))
                })?;
                (geometry, "/features/0/geometry".to_owned())
            }
            _ => {
                return Err(invalid(Fault::new(
                    "/features",
                    "an outline file holds exactly one feature",
                )));
            }
        },
        _ => {
            return Err(invalid(Fault::new(
                "/type",
                "an outline is a Polygon or MultiPolygon geometry, a Feature with one, \
                 or a FeatureCollection of one such feature",
            )));
        }
    };
    let area = read_geometry(geometry, &at).map_err(invalid)?;
    Ok((area, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str =
        "[[126.93,37.56],[126.94,37.56],[126.94,37.57],[126.93,37.57],[126.93,37.56]]";

    fn collection(features: &[String], extra: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection"{extra},"features":[{}]}}"#,
            features.join(",")
        )
    }

    fn feature(code: &str, geometry: &str) -> String {
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","name_ko":"구역"}},"geometry":{geometry}}}"#
        )
    }

    fn polygon() -> String {
        format!(r#"{{"type":"Polygon","coordinates":[{SQUARE}]}}"#)
    }

    fn faults(e: GeoJsonError) -> Vec<Fault> {
        match e {
            GeoJsonError::Invalid(faults) => faults,
            other => panic!("expected faults, got {other:?}"),
        }
    }

    #[test]
    fn features_are_read_with_their_properties_and_outlines() {
        let text = collection(
            &[
                feature("a", &polygon()),
                feature("b", "null"),
                feature(
                    "c",
                    r#"{"type":"MultiPolygon","coordinates":[[[[126.9,37.5,12.0],[127.0,37.5,12],[127.0,37.6,0],[126.9,37.5,1]]]]}"#,
                ),
            ],
            r#","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}"#,
        );
        let read = read_collection(&text).expect("reads");
        assert_eq!(read.len(), 3);
        let (draft, area) = read[0].read.clone().expect("first");
        assert_eq!(draft.name.as_deref(), Some("구역"), "name_ko is the name");
        assert!(matches!(area, Some(ZoneArea::Polygon { .. })));
        assert!(read[1].read.clone().expect("second").1.is_none());
        let Some(ZoneArea::MultiPolygon { coordinates }) = read[2].read.clone().expect("third").1
        else {
            panic!("a multipolygon");
        };
        assert_eq!(coordinates[0][0][0], [126.9, 37.5], "altitude dropped");
    }

    #[test]
    fn other_coordinate_systems_are_refused() {
        for name in ["EPSG:5179", "urn:ogc:def:crs:EPSG::5186"] {
            let text = collection(
                &[feature("a", &polygon())],
                &format!(r#","crs":{{"type":"name","properties":{{"name":"{name}"}}}}"#),
            );
            let faults = faults(read_collection(&text).expect_err("refused"));
            assert_eq!(faults[0].pointer, "/crs");
            assert!(faults[0].detail.contains(name), "{faults:?}");
        }
        let linked = collection(
            &[feature("a", &polygon())],
            r#","crs":{"type":"link","properties":{"href":"x"}}"#,
        );
        assert_eq!(
            faults(read_collection(&linked).expect_err("refused"))[0].pointer,
            "/crs"
        );
        let fine = collection(
            &[feature("a", &polygon())],
            r#","crs":{"type":"name","properties":{"name":"EPSG:4326"}}"#,
        );
        assert!(read_collection(&fine).is_ok());
    }

    #[test]
    fn lines_points_and_bad_numbers_are_placed() {
        let text = collection(
            &[
                feature(
                    "a",
                    r#"{"type":"LineString","coordinates":[[126.9,37.5],[127.0,37.6]]}"#,
                ),
                feature("b", r#"{"type":"Point","coordinates":[126.9,37.5]}"#),
                feature(
                    "c",
                    r#"{"type":"Polygon","coordinates":[[[126.9,37.5],[127.0,"x"]]]}"#,
                ),
                feature(
                    "d",
                    r#"{"type":"Polygon","coordinates":[[[126.9,37.5],[127.0,1e999]]]}"#,
                ),
            ],
            "",
        );
        let read = read_collection(&text).expect("the collection reads");
        let pointer = |i: usize| {
            read[i].read.clone().expect_err("refused")[0]
                .pointer
                .clone()
        };
        assert_eq!(pointer(0), "/features/0/geometry/type");
        assert_eq!(pointer(1), "/features/1/geometry/type");
        assert_eq!(pointer(2), "/features/2/geometry/coordinates/0/1/1");
        assert!(
            pointer(3).starts_with("/features/3/geometry/coordinates/0/1"),
            "{}",
            pointer(3)
        );
    }

    #[test]
    fn what_is_not_json_is_a_syntax_error() {
        for text in [
            collection(
                &[feature(
                    "a",
                    r#"{"type":"Polygon","coordinates":[[[NaN,37.5]]]}"#,
                )],
                "",
            ),
            "{\"type\":".to_owned(),
        ] {
            assert!(
                matches!(read_collection(&text), Err(GeoJsonError::Syntax(_))),
                "{text}"
            );
        }
        assert_eq!(
            faults(read_collection("[]").expect_err("refused"))[0].pointer,
            ""
        );
        assert_eq!(
            faults(read_collection(r#"{"type":"Feature"}"#).expect_err("refused"))
                .iter()
                .map(|f| f.pointer.as_str())
                .collect::<Vec<_>>(),
            ["/type", "/features"]
        );
    }

    #[test]
    fn an_outline_is_a_geometry_a_feature_or_a_collection_of_one() {
        let p = polygon();
        for text in [
            p.clone(),
            format!(r#"{{"type":"Feature","properties":{{"SIG_CD":"11410"}},"geometry":{p}}}"#),
            collection(&[feature("x", &p)], ""),
        ] {
            assert!(
                matches!(read_outline(&text), Ok((ZoneArea::Polygon { .. }, _))),
                "{text}"
            );
        }
        let two = collection(&[feature("x", &p), feature("y", &p)], "");
        assert_eq!(
            faults(read_outline(&two).expect_err("refused"))[0].pointer,
            "/features"
        );
        let line = r#"{"type":"LineString","coordinates":[[126.9,37.5],[127.0,37.6]]}"#;
        assert_eq!(
            faults(read_outline(line).expect_err("refused"))[0].pointer,
            "/type"
        );
    }
}
