//! The station's zones as a GeoJSON FeatureCollection: the properties an
//! import reads, so an export imports back unchanged, and the boundary data's
//! attribution when a zone came from the embedded Seoul districts (its licence
//! asks for it wherever the data is redistributed).

use chrono::{DateTime, Utc};
use postcso_model::{ZoneArea, ZoneKind};
use serde::Serialize;

use super::jurisdiction::from_embedded_district;
use crate::geo::ATTRIBUTION;
use crate::repo::Zone;

/// Media type of exports (RFC 7946).
pub const GEOJSON_MEDIA_TYPE: &str = "application/geo+json";

#[derive(Serialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    /// A foreign member (RFC 7946 section 6.1) crediting embedded data.
    #[serde(skip_serializing_if = "Option::is_none")]
    attribution: Option<&'static str>,
    features: Vec<Feature<'a>>,
}

#[derive(Serialize)]
struct Feature<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    properties: Properties<'a>,
    geometry: Option<&'a ZoneArea>,
}

#[derive(Serialize)]
struct Properties<'a> {
    code: &'a str,
    kind: ZoneKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    theme: Option<&'a str>,
    name_ko: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name_en: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    guidance: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_from: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    valid_until: Option<DateTime<Utc>>,
}

/// The zones that are not retired (retired ones are kept for old
/// references, not part of the district's map any more; expired ones stay,
/// with their dates), as GeoJSON text, in the order they were added.
pub fn feature_collection(zones: &[Zone]) -> Result<String, serde_json::Error> {
    let live: Vec<&Zone> = zones.iter().filter(|z| z.retired_at.is_none()).collect();
    let attributed = live.iter().any(|z| from_embedded_district(z).is_some());
    let collection = Collection {
        kind: "FeatureCollection",
        attribution: attributed.then_some(ATTRIBUTION),
        features: live
            .iter()
            .map(|z| Feature {
                kind: "Feature",
                properties: Properties {
                    code: &z.code,
                    kind: z.kind,
                    theme: z.theme.as_deref(),
                    name_ko: &z.name,
                    name_en: z.name_en.as_deref(),
                    guidance: z.guidance.as_deref(),
                    valid_from: z.valid_from,
                    valid_until: z.valid_until,
                },
                geometry: z.area.as_ref(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string(&collection)?;
    text.push('\n');
    Ok(text)
}
