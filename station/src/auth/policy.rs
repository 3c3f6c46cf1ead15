//! Who may see what: the access rules in one place, as plain functions, so the
//! access-matrix test has one thing to check and handlers cannot drift apart.

use super::{Caller, Role};
use crate::repo::{Audience, StoredReport};

/// How much of a report a caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportAccess {
    /// Everything: content, location, note, photo manifest.
    Full,
    /// Only whether it arrived and its review status (the carrier who filed it).
    StatusOnly,
    /// Nothing; answered as 404 so existence is not revealed.
    Hidden,
}

/// Whether a role may read reports by id at all. Roles that never may get 403
/// before any lookup. Inspectors will read reports through their assigned
/// inspections once those exist.
pub fn may_read_reports(role: Role) -> bool {
    matches!(role, Role::Carrier | Role::Supervisor)
}

/// What `caller` may read of `report`. Never anything across stations; a carrier
/// only its own device's reports.
pub fn report_access(caller: &Caller, report: &StoredReport) -> ReportAccess {
    if caller.station_id() != report.station_id {
        return ReportAccess::Hidden;
    }
    match caller {
        Caller::Device(device) if device.id == report.device_id => ReportAccess::StatusOnly,
        Caller::Device(_) => ReportAccess::Hidden,
        Caller::Staff(session) => match session.user.role {
            Role::Supervisor => ReportAccess::Full,
            Role::Carrier | Role::Inspector | Role::Admin => ReportAccess::Hidden,
        },
    }
}

/// Whether `caller` may see the photos of `report`: whoever may read it at all
/// (the station's supervisors, and the filing device, which took them).
pub fn may_see_photos(caller: &Caller, report: &StoredReport) -> bool {
    report_access(caller, report) != ReportAccess::Hidden
}

/// Whether a role may change a report's review status.
pub fn may_triage(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may read and export the audit log.
pub fn may_read_audit(role: Role) -> bool {
    role == Role::Admin
}

/// What the changes feed shows `caller`.
pub fn feed_audience(caller: &Caller) -> Audience {
    match caller {
        Caller::Device(device) => Audience::Device(device.id),
        Caller::Staff(session) => match session.user.role {
            Role::Supervisor => Audience::Station,
            Role::Carrier | Role::Inspector | Role::Admin => Audience::CategoriesOnly,
        },
    }
}
