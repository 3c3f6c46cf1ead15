//! The append-only audit log: who did what, when, with the state before and after.

use chrono::{DateTime, Utc};
use postcso_model::{CategoryInfo, ReportId, ReviewStatus};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::{Findings, Inspection, InspectionOutcome, NewFindings};
use crate::auth::Role;

/// Who performed a state-changing action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The role it acted in.
    pub role: Role,
    /// The staff user, for session callers.
    pub user_id: Option<Uuid>,
    /// The staff user's sign-in name, kept so the log reads on its own.
    pub username: Option<String>,
    /// The device, for phone callers.
    pub device_id: Option<Uuid>,
}

impl Actor {
    /// An enrolled phone acting as a carrier.
    pub fn device(device_id: Uuid) -> Self {
        Self {
            role: Role::Carrier,
            user_id: None,
            username: None,
            device_id: Some(device_id),
        }
    }

    /// Someone at the station machine's console, using the admin CLI. The CLI
    /// works on the database directly and has no signed-in user, so it is
    /// recorded as the admin role under the name `console`.
    pub fn console() -> Self {
        Self {
            role: Role::Admin,
            user_id: None,
            username: Some("console".to_owned()),
            device_id: None,
        }
    }

    /// A signed-in staff user acting for themself (e.g. signing in).
    pub fn user(user: &super::User) -> Self {
        Self {
            role: user.role,
            user_id: Some(user.id),
            username: Some(user.username.clone()),
            device_id: None,
        }
    }
}

/// One audit row as read back.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Order of the entries; use the last one seen as `after` to page on.
    pub seq: u64,
    /// When the action happened.
    pub at: DateTime<Utc>,
    /// Role of the actor.
    pub actor_role: String,
    /// Staff user id, if a person acted through a session.
    pub actor_user_id: Option<Uuid>,
    /// Staff user name, if a person acted through a session.
    pub actor_username: Option<String>,
    /// Device id, if a phone acted.
    pub actor_device_id: Option<Uuid>,
    /// What was done, e.g. `report.status`.
    pub action: String,
    /// Kind of the thing acted on, e.g. `report`.
    pub target_kind: String,
    /// Its id.
    pub target_id: String,
    /// The relevant state before (never notes, photos or positions).
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The relevant state after.
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

/// What an audit row records besides its actor and time. Built by the
/// constructors below, so that both backends log every action in the same
/// shape.
pub(crate) struct AuditRecord<'a> {
    /// e.g. `report.status`.
    pub action: &'a str,
    /// e.g. `report`.
    pub target_kind: &'a str,
    /// The target's id.
    pub target_id: String,
    /// State before.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
}

/// An inspection's findings as the audit log keeps them: the outcome and
/// the text's length, never the text (it may describe a resident).
fn findings_summary(
    outcome: InspectionOutcome,
    observed_at: DateTime<Utc>,
    text: &str,
) -> serde_json::Value {
    json!({
        "outcome": outcome.as_str(),
        "observed_at": observed_at,
        "findings_chars": text.chars().count(),
    })
}

impl AuditRecord<'static> {
    fn new(
        action: &'static str,
        target_kind: &'static str,
        target_id: impl std::fmt::Display,
        before: Option<serde_json::Value>,
        after: serde_json::Value,
    ) -> Self {
        Self {
            action,
            target_kind,
            target_id: target_id.to_string(),
            before,
            after: Some(after),
        }
    }

    /// `user.add`.
    pub(crate) fn user_added(user: Uuid, username: &str, role: Role) -> Self {
        let after = json!({ "username": username, "role": role.as_str() });
        Self::new("user.add", "user", user, None, after)
    }

    /// `user.disable`: an admin took a user's access away.
    pub(crate) fn user_disabled(
        user: Uuid,
        username: &str,
        at: DateTime<Utc>,
        sessions_ended: u64,
    ) -> Self {
        let before = json!({ "username": username, "disabled_at": null });
        let after = json!({
            "username": username, "disabled_at": at, "sessions_ended": sessions_ended,
        });
        Self::new("user.disable", "user", user, Some(before), after)
    }

    /// `session.create`: a staff user signed in.
    pub(crate) fn session_created(user: Uuid, expires_at: DateTime<Utc>) -> Self {
        let after = json!({ "expires_at": expires_at });
        Self::new("session.create", "user", user, None, after)
    }

    /// `session.end`: a staff user signed out.
    pub(crate) fn session_ended(
        user: Uuid,
        expires_at: DateTime<Utc>,
        ended_at: DateTime<Utc>,
    ) -> Self {
        let before = json!({ "expires_at": expires_at });
        let after = json!({ "ended_at": ended_at });
        Self::new("session.end", "user", user, Some(before), after)
    }

    /// `enrolment_code.create`.
    pub(crate) fn code_created(label: &str, expires_at: DateTime<Utc>) -> Self {
        let after = json!({ "label": label, "expires_at": expires_at });
        Self::new(
            "enrolment_code.create",
            "enrolment_code",
            label,
            None,
            after,
        )
    }

    /// `enrolment_code.redeem`: a phone became a device.
    pub(crate) fn code_redeemed(device: Uuid, label: &str) -> Self {
        let after = json!({ "label": label });
        Self::new("enrolment_code.redeem", "device", device, None, after)
    }

    /// `device.revoke`.
    pub(crate) fn device_revoked(device: Uuid, label: &str, at: DateTime<Utc>) -> Self {
        let before = json!({ "label": label, "revoked_at": null });
        let after = json!({ "label": label, "revoked_at": at });
        Self::new("device.revoke", "device", device, Some(before), after)
    }

    /// `category.add`.
    pub(crate) fn category_added(info: &CategoryInfo) -> Self {
        let after = json!({
            "code": info.code.as_str(),
            "name_ko": info.name_ko,
            "name_en": info.name_en,
            "guidance": info.guidance,
            "retired": false,
        });
        Self::new("category.add", "category", info.code.as_str(), None, after)
    }

    /// `category.retire`.
    pub(crate) fn category_retired(code: &str) -> Self {
        let (before, after) = (json!({ "retired": false }), json!({ "retired": true }));
        Self::new("category.retire", "category", code, Some(before), after)
    }

    /// `report.status`: triage, or an inspection's assignment.
    pub(crate) fn status_changed(
        report: ReportId,
        (from, from_reason): (&ReviewStatus, Option<&str>),
        (to, reason): (&ReviewStatus, Option<&str>),
    ) -> Self {
        let before = json!({ "status": from.as_str(), "reason": from_reason });
        let after = json!({ "status": to.as_str(), "reason": reason });
        Self::new("report.status", "report", report, Some(before), after)
    }

    /// `inspection.assign`, replacing `before` if there was one.
    pub(crate) fn inspection_assigned(
        report: ReportId,
        before: Option<&Inspection>,
        inspector: &str,
    ) -> Self {
        let before = before.map(|i| {
            json!({
                "inspector": i.inspector,
                "outcome": i.findings.as_ref().map(|f| f.outcome.as_str()),
            })
        });
        let after = json!({ "inspector": inspector });
        Self::new("inspection.assign", "report", report, before, after)
    }

    /// `inspection.record`, replacing earlier findings if there were some.
    pub(crate) fn inspection_recorded(
        report: ReportId,
        before: Option<&Findings>,
        findings: &NewFindings,
    ) -> Self {
        let before = before.map(|f| findings_summary(f.outcome, f.observed_at, &f.text));
        let after = findings_summary(findings.outcome, findings.observed_at, &findings.text);
        Self::new("inspection.record", "report", report, before, after)
    }

    /// `report.photo_received`: an upload completed a photo of the manifest.
    pub(crate) fn photo_received(
        report: ReportId,
        sha256: &str,
        upload: &str,
        (was_complete, now_complete): (bool, bool),
    ) -> Self {
        let before = json!({ "sha256": sha256, "received": false, "complete": was_complete });
        let after = json!({ "sha256": sha256, "received": true, "complete": now_complete,
                            "upload_id": upload });
        Self::new(
            "report.photo_received",
            "report",
            report,
            Some(before),
            after,
        )
    }
}
