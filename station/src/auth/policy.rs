//! Who may see what: the access rules in one place, as plain functions, so the
//! access-matrix test has one thing to check and handlers cannot drift apart.

use uuid::Uuid;

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
/// before any lookup. Inspectors read only the reports assigned to them.
pub fn may_read_reports(role: Role) -> bool {
    matches!(role, Role::Carrier | Role::Supervisor | Role::Inspector)
}

/// What `caller` may read of `report`, given the inspector its inspection is
/// assigned to (if any). Never anything across stations; a carrier only its
/// own device's reports; an inspector only the reports assigned to it.
pub fn report_access(
    caller: &Caller,
    report: &StoredReport,
    assigned_inspector: Option<Uuid>,
) -> ReportAccess {
    if caller.station_id() != report.station_id {
        return ReportAccess::Hidden;
    }
    match caller {
        Caller::Device(device) if device.id == report.device_id => ReportAccess::StatusOnly,
        Caller::Device(_) => ReportAccess::Hidden,
        Caller::Staff(session) => match session.user.role {
            Role::Supervisor => ReportAccess::Full,
            Role::Inspector if assigned_inspector == Some(session.user.id) => ReportAccess::Full,
            Role::Carrier | Role::Inspector | Role::Admin => ReportAccess::Hidden,
        },
    }
}

/// Whether `caller` may see the photos of `report`: whoever may read it at all
/// (the station's supervisors, the filing device, which took them, and the
/// inspector it is assigned to).
pub fn may_see_photos(
    caller: &Caller,
    report: &StoredReport,
    assigned_inspector: Option<Uuid>,
) -> bool {
    report_access(caller, report, assigned_inspector) != ReportAccess::Hidden
}

/// Whether a role may look for nearby duplicates of a report at all:
/// supervisors and admins (any report of the station), inspectors (the
/// reports assigned to them). Carriers never: the list spans other carriers'
/// reports. Roles that never may get 403 before any lookup.
pub fn may_find_nearby(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin | Role::Inspector)
}

/// Whether `caller` may list the reports near `report`, given the inspector
/// its inspection is assigned to (if any). Others get 404, as for reading it.
pub fn nearby_visible(
    caller: &Caller,
    report: &StoredReport,
    assigned_inspector: Option<Uuid>,
) -> bool {
    if caller.station_id() != report.station_id {
        return false;
    }
    match caller {
        Caller::Device(_) => false,
        Caller::Staff(session) => match session.user.role {
            Role::Supervisor | Role::Admin => true,
            Role::Inspector => assigned_inspector == Some(session.user.id),
            Role::Carrier => false,
        },
    }
}

/// Whether a role may add and retire categories.
pub fn may_manage_categories(role: Role) -> bool {
    role == Role::Admin
}

/// Whether a role may add, change and retire zones.
pub fn may_manage_zones(role: Role) -> bool {
    role == Role::Admin
}

/// Whether a role may list the station's zones with their device assignments
/// (carriers get their own view through the changes feed).
pub fn may_read_zones(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Supervisor)
}

/// Whether a role may send a report to an inspector.
pub fn may_assign_inspections(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may list and read inspections: supervisors all of the
/// station's, inspectors their own.
pub fn may_read_inspections(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Inspector)
}

/// Whether a role may record findings (of the inspections assigned to it).
pub fn may_record_inspections(role: Role) -> bool {
    role == Role::Inspector
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

/// Whether a role may work the review console's queue of all the station's
/// reports: those who may read every report of it (supervisors).
pub fn may_use_review_queue(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may read a report's history from the audit log (its own
/// rows only; the whole log stays with admins, [`may_read_audit`]):
/// supervisors, who decide on reports.
pub fn may_read_report_history(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may read and add internal notes on reports it may read
/// in full: supervisors (inspectors' findings are their own record).
pub fn may_keep_internal_notes(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may add, change and retire agencies and routing rules.
pub fn may_manage_agencies(role: Role) -> bool {
    role == Role::Admin
}

/// Whether a role may list agencies and routing rules (never their API
/// keys, which no one reads back): admins, and supervisors, who refer.
pub fn may_read_agencies(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Supervisor)
}

/// Whether a role may refer reports to agencies, read their referrals and
/// record the agencies' answers: supervisors, who decide on reports.
pub fn may_refer(role: Role) -> bool {
    role == Role::Supervisor
}

/// Whether a role may read the station's statistics and monthly programme
/// report: figures only (counts, medians, reports per device label), never
/// a report's content; supervisors, and admins who run the station.
pub fn may_read_statistics(role: Role) -> bool {
    matches!(role, Role::Supervisor | Role::Admin)
}

/// Whether a role may export the station's reports (CSV, GeoJSON): only
/// those who may read every report of it, as the queue ([`may_use_review_queue`]).
pub fn may_export_reports(role: Role) -> bool {
    may_use_review_queue(role)
}
