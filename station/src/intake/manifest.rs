//! The photo manifest's rules at intake.
//!
//! The shared model does not constrain the manifest yet (the phone builds it
//! from photos it processed itself), so these are the station's own rules: what
//! it is prepared to receive and store, from its configuration.

use postcso_model::PhotoManifestEntry;

use super::Violation;
use crate::blob;
use crate::config::ServerConfig;

/// The media type every photo travels as, after the phone's processing.
const PHOTO_CONTENT_TYPE: &str = "image/jpeg";

/// The station's limits on a manifest, from its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestLimits {
    /// Most photos a report may list.
    pub max_photos: usize,
    /// Largest photo a manifest may announce, in bytes (also the upload limit,
    /// so every listed photo can arrive).
    pub max_photo_bytes: u64,
}

impl From<&ServerConfig> for ManifestLimits {
    fn from(config: &ServerConfig) -> Self {
        Self {
            max_photos: config.max_photos,
            max_photo_bytes: config.max_photo_bytes,
        }
    }
}

/// Every rule the manifest breaks, in body order: the count first, then per
/// photo its hash (malformed, or a repeat), size and media type.
pub fn check(photos: &[PhotoManifestEntry], limits: ManifestLimits) -> Vec<Violation> {
    let mut violations = Vec::new();
    if photos.len() > limits.max_photos {
        violations.push(Violation::TooManyPhotos {
            max: limits.max_photos,
            found: photos.len(),
        });
    }
    for (index, photo) in photos.iter().enumerate() {
        // The hash names the photo in the blob store: the store's own key rule.
        if blob::check_key(&photo.sha256).is_err() {
            violations.push(Violation::PhotoHashMalformed { index });
        } else if photos[..index].iter().any(|p| p.sha256 == photo.sha256) {
            violations.push(Violation::PhotoListedTwice { index });
        }
        if photo.size == 0 || photo.size > limits.max_photo_bytes {
            violations.push(Violation::PhotoSize {
                index,
                max: limits.max_photo_bytes,
            });
        }
        if photo.content_type != PHOTO_CONTENT_TYPE {
            violations.push(Violation::PhotoContentType { index });
        }
    }
    violations
}
