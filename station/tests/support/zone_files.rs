//! GeoJSON zone files for the import tests of the API and the console: good
//! ones, and every kind of bad one with where and why it must be refused, so
//! both ways in are held to the same list.

#![allow(dead_code)]

use serde_json::{Value, json};

/// A counter-clockwise square near Yonsei University, offset by `dx` degrees east.
pub fn square(dx: f64) -> Value {
    let (w, e) = (126.9312 + dx, 126.9401 + dx);
    json!([[
        [w, 37.5641],
        [e, 37.5641],
        [e, 37.5702],
        [w, 37.5702],
        [w, 37.5641]
    ]])
}

/// The same square drawn clockwise (GIS tools often do).
pub fn clockwise_square(dx: f64) -> Value {
    let mut rings = square(dx);
    if let Some(ring) = rings[0].as_array_mut() {
        ring.reverse();
    }
    rings
}

/// A feature of a zone with `properties` and a `Polygon` of `rings` (or a
/// `null` geometry).
pub fn feature(properties: Value, rings: Option<Value>) -> Value {
    let geometry = match rings {
        Some(rings) => json!({"type": "Polygon", "coordinates": rings}),
        None => Value::Null,
    };
    json!({"type": "Feature", "properties": properties, "geometry": geometry})
}

/// A beat coded `code` over the square offset by `dx`.
pub fn beat(code: &str, dx: f64) -> Value {
    feature(
        json!({"code": code, "kind": "beat", "name_ko": format!("{code} 구역")}),
        Some(square(dx)),
    )
}

/// A FeatureCollection of `features`.
pub fn collection(features: Vec<Value>) -> Value {
    json!({"type": "FeatureCollection", "features": features})
}

/// A file that adds a watch area drawn clockwise (one ring to rewind), a
/// beat without outline and a MultiPolygon beat, and renames `existing`.
pub fn good_file(existing: &str) -> Value {
    collection(vec![
        feature(
            json!({"code": existing, "kind": "beat", "name_ko": "새 이름", "name_en": "New name"}),
            Some(square(0.0)),
        ),
        feature(
            json!({
                "code": "yeonhui-alley", "kind": "watch_area", "theme": "women_living_alone",
                "name_ko": "연희동 골목", "name_en": "Yeonhui alley",
                "guidance": "Look for broken door locks and dark entrances.",
                "valid_from": "2026-12-01T00:00:00+09:00",
                "valid_until": "2027-06-01T00:00:00+09:00"
            }),
            Some(clockwise_square(0.02)),
        ),
        feature(json!({"code": "no-outline", "name": "외곽 없음"}), None),
        json!({
            "type": "Feature",
            "properties": {"code": "two-blocks", "kind": "beat", "name_ko": "두 블록"},
            "geometry": {"type": "MultiPolygon", "coordinates": [square(0.04), square(0.06)]}
        }),
    ])
}

/// A file the station must refuse, and how.
pub struct BadFile {
    /// What is wrong, for messages.
    pub what: &'static str,
    /// The file's text.
    pub text: String,
    /// The API's status.
    pub status: u16,
    /// The pointer of the first fault (422 only).
    pub pointer: &'static str,
    /// Text the first fault's detail (or a 400's detail) contains.
    pub detail: &'static str,
}

/// The bad files of the brief, each with one bad feature among good ones
/// (index 1, code `b` where it has one), plus a retired code when `retired`
/// names a retired zone of the station.
pub fn bad_files(retired: &str) -> Vec<BadFile> {
    let with_second =
        |second: Value| collection(vec![beat("a", 0.0), second, beat("c", 0.02)]).to_string();
    let geometry = |g: Value| json!({"type": "Feature", "properties": {"code": "b", "name_ko": "비"}, "geometry": g});
    let bow_tie = json!([[
        [126.93, 37.56],
        [126.94, 37.57],
        [126.94, 37.56],
        [126.93, 37.57],
        [126.93, 37.56]
    ]]);
    // A circle of 100,000 positions: a fine ring, only far too detailed.
    let mut circle: Vec<Value> = (0..99_999)
        .map(|i| {
            let t = i as f64 / 99_999.0 * std::f64::consts::TAU;
            json!([126.93 + 0.01 * t.cos(), 37.56 + 0.01 * t.sin()])
        })
        .collect();
    circle.push(circle[0].clone());
    let mut crs = collection(vec![beat("a", 0.0), beat("b", 0.01)]);
    crs["crs"] = json!({"type": "name", "properties": {"name": "EPSG:5179"}});
    let placeholder = |value: &str| {
        with_second(feature(
            json!({"code": "b", "name_ko": "비"}),
            Some(json!([[
                [126.93, 37.56],
                [126.94, "HERE"],
                [126.94, 37.57],
                [126.93, 37.56]
            ]])),
        ))
        .replace("\"HERE\"", value)
    };
    vec![
        BadFile {
            what: "a crs other than WGS84",
            text: crs.to_string(),
            status: 422,
            pointer: "/crs",
            detail: "EPSG:5179",
        },
        BadFile {
            what: "a LineString",
            text: with_second(geometry(json!({
                "type": "LineString", "coordinates": [[126.93, 37.56], [126.94, 37.57]]
            }))),
            status: 422,
            pointer: "/features/1/geometry/type",
            detail: "feature 1 (`b`): a LineString is not an area",
        },
        BadFile {
            what: "a Point",
            text: with_second(geometry(
                json!({"type": "Point", "coordinates": [126.93, 37.56]}),
            )),
            status: 422,
            pointer: "/features/1/geometry/type",
            detail: "feature 1 (`b`): a Point is not an area",
        },
        BadFile {
            what: "a bow tie",
            text: with_second(feature(
                json!({"code": "b", "name_ko": "비"}),
                Some(bow_tie),
            )),
            status: 422,
            pointer: "/features/1/geometry/coordinates/0/0",
            detail: "feature 1 (`b`): polygon 0 ring 0 position 0: the ring crosses itself",
        },
        BadFile {
            what: "100,000 vertices",
            text: with_second(feature(
                json!({"code": "b", "name_ko": "비"}),
                Some(json!([circle])),
            )),
            status: 422,
            pointer: "/features/1/geometry/coordinates",
            detail: "feature 1 (`b`): the area has 100000 positions; at most 10000",
        },
        BadFile {
            what: "NaN",
            text: placeholder("NaN"),
            status: 400,
            pointer: "",
            detail: "not valid JSON",
        },
        BadFile {
            what: "1e999",
            text: placeholder("1e999"),
            status: 422,
            pointer: "/features/1/geometry/coordinates/0/1/1",
            detail: "feature 1 (`b`): number out of range",
        },
        BadFile {
            what: "duplicate codes",
            text: collection(vec![beat("a", 0.0), beat("b", 0.01), beat("a", 0.02)]).to_string(),
            status: 422,
            pointer: "/features/2/properties/code",
            detail: "feature 2 (`a`): the code is also feature 0's",
        },
        BadFile {
            what: "an unknown kind",
            text: with_second(feature(
                json!({"code": "b", "kind": "bikeway", "name_ko": "비"}),
                Some(square(0.01)),
            )),
            status: 422,
            pointer: "/features/1/properties/kind",
            detail: "feature 1 (`b`): unknown kind `bikeway`",
        },
        BadFile {
            what: "valid_until before valid_from",
            text: with_second(feature(
                json!({"code": "b", "name_ko": "비",
                       "valid_from": "2027-01-01T00:00:00+09:00",
                       "valid_until": "2026-01-01T00:00:00+09:00"}),
                Some(square(0.01)),
            )),
            status: 422,
            pointer: "/features/1/properties/valid_until",
            detail: "feature 1 (`b`): valid_until must be after valid_from",
        },
        BadFile {
            what: "a retired zone's code",
            text: collection(vec![beat("a", 0.0), beat(retired, 0.01)]).to_string(),
            status: 422,
            pointer: "/features/1/properties/code",
            detail: "is retired",
        },
    ]
}
