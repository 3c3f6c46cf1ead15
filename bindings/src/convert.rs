//! Conversions between the core's types and the FFI mirrors. Pure data mapping;
//! the only fallible direction (foreign to core) returns a [`PostError`].

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use postcso_core::model::{self, GeoPoint, ReportId};
use postcso_core::{queue, sync};

use crate::error::PostError;
use crate::events::{StopReason, SyncErrorKind, SyncEvent, SyncOutcome};
use crate::types::*;

/// Parses a report id string from the foreign side.
pub(crate) fn report_id(id: &str) -> Result<ReportId, PostError> {
    ReportId::parse(id).map_err(|_| PostError::InvalidId(id.chars().take(64).collect()))
}

impl From<model::LocationSource> for LocationSource {
    fn from(s: model::LocationSource) -> Self {
        match s {
            model::LocationSource::Gps => Self::Gps,
            model::LocationSource::Network => Self::Network,
            model::LocationSource::Manual => Self::Manual,
            model::LocationSource::Exif => Self::Exif,
        }
    }
}

impl From<LocationSource> for model::LocationSource {
    fn from(s: LocationSource) -> Self {
        match s {
            LocationSource::Gps => Self::Gps,
            LocationSource::Network => Self::Network,
            LocationSource::Manual => Self::Manual,
            LocationSource::Exif => Self::Exif,
        }
    }
}

impl From<GeoPoint> for Location {
    fn from(p: GeoPoint) -> Self {
        Self {
            lat: p.lat(),
            lon: p.lon(),
            accuracy_m: Some(p.accuracy_m()),
            altitude_m: p.altitude_m(),
            fix_time: p.fix_time().into(),
            source: p.source().into(),
        }
    }
}

impl TryFrom<Location> for GeoPoint {
    type Error = PostError;
    fn try_from(l: Location) -> Result<Self, PostError> {
        let fix_time: DateTime<Utc> = l.fix_time.into();
        GeoPoint::new(
            l.lat,
            l.lon,
            l.accuracy_m,
            l.altitude_m,
            fix_time,
            l.source.into(),
        )
        .map_err(|e| postcso_core::QueueError::from(e).into())
    }
}

impl From<model::GeoFlags> for LocationFlags {
    fn from(f: model::GeoFlags) -> Self {
        Self {
            low_accuracy: f.low_accuracy,
            stale: f.stale,
        }
    }
}

impl From<model::ReportState> for ReportState {
    fn from(s: model::ReportState) -> Self {
        match s {
            model::ReportState::Draft => Self::Draft,
            model::ReportState::Queued => Self::Queued,
            model::ReportState::Sending => Self::Sending,
            model::ReportState::Sent => Self::Sent,
            model::ReportState::Withdrawn => Self::Withdrawn,
            model::ReportState::RejectedByServer => Self::RejectedByServer,
        }
    }
}

impl From<model::ReviewStatus> for ReviewStatus {
    fn from(s: model::ReviewStatus) -> Self {
        match s {
            model::ReviewStatus::Received => Self::Received,
            model::ReviewStatus::Accepted => Self::Accepted,
            model::ReviewStatus::Merged => Self::Merged,
            model::ReviewStatus::Rejected => Self::Rejected,
            model::ReviewStatus::Inspecting => Self::Inspecting,
            model::ReviewStatus::Referred => Self::Referred,
            model::ReviewStatus::Fixed => Self::Fixed,
            model::ReviewStatus::Other(value) => Self::Other { value },
        }
    }
}

impl From<queue::PhotoEntry> for Photo {
    fn from(p: queue::PhotoEntry) -> Self {
        Self {
            position: p.position,
            sha256: p.sha256,
            size: p.size,
            width: p.width,
            height: p.height,
        }
    }
}

impl From<queue::Report> for Report {
    fn from(r: queue::Report) -> Self {
        Self {
            id: r.id.to_string(),
            state: r.state.into(),
            category: r.category,
            note: r.note,
            location: r.location.map(Into::into),
            created_at: SystemTime::from(r.created_at.with_timezone(&Utc)),
            photos: r.photos.into_iter().map(Into::into).collect(),
            content_hash: r.content_hash,
            flags: r.flags.into(),
            review_status: r.review_status.map(Into::into),
            server_message: r.server_message,
            follow_up_of: r.follow_up_of.map(|id| id.to_string()),
        }
    }
}

impl From<queue::ReportSummary> for ReportSummary {
    fn from(r: queue::ReportSummary) -> Self {
        Self {
            id: r.id.to_string(),
            state: r.state.into(),
            category: r.category,
            created_at: SystemTime::from(r.created_at.with_timezone(&Utc)),
            photo_count: r.photo_count,
            review_status: r.review_status.map(Into::into),
            follow_up_of: r.follow_up_of.map(|id| id.to_string()),
        }
    }
}

impl From<queue::QueueStats> for QueueStats {
    fn from(s: queue::QueueStats) -> Self {
        Self {
            drafts: s.drafts,
            queued: s.queued,
            sending: s.sending,
            sent: s.sent,
            withdrawn: s.withdrawn,
            rejected_by_server: s.rejected_by_server,
        }
    }
}

impl From<queue::AttachedPhoto> for AttachedPhoto {
    fn from(a: queue::AttachedPhoto) -> Self {
        Self {
            photo: a.photo.into(),
            suggested_location: a.suggested_location.map(Into::into),
        }
    }
}

impl From<queue::SubmitReceipt> for SubmitReceipt {
    fn from(r: queue::SubmitReceipt) -> Self {
        Self {
            content_hash: r.content_hash,
            flags: r.flags.into(),
        }
    }
}

impl From<&model::CategoryInfo> for Category {
    fn from(c: &model::CategoryInfo) -> Self {
        Self {
            code: c.code.as_str().to_owned(),
            name_ko: c.name_ko.clone(),
            name_en: c.name_en.clone(),
            guidance: c.guidance.clone(),
            retired: c.retired,
        }
    }
}

impl From<&model::ZoneInfo> for Zone {
    fn from(z: &model::ZoneInfo) -> Self {
        Self {
            code: z.code.clone(),
            name: z.name.clone(),
            // The outline was validated when it was stored; serialising it
            // back cannot fail, and a map library reads GeoJSON directly.
            area_geojson: z
                .area
                .as_ref()
                .and_then(|area| serde_json::to_string(area).ok()),
            assigned: z.assigned,
            retired: z.retired,
            kind: z.kind.into(),
            theme: z.theme.clone(),
            name_en: z.name_en.clone(),
            guidance: z.guidance.clone(),
            valid_from: z.valid_from.map(Into::into),
            valid_until: z.valid_until.map(Into::into),
        }
    }
}

impl From<NetworkState> for sync::NetworkState {
    fn from(n: NetworkState) -> Self {
        Self {
            online: n.online,
            metered: n.metered,
            constrained: n.constrained,
        }
    }
}

impl From<SyncPolicy> for sync::SyncPolicy {
    fn from(p: SyncPolicy) -> Self {
        Self {
            photos_only_unmetered: p.photos_only_unmetered,
            defer_photos_on_low_battery: p.defer_photos_on_low_battery,
            uploads_in_flight: p.uploads_in_flight.max(1) as usize,
        }
    }
}

impl From<sync::SyncPolicy> for SyncPolicy {
    fn from(p: sync::SyncPolicy) -> Self {
        Self {
            photos_only_unmetered: p.photos_only_unmetered,
            defer_photos_on_low_battery: p.defer_photos_on_low_battery,
            uploads_in_flight: u32::try_from(p.uploads_in_flight).unwrap_or(u32::MAX),
        }
    }
}

impl From<sync::Enrolment> for Enrolment {
    fn from(e: sync::Enrolment) -> Self {
        Self {
            device_id: e.device_id,
            label: e.label,
            token: e.token,
        }
    }
}

impl From<sync::TransferStats> for TransferStats {
    fn from(t: sync::TransferStats) -> Self {
        Self {
            photo_bytes_sent: t.photo_bytes_sent,
            photo_bytes_resent: t.photo_bytes_resent,
            requests: t.requests,
        }
    }
}

impl From<sync::StopReason> for StopReason {
    fn from(s: sync::StopReason) -> Self {
        match s {
            sync::StopReason::Drained => Self::Drained,
            sync::StopReason::DeadlineReached => Self::DeadlineReached,
            sync::StopReason::Cancelled => Self::Cancelled,
            sync::StopReason::Offline => Self::Offline,
            sync::StopReason::BackingOff { retry_in, reason } => Self::BackingOff {
                retry_in_ms: u64::try_from(retry_in.as_millis()).unwrap_or(u64::MAX),
                reason,
            },
            sync::StopReason::ReEnrolRequired => Self::ReEnrolRequired,
            sync::StopReason::NotEnrolled => Self::NotEnrolled,
            sync::StopReason::LocalError(message) => Self::LocalError { message },
        }
    }
}

impl From<sync::SyncOutcome> for SyncOutcome {
    fn from(o: sync::SyncOutcome) -> Self {
        Self {
            stop: o.stop.into(),
            delivered: o.delivered,
            rejected: o.rejected,
            remaining: o.remaining,
        }
    }
}

impl From<sync::SyncErrorKind> for SyncErrorKind {
    fn from(k: sync::SyncErrorKind) -> Self {
        match k {
            sync::SyncErrorKind::Network => Self::Network,
            sync::SyncErrorKind::Rejected => Self::Rejected,
            sync::SyncErrorKind::LocalPhoto => Self::LocalPhoto,
            sync::SyncErrorKind::Storage => Self::Storage,
        }
    }
}

impl From<sync::SyncEvent> for SyncEvent {
    fn from(e: sync::SyncEvent) -> Self {
        match e {
            sync::SyncEvent::Started => Self::Started,
            sync::SyncEvent::ReportState { id, state } => Self::StateChanged {
                id: id.to_string(),
                state: state.into(),
            },
            sync::SyncEvent::UploadProgress {
                id,
                bytes_sent,
                bytes_total,
            } => Self::UploadProgress {
                id: id.to_string(),
                bytes_sent,
                bytes_total,
            },
            sync::SyncEvent::QueueCounts(stats) => Self::QueueCounts {
                stats: stats.into(),
            },
            sync::SyncEvent::ReviewStatus { id, status } => Self::ReviewChanged {
                id: id.to_string(),
                status: status.into(),
            },
            sync::SyncEvent::CategoriesUpdated => Self::CategoriesUpdated,
            sync::SyncEvent::ZonesUpdated => Self::ZonesUpdated,
            sync::SyncEvent::Error {
                kind,
                message,
                report,
            } => Self::Failure {
                kind: kind.into(),
                message,
                report_id: report.map(|id| id.to_string()),
            },
            sync::SyncEvent::ReEnrolRequired => Self::ReEnrolRequired,
            sync::SyncEvent::Finished(outcome) => Self::Finished {
                outcome: outcome.into(),
            },
        }
    }
}
