//! A zone's fields and their rules, as the REST API, the console and GeoJSON
//! import all check them: each `check_*` function takes what was given and
//! returns what the station keeps, or why not; [`ZoneDraft::check`] checks a
//! whole zone and the rules between its fields.

use chrono::{DateTime, Utc};
use postcso_model::{AreaPlace, AreaRepairs, ZoneArea, ZoneAreaError, ZoneKind, valid_zone_code};
use serde::Deserialize;
use unicode_normalization::UnicodeNormalization;

use super::Fault;
use crate::repo::{NewZone, check_zone_rules};

/// Longest Korean or English name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest guidance, in characters: what fits on a phone's banner.
pub const MAX_GUIDANCE_CHARS: usize = 500;

/// Text as the station keeps it: line breaks unified to `\n`, trimmed, NFC
/// (so the same Korean name typed on two systems compares equal).
fn normalise(raw: &str) -> String {
    raw.replace("\r\n", "\n")
        .replace('\r', "\n")
        .trim()
        .nfc()
        .collect()
}

/// Codes that name API paths beside zones' own (`/v1/zones/import`,
/// `/v1/zones/export`), so a zone with one could not be addressed.
pub const RESERVED_CODES: &[&str] = &["import", "export"];

/// A zone code: 1-40 lowercase letters, digits, `-` or `_`, not reserved.
pub fn check_code(raw: &str) -> Result<String, String> {
    if RESERVED_CODES.contains(&raw) {
        Err(format!("`{raw}` is reserved for the API's own paths"))
    } else if valid_zone_code(raw) {
        Ok(raw.to_owned())
    } else {
        Err("use 1-40 lowercase letters, digits, '-' or '_'".to_owned())
    }
}

/// A zone kind: `beat`, `watch_area` or `jurisdiction`.
pub fn check_kind(raw: &str) -> Result<ZoneKind, String> {
    ZoneKind::parse(raw.trim())
        .ok_or_else(|| format!("unknown kind `{raw}`: use `beat`, `watch_area` or `jurisdiction`"))
}

/// A watch area's theme, e.g. `women_living_alone`: the shape of a zone code.
pub fn check_theme(raw: &str) -> Result<String, String> {
    if valid_zone_code(raw) {
        Ok(raw.to_owned())
    } else {
        Err("a theme is 1-40 lowercase letters, digits, '-' or '_', e.g. `dark_alley`".to_owned())
    }
}

/// An optional theme; empty means none.
pub fn check_opt_theme(raw: &str) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        check_theme(raw).map(Some)
    }
}

/// One line of 1 to [`MAX_NAME_CHARS`] characters, without control characters.
fn check_line(raw: &str) -> Result<String, String> {
    let text = normalise(raw);
    let chars = text.chars().count();
    if chars == 0 || chars > MAX_NAME_CHARS || text.chars().any(char::is_control) {
        Err(format!(
            "must be 1-{MAX_NAME_CHARS} characters without control characters"
        ))
    } else {
        Ok(text)
    }
}

/// The Korean name, which every zone has.
pub fn check_name(raw: &str) -> Result<String, String> {
    check_line(raw)
}

/// The English name; empty means none.
pub fn check_name_en(raw: &str) -> Result<Option<String>, String> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    check_line(raw).map(Some)
}

/// Guidance for carriers: at most [`MAX_GUIDANCE_CHARS`] characters, no
/// control characters but line breaks; empty means none.
pub fn check_guidance(raw: &str) -> Result<Option<String>, String> {
    let text = normalise(raw);
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
        return Err(format!(
            "control character U+{:04X}: only line breaks are allowed",
            u32::from(c)
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_GUIDANCE_CHARS {
        return Err(format!(
            "{chars} characters; at most {MAX_GUIDANCE_CHARS} are allowed"
        ));
    }
    Ok(Some(text))
}

/// An instant of validity: RFC 3339 with its offset, kept to the microsecond.
pub fn check_time(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| {
            let utc = t.with_timezone(&Utc);
            DateTime::from_timestamp_micros(utc.timestamp_micros()).unwrap_or(utc)
        })
        .map_err(|e| {
            format!("`{raw}` is not an RFC 3339 time such as 2026-12-01T00:00:00+09:00 ({e})")
        })
}

/// An optional time; empty means none.
pub fn check_opt_time(raw: &str) -> Result<Option<DateTime<Utc>>, String> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        check_time(raw).map(Some)
    }
}

/// Where in a geometry an area fault is, as a JSON pointer relative to the
/// geometry object: `/coordinates/<ring>/<position>` for a `Polygon`,
/// `/coordinates/<polygon>/<ring>/<position>` for a `MultiPolygon`.
pub fn area_pointer(area: &ZoneArea, err: &ZoneAreaError) -> String {
    let multi = matches!(area, ZoneArea::MultiPolygon { .. });
    let polygon = |p: usize| {
        if multi {
            format!("/coordinates/{p}")
        } else {
            "/coordinates".to_owned()
        }
    };
    let place = |at: &AreaPlace| {
        let mut pointer = format!("{}/{}", polygon(at.polygon), at.ring);
        if let Some(position) = at.position {
            pointer.push_str(&format!("/{position}"));
        }
        pointer
    };
    match err {
        ZoneAreaError::Empty | ZoneAreaError::TooLarge(_) => "/coordinates".to_owned(),
        ZoneAreaError::NoRing(p) => polygon(*p),
        ZoneAreaError::PolygonsOverlap(_, b) => polygon(*b),
        ZoneAreaError::RingTooShort(at)
        | ZoneAreaError::RingNotClosed(at)
        | ZoneAreaError::BadPosition(at)
        | ZoneAreaError::SelfIntersection(at)
        | ZoneAreaError::HoleOutsideShell(at)
        | ZoneAreaError::RingsCross { place: at, .. } => place(at),
    }
}

/// Validates an outline (see `ZoneArea::validated`): the area with RFC 7946
/// winding and how many rings were turned, or the fault placed under `at`,
/// the pointer of the geometry.
pub fn check_area(area: ZoneArea, at: &str) -> Result<(ZoneArea, AreaRepairs), Fault> {
    let pointer = |e: &ZoneAreaError| format!("{at}{}", area_pointer(&area, e));
    match area.clone().validated() {
        Ok(done) => Ok(done),
        Err(e) => Err(Fault::new(pointer(&e), e.to_string())),
    }
}

/// A zone as given, before its fields are checked: a REST body's fields or a
/// GeoJSON feature's properties. Text throughout (and every field optional)
/// so each fault gets the station's own message, all of them at once.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ZoneDraft {
    /// Zone code.
    pub code: Option<String>,
    /// `beat` (when absent), `watch_area` or `jurisdiction`.
    pub kind: Option<String>,
    /// A watch area's theme.
    pub theme: Option<String>,
    /// Korean name; `name_ko` is accepted for it.
    #[serde(alias = "name_ko")]
    pub name: Option<String>,
    /// English name.
    pub name_en: Option<String>,
    /// Guidance for carriers.
    pub guidance: Option<String>,
    /// Start of validity, RFC 3339.
    pub valid_from: Option<String>,
    /// End of validity (exclusive), RFC 3339.
    pub valid_until: Option<String>,
}

/// Where a draft's parts are, as JSON pointer prefixes: its fields (`""` in
/// a REST body, `/features/3/properties` in a file) and its geometry
/// (`/area`, `/features/3/geometry`).
#[derive(Debug, Clone, Copy)]
pub struct Places<'a> {
    /// Prefix of the fields' pointers.
    pub fields: &'a str,
    /// Pointer of the geometry.
    pub area: &'a str,
}

impl ZoneDraft {
    /// Checks every field and the rules between them; the zone to store
    /// (without devices) and the outline's repairs, or every fault found.
    pub fn check(
        self,
        area: Option<ZoneArea>,
        at: Places<'_>,
    ) -> Result<(NewZone, AreaRepairs), Vec<Fault>> {
        let mut faults = Vec::new();
        let f = &mut faults;
        let code = note(
            f,
            at,
            "code",
            required(&self.code, "every zone needs a code"),
        )
        .and_then(|raw| note(f, at, "code", check_code(raw)));
        let kind = note(
            f,
            at,
            "kind",
            present(&self.kind).map_or(Ok(ZoneKind::Beat), check_kind),
        );
        let theme = note(
            f,
            at,
            "theme",
            self.theme.as_deref().map_or(Ok(None), check_opt_theme),
        );
        let name = note(
            f,
            at,
            "name",
            required(&self.name, "give the Korean name as `name` or `name_ko`"),
        )
        .and_then(|raw| note(f, at, "name", check_name(raw)));
        let name_en = note(
            f,
            at,
            "name_en",
            self.name_en.as_deref().map_or(Ok(None), check_name_en),
        );
        let guidance = note(
            f,
            at,
            "guidance",
            self.guidance.as_deref().map_or(Ok(None), check_guidance),
        );
        let valid_from = note(
            f,
            at,
            "valid_from",
            self.valid_from.as_deref().map_or(Ok(None), check_opt_time),
        );
        let valid_until = note(
            f,
            at,
            "valid_until",
            self.valid_until.as_deref().map_or(Ok(None), check_opt_time),
        );
        let (area, repairs) = match area.map(|a| check_area(a, at.area)).transpose() {
            Ok(Some((area, repairs))) => (Some(area), repairs),
            Ok(None) => (None, AreaRepairs::default()),
            Err(fault) => {
                faults.push(fault);
                return Err(faults);
            }
        };
        let (
            Some(code),
            Some(kind),
            Some(theme),
            Some(name),
            Some(name_en),
            Some(guidance),
            Some(valid_from),
            Some(valid_until),
        ) = (
            code,
            kind,
            theme,
            name,
            name_en,
            guidance,
            valid_from,
            valid_until,
        )
        else {
            return Err(faults);
        };
        if let Err(rule) = check_zone_rules(
            kind,
            theme.as_deref(),
            area.is_some(),
            valid_from,
            valid_until,
        ) {
            let pointer = match rule.field() {
                "area" => at.area.to_owned(),
                other => format!("{}/{other}", at.fields),
            };
            return Err(vec![Fault::new(pointer, rule.to_string())]);
        }
        let zone = NewZone {
            code,
            kind,
            theme,
            name,
            name_en,
            guidance,
            valid_from,
            valid_until,
            area,
            devices: Vec::new(),
        };
        Ok((zone, repairs))
    }
}

/// A field's value, or its fault recorded under the draft's fields.
fn note<T>(
    faults: &mut Vec<Fault>,
    at: Places<'_>,
    name: &str,
    checked: Result<T, String>,
) -> Option<T> {
    checked
        .map_err(|detail| faults.push(Fault::new(format!("{}/{name}", at.fields), detail)))
        .ok()
}

/// A field that must be given.
fn required<'a>(value: &'a Option<String>, why: &str) -> Result<&'a str, String> {
    value.as_deref().ok_or_else(|| format!("missing: {why}"))
}

/// An optional field's text, when it holds more than blanks.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REST: Places<'static> = Places {
        fields: "",
        area: "/area",
    };

    fn square() -> Vec<[f64; 2]> {
        vec![
            [126.93, 37.56],
            [126.94, 37.56],
            [126.94, 37.57],
            [126.93, 37.57],
            [126.93, 37.56],
        ]
    }

    fn draft(code: &str) -> ZoneDraft {
        ZoneDraft {
            code: Some(code.to_owned()),
            name: Some(" 연희동 어두운 골목 ".to_owned()),
            ..ZoneDraft::default()
        }
    }

    fn pointers(faults: &[Fault]) -> Vec<&str> {
        faults.iter().map(|f| f.pointer.as_str()).collect()
    }

    #[test]
    fn a_full_watch_area_is_kept_normalised_and_its_outline_rewound() {
        let mut clockwise = square();
        clockwise.reverse();
        let given = ZoneDraft {
            kind: Some("watch_area".into()),
            theme: Some("dark_alley".into()),
            name_en: Some("Yeonhui dark alley".into()),
            guidance: Some("Broken lights,\r\nblind corners ".into()),
            valid_from: Some("2026-12-01T00:00:00+09:00".into()),
            valid_until: Some("2027-03-01T00:00:00+09:00".into()),
            ..draft("yeonhui-alley")
        };
        let area = ZoneArea::Polygon {
            coordinates: vec![clockwise],
        };
        let (zone, repairs) = given.check(Some(area), REST).expect("valid");
        assert_eq!(repairs.rings_rewound, 1);
        assert_eq!(zone.kind, ZoneKind::WatchArea);
        assert_eq!(zone.name, "연희동 어두운 골목");
        assert_eq!(
            zone.guidance.as_deref(),
            Some("Broken lights,\nblind corners")
        );
        assert_eq!(
            zone.valid_from.map(|t| t.to_rfc3339()),
            Some("2026-11-30T15:00:00+00:00".to_owned())
        );
        assert_eq!(
            zone.area,
            Some(ZoneArea::Polygon {
                coordinates: vec![square()]
            })
        );
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let given = ZoneDraft {
            code: Some("Route 1".into()),
            kind: Some("bikeway".into()),
            theme: Some("Dark Alley".into()),
            name: Some("\u{7}".into()),
            guidance: Some("x\u{0}".into()),
            valid_from: Some("yesterday".into()),
            ..ZoneDraft::default()
        };
        let faults = given.check(None, REST).expect_err("refused");
        assert_eq!(
            pointers(&faults),
            [
                "/code",
                "/kind",
                "/theme",
                "/name",
                "/guidance",
                "/valid_from"
            ]
        );
        assert!(faults[1].detail.contains("unknown kind `bikeway`"));
        let long = ZoneDraft {
            guidance: Some("가".repeat(MAX_GUIDANCE_CHARS + 1)),
            ..draft("r1")
        };
        assert_eq!(
            pointers(&long.check(None, REST).expect_err("refused")),
            ["/guidance"]
        );
    }

    #[test]
    fn rules_between_fields_point_at_the_later_field() {
        let reversed = ZoneDraft {
            valid_from: Some("2027-01-01T00:00:00Z".into()),
            valid_until: Some("2026-01-01T00:00:00Z".into()),
            ..draft("r1")
        };
        let faults = reversed.check(None, REST).expect_err("refused");
        assert_eq!(pointers(&faults), ["/valid_until"]);
        let themed_beat = ZoneDraft {
            theme: Some("dark_alley".into()),
            ..draft("r1")
        };
        assert_eq!(
            pointers(&themed_beat.check(None, REST).expect_err("refused")),
            ["/theme"]
        );
        let bare_watch = ZoneDraft {
            kind: Some("watch_area".into()),
            ..draft("r1")
        };
        assert_eq!(
            pointers(&bare_watch.check(None, REST).expect_err("refused")),
            ["/area"]
        );
    }

    #[test]
    fn area_faults_point_into_the_coordinates() {
        let mut open = square();
        open[4] = [126.95, 37.58];
        let fault = check_area(
            ZoneArea::MultiPolygon {
                coordinates: vec![vec![square()], vec![open]],
            },
            "/features/2/geometry",
        )
        .expect_err("refused");
        assert_eq!(fault.pointer, "/features/2/geometry/coordinates/1/0/4");
        assert!(fault.detail.starts_with("polygon 1 ring 0 position 4"));
        let fault = check_area(
            ZoneArea::Polygon {
                coordinates: vec![vec![
                    [126.93, 37.56],
                    [126.94, 37.57],
                    [126.94, 37.56],
                    [126.93, 37.57],
                    [126.93, 37.56],
                ]],
            },
            "/area",
        )
        .expect_err("bow tie");
        assert_eq!(fault.pointer, "/area/coordinates/0/0");
    }
}
