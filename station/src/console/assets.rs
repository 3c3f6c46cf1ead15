//! The console's scripts, style sheets and images, embedded in the binary so
//! a station needs no asset directory and makes no request to a CDN. Each is
//! served with a strong `ETag` (its SHA-256) and `Cache-Control: no-cache`,
//! so a browser revalidates and gets `304 Not Modified` while it is current;
//! text assets are gzipped once, on first use, when the browser accepts it.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, VARY,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
    etag: HeaderValue,
    gzipped: Option<Vec<u8>>,
}

macro_rules! assets {
    ($($path:literal => $type:literal),* $(,)?) => {
        &[$(($path, $type, include_bytes!(concat!("../../assets/", $path)) as &[u8])),*]
    };
}

/// Every asset by its path under `/console/assets/`.
const FILES: &[(&str, &str, &[u8])] = assets![
    "console/console.css" => "text/css; charset=utf-8",
    "console/console.js" => "text/javascript; charset=utf-8",
    "console/bulk.js" => "text/javascript; charset=utf-8",
    "console/statistics.css" => "text/css; charset=utf-8",
    "vendor/htmx/htmx.min.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet/leaflet.css" => "text/css; charset=utf-8",
    "vendor/leaflet/images/layers.png" => "image/png",
    "vendor/leaflet/images/layers-2x.png" => "image/png",
    "vendor/leaflet/images/marker-icon.png" => "image/png",
    "vendor/leaflet/images/marker-icon-2x.png" => "image/png",
    "vendor/leaflet/images/marker-shadow.png" => "image/png",
    "vendor/leaflet.markercluster/leaflet.markercluster.js" => "text/javascript; charset=utf-8",
    "vendor/leaflet.markercluster/MarkerCluster.css" => "text/css; charset=utf-8",
    "vendor/leaflet.markercluster/MarkerCluster.Default.css" => "text/css; charset=utf-8",
];

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

static ASSETS: LazyLock<HashMap<&'static str, Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(path, content_type, bytes)| {
            let hash = hex::encode(&Sha256::digest(bytes)[..16]);
            let etag = HeaderValue::from_str(&format!("\"{hash}\""))
                .unwrap_or(HeaderValue::from_static("\"0\""));
            let gzipped = content_type
                .starts_with("text/")
                .then(|| gzip(bytes))
                .flatten();
            (
                path,
                Asset {
                    content_type,
                    bytes,
                    etag,
                    gzipped,
                },
            )
        })
        .collect()
});

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.trim().split(';');
            parts.next().is_some_and(|c| c.trim() == "gzip")
                && !parts.any(|p| p.trim().replace(' ', "") == "q=0")
        })
}

fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(wanted) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let ours = etag.to_str().unwrap_or_default();
    wanted.trim() == "*"
        || wanted
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == ours)
}

/// `GET /console/assets/{*path}`
pub async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(asset) = ASSETS.get(path.as_str()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let common = [
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (ETAG, asset.etag.clone()),
        (VARY, HeaderValue::from_static("Accept-Encoding")),
    ];
    if matches(&headers, &asset.etag) {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    let content_type = [(CONTENT_TYPE, HeaderValue::from_static(asset.content_type))];
    match &asset.gzipped {
        Some(gz) if accepts_gzip(&headers) => (
            common,
            content_type,
            [(CONTENT_ENCODING, HeaderValue::from_static("gzip"))],
            gz.clone(),
        )
            .into_response(),
        _ => (common, content_type, asset.bytes).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_tag_and_text_is_gzipped() {
        assert_eq!(ASSETS.len(), FILES.len());
        let mut tags: Vec<_> = ASSETS.values().map(|a| a.etag.clone()).collect();
        tags.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        tags.dedup();
        assert_eq!(tags.len(), FILES.len());
        let leaflet = &ASSETS["vendor/leaflet/leaflet.js"];
        let gz = leaflet.gzipped.as_ref().expect("gzipped");
        assert!(gz.len() * 2 < leaflet.bytes.len(), "{}", gz.len());
        assert!(ASSETS["vendor/leaflet/images/layers.png"].gzipped.is_none());
    }

    #[test]
    fn if_none_match_and_accept_encoding_are_read_as_lists() {
        let tag = HeaderValue::from_static("\"abc\"");
        let mut h = HeaderMap::new();
        assert!(!matches(&h, &tag));
        h.insert(IF_NONE_MATCH, HeaderValue::from_static("\"x\", W/\"abc\""));
        assert!(matches(&h, &tag));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8"));
        assert!(accepts_gzip(&h));
        h.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip;q=0, br"));
        assert!(!accepts_gzip(&h));
    }
}
