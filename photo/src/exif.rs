//! Reads the little EXIF the pipeline needs (orientation and the camera's GPS fix)
//! before the re-encode drops all metadata.
//!
//! EXIF is optional and often damaged; a problem here never fails the photo, it only
//! means "no orientation, no position". Positions are never logged.

use std::io::Cursor;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use exif::{Exif, In, Reader, Tag, Value};

use super::orient::Orientation;

/// The GPS fix the camera wrote into the photo, read before the metadata is
/// stripped. The report flow may offer it as the report position (source `exif`)
/// when the phone has no fresh fix of its own; the output JPEG never carries it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExifLocation {
    /// WGS84 latitude in degrees, negative in the southern hemisphere.
    pub lat: f64,
    /// WGS84 longitude in degrees, negative west of Greenwich.
    pub lon: f64,
    /// Altitude in metres above sea level, negative below (`GPSAltitudeRef` = 1).
    pub altitude_m: Option<f64>,
    /// Horizontal error radius in metres (`GPSHPositioningError`), when the camera
    /// wrote it; the station needs it to weigh the fix.
    pub accuracy_m: Option<f64>,
    /// When the fix was taken, from `GPSDateStamp` + `GPSTimeStamp` (always UTC).
    pub fix_time: Option<DateTime<Utc>>,
}

/// What the pipeline takes from EXIF.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ExifInfo {
    pub(crate) orientation: Orientation,
    pub(crate) location: Option<ExifLocation>,
}

/// Parses the EXIF block of a JPEG or PNG (`eXIf`); never fails.
pub(crate) fn read_exif(bytes: &[u8]) -> ExifInfo {
    let none = ExifInfo {
        orientation: Orientation::Normal,
        location: None,
    };
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
    {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => {
            let (exif, errors) = partial.into_inner();
            tracing::debug!(errors = errors.len(), "EXIF partly unreadable");
            exif
        }
        Err(exif::Error::NotFound(_)) => return none,
        Err(e) => {
            tracing::debug!(error = %e, "EXIF unreadable; ignored");
            return none;
        }
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(Orientation::from_exif)
        .unwrap_or(Orientation::Normal);
    ExifInfo {
        orientation,
        location: location(&exif),
    }
}

fn rationals(exif: &Exif, tag: Tag) -> Option<Vec<f64>> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
        // Some writers use signed rationals.
        Value::SRational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
        _ => None,
    }
}

fn ascii(exif: &Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(v) => v.first().map(Vec::as_slice),
        _ => None,
    }
}

/// Degrees + minutes/60 + seconds/3600, from however many parts are present.
fn dms(parts: &[f64]) -> Option<f64> {
    if parts.is_empty() || parts.len() > 3 {
        return None;
    }
    let v = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(p, d)| p / d)
        .sum::<f64>();
    v.is_finite().then_some(v)
}

fn coordinate(exif: &Exif, value: Tag, reference: Tag, positive: u8, negative: u8) -> Option<f64> {
    let magnitude = dms(&rationals(exif, value)?)?;
    // Without its N/S or E/W reference a coordinate's sign is a guess: drop it.
    match ascii(exif, reference)?.first()?.to_ascii_uppercase() {
        c if c == positive => Some(magnitude),
        c if c == negative => Some(-magnitude),
        _ => None,
    }
}

fn location(exif: &Exif) -> Option<ExifLocation> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'N', b'S')?;
    let lon = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'E', b'W')?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return None;
    }
    if lat == 0.0 && lon == 0.0 {
        // The "no fix" value of broken location stacks.
        return None;
    }
    let altitude_m = rationals(exif, Tag::GPSAltitude)
        .and_then(|v| v.first().copied())
        .filter(|a| a.is_finite())
        .map(|a| {
            let below = exif
                .get_field(Tag::GPSAltitudeRef, In::PRIMARY)
                .and_then(|f| f.value.get_uint(0))
                == Some(1);
            if below { -a } else { a }
        });
    let accuracy_m = rationals(exif, Tag::GPSHPositioningError)
        .and_then(|v| v.first().copied())
        .filter(|a| a.is_finite() && *a > 0.0);
    Some(ExifLocation {
        lat,
        lon,
        altitude_m,
        accuracy_m,
        fix_time: fix_time(exif),
    })
}

/// `GPSDateStamp` ("YYYY:MM:DD") plus `GPSTimeStamp` (hours, minutes, seconds as
/// rationals), both UTC by definition.
fn fix_time(exif: &Exif) -> Option<DateTime<Utc>> {
    let date = std::str::from_utf8(ascii(exif, Tag::GPSDateStamp)?).ok()?;
    let date = NaiveDate::parse_from_str(date.trim_end_matches('\0').trim(), "%Y:%m:%d").ok()?;
    let hms = rationals(exif, Tag::GPSTimeStamp)?;
    let [h, m, s] = hms.as_slice() else {
        return None;
    };
    let ok = |v: f64, max: f64| v.is_finite() && (0.0..max).contains(&v);
    if !ok(*h, 24.0) || !ok(*m, 60.0) || !ok(*s, 61.0) {
        return None;
    }
    let millis = ((h * 3600.0 + m * 60.0 + s) * 1000.0).round() as i64;
    let midnight = date.and_hms_opt(0, 0, 0)?.and_utc();
    midnight.checked_add_signed(TimeDelta::try_milliseconds(millis)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dms_handles_partial_and_broken_values() {
        assert_eq!(dms(&[37.0, 30.0, 0.0]), Some(37.5));
        assert_eq!(dms(&[37.25]), Some(37.25));
        assert_eq!(dms(&[]), None);
        assert_eq!(dms(&[f64::NAN, 0.0, 0.0]), None);
        assert_eq!(dms(&[f64::INFINITY]), None);
        assert_eq!(dms(&[1.0, 2.0, 3.0, 4.0]), None);
    }

    #[test]
    fn garbage_gives_no_exif_and_no_panic() {
        let info = read_exif(b"\xFF\xD8\xFF\xE1\x00\x10Exif\0\0MM\0*\0\0\0\x08\xFF");
        assert_eq!(info.orientation, Orientation::Normal);
        assert_eq!(info.location, None);
        assert_eq!(read_exif(&[]).location, None);
    }
}
