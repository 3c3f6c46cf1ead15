//! Valid reports built with the core's model types, so the station's
//! validation passes exactly as it does for a phone's.

use chrono::{FixedOffset, Utc};
use postcso_core::model::{
    BUILTIN_CATEGORIES, CategoryCode, GeoPoint, LocationSource, Note, PhotoManifestEntry,
    ReportContent, ReportId,
};
use rand::Rng;

use crate::error::LoadError;

/// Near Seodaemun Police Station; reports are scattered a few hundred metres around it.
const CENTRE: (f64, f64) = (37.5791, 126.9368);

/// A new report (UUIDv7 id) listing `photos` in its manifest.
pub fn new_report(
    rng: &mut impl Rng,
    photos: Vec<PhotoManifestEntry>,
) -> Result<ReportContent, LoadError> {
    let now = Utc::now();
    let invalid = |what: &str, e: &dyn std::fmt::Display| LoadError::Setup(format!("{what}: {e}"));
    let (code, ..) = BUILTIN_CATEGORIES[rng.random_range(0..BUILTIN_CATEGORIES.len())];
    let category = CategoryCode::parse(code).map_err(|e| invalid("category", &e))?;
    let location = GeoPoint::new(
        CENTRE.0 + rng.random_range(-0.005..0.005),
        CENTRE.1 + rng.random_range(-0.005..0.005),
        Some(rng.random_range(3.0..20.0)),
        None,
        now,
        LocationSource::Gps,
    )
    .map_err(|e| invalid("location", &e))?;
    let note =
        Note::parse("가로등이 꺼져 있음 (load generator)").map_err(|e| invalid("note", &e))?;
    let offset =
        FixedOffset::east_opt(9 * 3600).ok_or_else(|| LoadError::Setup("UTC+9 offset".into()))?;
    Ok(ReportContent {
        id: ReportId::new(),
        category,
        note,
        location,
        created_at: now.with_timezone(&offset),
        photos,
        zones: Vec::new(),
        district: None,
        follow_up_of: None,
    })
}

/// A manifest entry for a photo of `size` bytes with SHA-256 `sha256` (hex).
pub fn photo_entry(sha256: String, size: u64) -> PhotoManifestEntry {
    PhotoManifestEntry {
        sha256,
        size,
        content_type: "image/jpeg".into(),
    }
}

/// A manifest entry for a photo that will never be sent (random hash), so a
/// report PUT carries a manifest of realistic size.
pub fn phantom_photo(rng: &mut impl Rng) -> PhotoManifestEntry {
    let bytes: [u8; 32] = rng.random();
    photo_entry(hex::encode(bytes), rng.random_range(100_000..400_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_valid_and_unique() {
        let mut rng = rand::rng();
        let photo = phantom_photo(&mut rng);
        let a = new_report(&mut rng, vec![photo]).expect("report");
        let b = new_report(&mut rng, vec![]).expect("report");
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.as_uuid().get_version_num(), 7);
        let wire = a.canonical_json();
        let back: ReportContent = serde_json::from_str(&wire).expect("round trip");
        assert_eq!(back.photos.len(), 1);
        assert_eq!(back.photos[0].sha256.len(), 64);
    }
}
