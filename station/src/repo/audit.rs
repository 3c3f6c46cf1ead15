//! The append-only audit log: who did what, when, with the state before and
//! after. What each action records is decided with the action, in its
//! concern's file (see [`super::feed::ActionLog`]); this file holds the shapes
//! and reads rows back.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::RepoError;
use super::columns::Columns;
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

/// What an audit row records besides its actor and time; built by each
/// action's [`super::feed::ActionLog`] constructor, so both backends log every
/// action in the same shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AuditRecord {
    /// e.g. `report.status`.
    pub action: &'static str,
    /// e.g. `report`.
    pub target_kind: &'static str,
    /// The target's id.
    pub target_id: String,
    /// State before.
    pub before: Option<serde_json::Value>,
    /// State after.
    pub after: Option<serde_json::Value>,
}

impl AuditRecord {
    /// A record of `action` on the target, with the state before (if it
    /// existed) and after.
    pub(crate) fn new(
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

    /// The state before, as the `before_json` column stores it.
    pub(crate) fn before_json(&self) -> Option<String> {
        self.before.as_ref().map(serde_json::Value::to_string)
    }

    /// The state after, as the `after_json` column stores it.
    pub(crate) fn after_json(&self) -> Option<String> {
        self.after.as_ref().map(serde_json::Value::to_string)
    }
}

/// The columns an audit read selects, in the order [`audit_entry_from`] reads them.
pub(crate) const AUDIT_COLUMNS: &str = "seq, at, actor_role, actor_user_id, actor_username, \
     actor_device_id, action, target_kind, target_id, before_json, after_json";

/// An audit row read back ([`AUDIT_COLUMNS`]).
pub(crate) fn audit_entry_from(row: &impl Columns) -> Result<AuditEntry, RepoError> {
    Ok(AuditEntry {
        seq: row.count(0)?,
        at: row.time(1)?,
        actor_role: row.text(2)?,
        actor_user_id: row.opt_uuid(3)?,
        actor_username: row.opt_text(4)?,
        actor_device_id: row.opt_uuid(5)?,
        action: row.text(6)?,
        target_kind: row.text(7)?,
        target_id: row.text(8)?,
        before: row.opt_json(9, "audit state")?,
        after: row.opt_json(10, "audit state")?,
    })
}
