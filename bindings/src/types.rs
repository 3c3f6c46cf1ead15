//! Plain records and enums the foreign side sees, mirroring the core's types.
//!
//! Report ids cross the boundary as strings (the UUIDv7 text form). Times cross
//! as UniFFI timestamps (`java.time.Instant`, `Date`, `datetime`). Records that
//! carry a note, a position or a credential have a hand-written `Debug` that
//! leaves them out, so a Rust-side log line can never leak them.

use std::fmt;
use std::time::SystemTime;

/// How to open the core: where its files live and which station it syncs to.
#[derive(Clone, uniffi::Record)]
pub struct CoreConfig {
    /// The app's private data directory (`Context.filesDir`, Application Support).
    pub data_dir: String,
    /// The station's base URL, e.g. `https://seodaemun.station.example/`.
    pub station_url: String,
    /// A device credential the app keeps itself (Bitwarden's model). `None`
    /// (the usual case): the one `enrol` saved in the app's `SecretStore`.
    /// Given, it is used and saved to the `SecretStore` when it differs.
    #[uniffi(default = None)]
    pub credential: Option<String>,
}

impl fmt::Debug for CoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoreConfig")
            .field("station_url", &self.station_url)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// Where a position came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LocationSource {
    /// Satellite fix.
    Gps,
    /// Cell or Wi-Fi positioning.
    Network,
    /// Placed by hand on a map.
    Manual,
    /// Read from the photo's EXIF.
    Exif,
}

/// A position as the platform's location API gives it. Validated by the core
/// when set: out-of-range, non-finite, (0, 0) and a missing accuracy are refused.
#[derive(Clone, PartialEq, uniffi::Record)]
pub struct Location {
    /// Latitude in degrees, WGS84.
    pub lat: f64,
    /// Longitude in degrees, WGS84.
    pub lon: f64,
    /// Accuracy radius in metres; required (optional here because platform APIs may omit it).
    pub accuracy_m: Option<f64>,
    /// Altitude in metres, if known.
    #[uniffi(default = None)]
    pub altitude_m: Option<f64>,
    /// When the fix was taken.
    pub fix_time: SystemTime,
    /// Where it came from.
    pub source: LocationSource,
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// Position quality warnings judged at submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LocationFlags {
    /// The accuracy radius is worse than the threshold.
    pub low_accuracy: bool,
    /// The fix was too old when the report was submitted.
    pub stale: bool,
}

/// Where a report stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ReportState {
    /// Being written; saved on every change.
    Draft,
    /// Sealed, waiting for the network.
    Queued,
    /// Being sent right now.
    Sending,
    /// Acknowledged by the station.
    Sent,
    /// Taken back by the carrier before sending.
    Withdrawn,
    /// Refused by the station for good; see `server_message`.
    RejectedByServer,
}

/// The station's review of a sent report. Open-ended: a status added on the
/// station after this app was built arrives as `Other`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ReviewStatus {
    /// Stored at the station, not yet triaged.
    Received,
    /// A supervisor accepted it.
    Accepted,
    /// Folded into another report about the same place.
    Merged,
    /// Not acted on; the reason is in `server_message`.
    Rejected,
    /// The diagnosis team is inspecting the site.
    Inspecting,
    /// Referred to the agency that owns the fix.
    Referred,
    /// The fix is done.
    Fixed,
    /// A status this app does not know yet.
    Other {
        /// The station's spelling.
        value: String,
    },
}

/// One processed photo of a report.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Photo {
    /// Order within the report, from 0.
    pub position: u32,
    /// SHA-256 of the processed JPEG.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Width in pixels after processing.
    pub width: u32,
    /// Height in pixels after processing.
    pub height: u32,
}

/// A report with its photos, draft or sealed.
#[derive(Clone, PartialEq, uniffi::Record)]
pub struct Report {
    /// The report id (UUIDv7, made on this device).
    pub id: String,
    /// Lifecycle state.
    pub state: ReportState,
    /// Category code, once chosen.
    pub category: Option<String>,
    /// The carrier's note, if any.
    pub note: Option<String>,
    /// Position, once set.
    pub location: Option<Location>,
    /// When the draft was started.
    pub created_at: SystemTime,
    /// Photos in order.
    pub photos: Vec<Photo>,
    /// SHA-256 of the sealed content; `None` while a draft.
    pub content_hash: Option<String>,
    /// Position quality flags recorded at submit.
    pub flags: LocationFlags,
    /// The station's review once sent.
    pub review_status: Option<ReviewStatus>,
    /// The station's explanation when it refused or rejected the report.
    pub server_message: Option<String>,
    /// For a follow-up (`create_follow_up`): the id of the original report.
    #[uniffi(default = None)]
    pub follow_up_of: Option<String>,
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Report")
            .field("id", &self.id)
            .field("state", &self.state)
            .field("category", &self.category)
            .field("photos", &self.photos.len())
            .field("review_status", &self.review_status)
            .finish_non_exhaustive()
    }
}

/// A row of the queue list screen.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ReportSummary {
    /// The report id.
    pub id: String,
    /// Lifecycle state.
    pub state: ReportState,
    /// Category code, once chosen.
    pub category: Option<String>,
    /// When the draft was started.
    pub created_at: SystemTime,
    /// How many photos are attached.
    pub photo_count: u32,
    /// The station's review once sent.
    pub review_status: Option<ReviewStatus>,
    /// For a follow-up (`create_follow_up`): the id of the original report.
    #[uniffi(default = None)]
    pub follow_up_of: Option<String>,
}

/// Report counts per state, for the queue tab's badge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct QueueStats {
    /// Drafts being written.
    pub drafts: u64,
    /// Sealed, waiting to be sent.
    pub queued: u64,
    /// Being sent right now.
    pub sending: u64,
    /// Acknowledged by the station.
    pub sent: u64,
    /// Withdrawn by the carrier.
    pub withdrawn: u64,
    /// Refused by the station for good.
    pub rejected_by_server: u64,
}

/// What attaching a photo produced.
#[derive(Clone, PartialEq, uniffi::Record)]
pub struct AttachedPhoto {
    /// The stored photo.
    pub photo: Photo,
    /// The camera's GPS position, offered when the report has none; ask the
    /// carrier before passing it to `set_location`.
    pub suggested_location: Option<Location>,
}

impl fmt::Debug for AttachedPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AttachedPhoto")
            .field("photo", &self.photo)
            .field("has_suggested_location", &self.suggested_location.is_some())
            .finish()
    }
}

/// What sealing a report recorded.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SubmitReceipt {
    /// SHA-256 of the sealed content.
    pub content_hash: String,
    /// Position quality flags judged at submit.
    pub flags: LocationFlags,
}

/// A zone of the station's district: a beat, a watch area or the
/// jurisdiction, with its outline for the map. (`zones_at` and friends give
/// the same zone without its outline, as [`crate::ZoneInfo`].)
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Zone {
    /// Stable code, e.g. `beat-07`.
    pub code: String,
    /// Display name.
    pub name: String,
    /// The outline as a GeoJSON `Polygon` or `MultiPolygon` geometry (`[longitude, latitude]`
    /// positions), ready for the platform's map library; `None` when the
    /// station gave no outline.
    pub area_geojson: Option<String>,
    /// True when the station assigned this device to the zone.
    pub assigned: bool,
    /// Retired zones stay listed for old reports.
    pub retired: bool,
    // Added after the freeze; the core makes these records, apps only read them.
    /// What the zone is for.
    pub kind: crate::ZoneKind,
    /// Why a watch area is watched, e.g. `dark_alley`.
    #[uniffi(default = None)]
    pub theme: Option<String>,
    /// English name, when the station gave one (`name` is Korean).
    #[uniffi(default = None)]
    pub name_en: Option<String>,
    /// What to look for there.
    #[uniffi(default = None)]
    pub guidance: Option<String>,
    /// In force from this instant; always when absent.
    #[uniffi(default = None)]
    pub valid_from: Option<SystemTime>,
    /// In force until this instant (exclusive); forever when absent.
    #[uniffi(default = None)]
    pub valid_until: Option<SystemTime>,
}

/// One entry of the station's category list, with its reporting guidance.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Category {
    /// Stable code used in reports.
    pub code: String,
    /// Korean display name.
    pub name_ko: String,
    /// English display name.
    pub name_en: String,
    /// What to report and what to photograph.
    pub guidance: String,
    /// Retired: readable on old reports, refused on new ones.
    pub retired: bool,
}

/// Connectivity as the platform sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct NetworkState {
    /// A network with internet access is up.
    pub online: bool,
    /// The network is billed by volume.
    pub metered: bool,
    /// The OS asks apps to save data (Data Saver, Low Data Mode).
    pub constrained: bool,
}

/// How the engine may spend data and battery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct SyncPolicy {
    /// Photos only on unmetered, unconstrained networks (metadata goes on any).
    pub photos_only_unmetered: bool,
    /// Hold photo uploads while the battery is low.
    pub defer_photos_on_low_battery: bool,
    /// Reports whose photos upload at the same time (at least 1).
    pub uploads_in_flight: u32,
}

/// What the station handed this device at enrolment.
#[derive(Clone, PartialEq, Eq, uniffi::Record)]
pub struct Enrolment {
    /// The device's id at the station.
    pub device_id: String,
    /// The printed label of the code, e.g. `carrier-017`.
    pub label: String,
    /// The device credential, already in force and saved in the app's
    /// `SecretStore`; an app that keeps its own tokens may keep it too.
    pub token: String,
}

impl fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Enrolment")
            .field("device_id", &self.device_id)
            .field("label", &self.label)
            .finish_non_exhaustive()
    }
}

/// Bytes and requests the engine sent since the core was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct TransferStats {
    /// Photo bytes put on the wire, re-sends included.
    pub photo_bytes_sent: u64,
    /// Photo bytes sent again after an interruption.
    pub photo_bytes_resent: u64,
    /// HTTP requests made.
    pub requests: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location() -> Location {
        Location {
            lat: 37.565_812,
            lon: 126.938_61,
            accuracy_m: Some(7.0),
            altitude_m: None,
            fix_time: SystemTime::now(),
            source: LocationSource::Gps,
        }
    }

    #[test]
    fn debug_output_never_shows_notes_positions_or_credentials() {
        let report = Report {
            id: "0190f5c2-7b1e-7cc4-9a4e-1f2d3c4b5a69".into(),
            state: ReportState::Draft,
            category: Some("crime_risk".into()),
            note: Some("the door of no. 12 is broken".into()),
            location: Some(location()),
            created_at: SystemTime::now(),
            photos: vec![],
            content_hash: None,
            flags: LocationFlags {
                low_accuracy: false,
                stale: false,
            },
            review_status: None,
            server_message: None,
            follow_up_of: None,
        };
        let shown = format!(
            "{report:?} {:?} {:?} {:?}",
            location(),
            CoreConfig {
                data_dir: "/data/user/0/org.postcso".into(),
                station_url: "https://station.example/".into(),
                credential: Some("secret-token-value".into()),
            },
            Enrolment {
                device_id: "d".into(),
                label: "carrier-017".into(),
                token: "secret-token-value".into(),
            }
        );
        for leak in ["no. 12", "37.56", "126.93", "secret-token", "/data/user"] {
            assert!(!shown.contains(leak), "{leak} leaked into {shown}");
        }
        assert!(shown.contains("0190f5c2") && shown.contains("carrier-017"));
    }
}
