//! A sealed report's content, as the phone freezes it and the station stores it.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{CategoryCode, CreatedAtError, GeoPoint, Note, check_created_at};

/// How many photos a report may carry unless the station says otherwise.
pub const MAX_PHOTOS_DEFAULT: usize = 4;

/// A report's identity: a UUIDv7 made on the phone when the draft is created.
///
/// It never changes: the station keys on it and every retry reuses it, which is
/// what makes delivery idempotent. v7 sorts by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportId(Uuid);

impl ReportId {
    /// A fresh id for a new draft.
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Parses the hyphenated text form.
    pub fn parse(s: &str) -> Result<Self, uuid::Error> {
        Uuid::parse_str(s).map(Self)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

/// A stored id read back as a UUID (the station's PostgreSQL `uuid` columns).
impl From<Uuid> for ReportId {
    fn from(id: Uuid) -> Self {
        Self(id)
    }
}

impl Default for ReportId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for ReportId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// One photo of a report as the station needs to know it before the bytes arrive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhotoManifestEntry {
    /// SHA-256 of the processed JPEG, lowercase hex; also its storage name.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type; always `image/jpeg` after processing.
    pub content_type: String,
}

/// The frozen content of a queued report: what the content hash covers and what the
/// station receives in `PUT /v1/reports/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportContent {
    /// Identity; see [`ReportId`].
    pub id: ReportId,
    /// Category code, validated against the station's list at submit.
    pub category: CategoryCode,
    /// Optional note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// Where the problem is.
    pub location: GeoPoint,
    /// When the draft was created, with the phone's UTC offset at the time.
    /// From the phone's clock, so only plausible, not exact: see
    /// [`ReportContent::check_created_at`].
    pub created_at: DateTime<FixedOffset>,
    /// Photos in the carrier's order.
    pub photos: Vec<PhotoManifestEntry>,
    /// Codes of the station's zones (beats, watch areas, jurisdiction) the
    /// phone found `location` in at submit, from its offline copy: sealed in
    /// the content so the station sees what the phone saw. Absent from the
    /// JSON when empty, so reports from before zones hash as they did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// The jurisdiction zone `location` fell in, as the phone saw it; absent
    /// when it fell outside all of them (the station then names the district).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// For a follow-up (more photos or a note on a report already sent): the
    /// report it adds to. The station shows it on that report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_of: Option<ReportId>,
}

impl ReportContent {
    /// The canonical JSON form: what is stored at submit, sent to the station, and hashed.
    ///
    /// serde_json writes struct fields in declaration order and floats in their
    /// shortest round-trip form, so the same content always gives the same text.
    pub fn canonical_json(&self) -> String {
        // Serialising these plain structs cannot fail: every field is a string,
        // number, bool or list, and no map has non-string keys.
        serde_json::to_string(self).expect("ReportContent always serialises")
    }

    /// Refuses a `created_at` that only a wrong phone clock can have produced,
    /// judged by the checker's clock `now` (see [`check_created_at`]). Not part
    /// of deserialising, because the verdict depends on when and by whom it is
    /// asked: the station asks at receipt with its own clock.
    pub fn check_created_at(&self, now: DateTime<Utc>) -> Result<(), CreatedAtError> {
        check_created_at(&self.created_at, now)
    }
}

/// SHA-256 over [`ReportContent::canonical_json`], lowercase hex.
///
/// The station uses it to tell a retry (same hash) from a conflict (different hash).
pub fn content_hash(content: &ReportContent) -> String {
    hex::encode(Sha256::digest(content.canonical_json().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocationSource;

    fn sample() -> ReportContent {
        let now = Utc::now();
        ReportContent {
            id: ReportId::new(),
            category: CategoryCode::parse("parcel_theft").unwrap(),
            note: Note::parse("택배 도난 잦음").unwrap(),
            location: GeoPoint::new(
                37.5791,
                126.9368,
                Some(6.0),
                Some(31.0),
                now,
                LocationSource::Gps,
            )
            .unwrap(),
            created_at: now.with_timezone(&FixedOffset::east_opt(9 * 3600).unwrap()),
            photos: vec![PhotoManifestEntry {
                sha256: "ab".repeat(32),
                size: 120_000,
                content_type: "image/jpeg".into(),
            }],
            zones: Vec::new(),
            district: None,
            follow_up_of: None,
        }
    }

    #[test]
    fn hash_is_stable_across_a_wire_round_trip_and_changes_with_content() {
        let content = sample();
        let wire = serde_json::to_string(&content).unwrap();
        let back: ReportContent = serde_json::from_str(&wire).unwrap();
        assert_eq!(content_hash(&back), content_hash(&content));
        let mut changed = content.clone();
        changed.note = Note::parse("다른 내용").unwrap();
        assert_ne!(content_hash(&changed), content_hash(&content));
    }

    #[test]
    fn created_at_keeps_the_device_offset() {
        let content = sample();
        let wire = serde_json::to_value(&content).unwrap();
        assert!(wire["created_at"].as_str().unwrap().ends_with("+09:00"));
    }

    #[test]
    fn content_checks_its_created_at_against_the_given_clock() {
        let mut content = sample();
        let now = content.created_at.with_timezone(&Utc);
        assert_eq!(content.check_created_at(now), Ok(()));
        content.created_at = DateTime::parse_from_rfc3339("9999-01-01T00:00:00+09:00").unwrap();
        assert_eq!(
            content.check_created_at(now),
            Err(CreatedAtError::TooFarAhead)
        );
        // The same content is fine for a clock that has caught up with it.
        assert_eq!(
            content.check_created_at(content.created_at.with_timezone(&Utc)),
            Ok(())
        );
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let a = ReportId::new();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = ReportId::new();
        assert!(a < b);
        assert_eq!(ReportId::parse(&a.to_string()).unwrap(), a);
    }

    #[test]
    fn unknown_fields_from_newer_clients_are_ignored() {
        let mut wire = serde_json::to_value(sample()).unwrap();
        wire["mood"] = serde_json::json!("grumpy");
        assert!(serde_json::from_value::<ReportContent>(wire).is_ok());
    }

    #[test]
    fn zones_district_and_parent_are_sealed_but_absent_ones_keep_old_hashes() {
        let plain = sample();
        let wire = serde_json::to_value(&plain).unwrap();
        for field in ["zones", "district", "follow_up_of"] {
            assert!(wire.get(field).is_none(), "{field} written when empty");
        }
        let mut placed = plain.clone();
        placed.zones = vec!["yeonhui-dark-alley".into(), "seodaemun".into()];
        placed.district = Some("seodaemun".into());
        assert_ne!(content_hash(&placed), content_hash(&plain));
        let mut follow_up = plain.clone();
        follow_up.follow_up_of = Some(ReportId::new());
        assert_ne!(content_hash(&follow_up), content_hash(&plain));
        let back: ReportContent =
            serde_json::from_str(&placed.canonical_json()).expect("round trip");
        assert_eq!(back, placed);
    }
}
