//! The append-only audit log: who did what, when, with the state before and after.

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

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
