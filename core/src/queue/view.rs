//! What the queue hands back to the app: full reports, list rows and counts.

use chrono::{DateTime, FixedOffset};

use crate::model::{GeoFlags, GeoPoint, ReportId, ReportState, ReviewStatus};

/// A report as the app shows it, draft or sealed.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Identity, made on this device.
    pub id: ReportId,
    /// Where it stands in the lifecycle.
    pub state: ReportState,
    /// Category code, once chosen.
    pub category: Option<String>,
    /// The carrier's note, if any.
    pub note: Option<String>,
    /// Position, once set.
    pub location: Option<GeoPoint>,
    /// Creation time with the device's UTC offset.
    pub created_at: DateTime<FixedOffset>,
    /// Photos in order.
    pub photos: Vec<PhotoEntry>,
    /// SHA-256 of the sealed content; `None` while a draft.
    pub content_hash: Option<String>,
    /// Position quality flags recorded at submit.
    pub flags: GeoFlags,
    /// The station's review status once sent.
    pub review_status: Option<ReviewStatus>,
    /// The station's explanation when it refused the report.
    pub server_message: Option<String>,
    /// For a follow-up: the original report it adds to.
    pub follow_up_of: Option<ReportId>,
}

/// One stored photo of a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoEntry {
    /// Order within the report, from 0.
    pub position: u32,
    /// SHA-256 of the processed JPEG; also its file name.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Width in pixels after processing.
    pub width: u32,
    /// Height in pixels after processing.
    pub height: u32,
}

/// A row of the queue list: enough for the list screen without loading photos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportSummary {
    /// Identity.
    pub id: ReportId,
    /// Lifecycle state.
    pub state: ReportState,
    /// Category code, once chosen.
    pub category: Option<String>,
    /// Creation time with the device's offset.
    pub created_at: DateTime<FixedOffset>,
    /// How many photos are attached.
    pub photo_count: u32,
    /// The station's review status once sent.
    pub review_status: Option<ReviewStatus>,
    /// For a follow-up: the original report it adds to.
    pub follow_up_of: Option<ReportId>,
}

/// Report counts per state, for the badge on the app's queue tab.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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

impl QueueStats {
    /// Reports that still have to reach the station.
    pub fn unsent(&self) -> u64 {
        self.queued + self.sending
    }
}

/// What attaching a photo produced.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachedPhoto {
    /// The stored photo.
    pub photo: PhotoEntry,
    /// The camera's GPS position, offered when the report has none yet; the app
    /// asks the carrier before using it (`set_location`).
    pub suggested_location: Option<GeoPoint>,
}

/// What sealing a report recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmitReceipt {
    /// SHA-256 of the sealed content, which the station will compare on retries.
    pub content_hash: String,
    /// Position quality flags judged at submit.
    pub flags: GeoFlags,
}
