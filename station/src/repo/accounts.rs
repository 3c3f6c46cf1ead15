//! Staff accounts and their sessions: users of a station with a role and a
//! password, and the signed-in sessions their tokens stand for.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::feed::ActionLog;
use super::{Actor, RepoError, StationId};
use crate::auth::Role;

/// A staff member (or a password-holding carrier) of one station.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// Internal id.
    pub id: Uuid,
    /// The station the user belongs to; roles are per station.
    pub station_id: StationId,
    /// Sign-in name, unique within the station.
    pub username: String,
    /// What the user may do.
    pub role: Role,
    /// When the user was added.
    pub created_at: DateTime<Utc>,
}

/// A staff user as an admin lists them: with whether they may still sign in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffUser {
    /// The user.
    pub user: User,
    /// When an admin disabled them; `None` while they may sign in.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// What disabling a user did, so the CLI can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserDisabled {
    /// The user.
    pub user: User,
    /// Whether this call disabled them (false when they already were).
    pub newly: bool,
    /// Live sessions of theirs that this call ended.
    pub sessions_ended: u64,
}

/// A user with the stored password hash, only for sign-in.
#[derive(Debug, Clone)]
pub struct UserCredentials {
    /// The user.
    pub user: User,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
}

/// A new user to store; the password is already hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Sign-in name.
    pub username: String,
    /// Role within the station.
    pub role: Role,
    /// PHC string of the argon2id hash.
    pub password_hash: String,
}

/// A signed-in staff session, as found from its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The signed-in user (carries station and role).
    pub user: User,
    /// When the session stops working.
    pub expires_at: DateTime<Utc>,
    /// The stored hash of its token: how sign-out names the session to end.
    pub token_hash: String,
    /// When it was last used (its creation until then), to at most a minute
    /// ([`SESSION_TOUCH_INTERVAL`]): what the idle timeout is measured from.
    pub last_seen_at: DateTime<Utc>,
}

/// How stale a session's `last_seen_at` may get before a request records
/// it again: one write a minute per busy session rather than one per request.
pub const SESSION_TOUCH_INTERVAL: chrono::Duration = chrono::Duration::seconds(60);

impl Session {
    /// Whether the session went unused for longer than `idle` by `now`: the
    /// idle-timeout rule, so a tablet left on a desk stops working.
    pub fn idle_too_long(&self, now: DateTime<Utc>, idle: chrono::Duration) -> bool {
        now - self.last_seen_at > idle
    }

    /// Whether a request at `now` should record that the session was used.
    pub fn needs_touch(&self, now: DateTime<Utc>) -> bool {
        now - self.last_seen_at > SESSION_TOUCH_INTERVAL
    }
}

impl User {
    /// A new user of `station` with a fresh id, added at `now`.
    pub(crate) fn new(station: StationId, new: &NewUser, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            station_id: station,
            username: new.username.clone(),
            role: new.role,
            created_at: now,
        }
    }
}

/// A user read back: `id, station_id, username, role, created_at`.
pub(crate) fn user_from(row: &impl Columns) -> Result<User, RepoError> {
    let role = row.text(3)?;
    Ok(User {
        id: row.uuid(0)?,
        station_id: StationId(row.uuid(1)?),
        username: row.text(2)?,
        role: Role::parse(&role).ok_or_else(|| bad_column(3, format!("unknown role `{role}`")))?,
        created_at: row.time(4)?,
    })
}

/// A staff user read back: the user's columns, then `disabled_at`.
pub(crate) fn staff_user_from(row: &impl Columns) -> Result<StaffUser, RepoError> {
    Ok(StaffUser {
        user: user_from(row)?,
        disabled_at: row.opt_time(5)?,
    })
}

/// Sign-in credentials read back: the user's columns, then `password_hash`.
pub(crate) fn credentials_from(row: &impl Columns) -> Result<UserCredentials, RepoError> {
    Ok(UserCredentials {
        user: user_from(row)?,
        password_hash: row.text(5)?,
    })
}

/// A session read back: its user's columns, then `expires_at`, `last_seen_at`
/// (its creation time when never touched).
pub(crate) fn session_from(row: &impl Columns, token_hash: &str) -> Result<Session, RepoError> {
    Ok(Session {
        user: user_from(row)?,
        expires_at: row.time(5)?,
        token_hash: token_hash.to_owned(),
        last_seen_at: row.time(6)?,
    })
}

/// The refusal of a second user with the same name in a station.
pub(crate) fn username_taken(username: &str) -> RepoError {
    RepoError::Conflict(format!("user `{username}` already exists in this station"))
}

impl StaffUser {
    /// The answer when the user was disabled before: nothing is written.
    pub(crate) fn already_disabled(&self) -> Option<UserDisabled> {
        self.disabled_at.is_some().then(|| UserDisabled {
            user: self.user.clone(),
            newly: false,
            sessions_ended: 0,
        })
    }
}

impl ActionLog {
    /// `user.add` by the station console (the only caller).
    pub(crate) fn user_added(user: &User) -> Self {
        let after = json!({ "username": user.username, "role": user.role.as_str() });
        Self {
            actor: Actor::console(),
            audit: AuditRecord::new("user.add", "user", user.id, None, after),
            change: None,
        }
    }

    /// `user.disable` by the station console: an admin took a user's access away.
    pub(crate) fn user_disabled(user: &User, at: DateTime<Utc>, sessions_ended: u64) -> Self {
        let before = json!({ "username": user.username, "disabled_at": null });
        let after = json!({
            "username": user.username, "disabled_at": at, "sessions_ended": sessions_ended,
        });
        Self {
            actor: Actor::console(),
            audit: AuditRecord::new("user.disable", "user", user.id, Some(before), after),
            change: None,
        }
    }

    /// `session.create` by the user: they signed in.
    pub(crate) fn session_created(user: &User, expires_at: DateTime<Utc>) -> Self {
        let after = json!({ "expires_at": expires_at });
        Self {
            actor: Actor::user(user),
            audit: AuditRecord::new("session.create", "user", user.id, None, after),
            change: None,
        }
    }

    /// `session.end` by the user: they signed out.
    pub(crate) fn session_ended(session: &Session, ended_at: DateTime<Utc>) -> Self {
        let before = json!({ "expires_at": session.expires_at });
        let after = json!({ "ended_at": ended_at });
        let user = &session.user;
        Self {
            actor: Actor::user(user),
            audit: AuditRecord::new("session.end", "user", user.id, Some(before), after),
            change: None,
        }
    }
}

/// Staff users and sessions: the admin CLI manages users, sign-in and
/// sign-out manage sessions, every staff request looks its session up.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a user; `Conflict` when the username is taken in that station.
    /// Writes a `user.add` audit row (actor: the station console, the only
    /// caller) in the same transaction.
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError>;
    /// The station's staff users by username, disabled ones included.
    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError>;
    /// Disables a staff user (someone who left, or a leaked password): they
    /// can no longer sign in, and every live session of theirs ends at once.
    /// Their past actions stay in the audit log under their name. Writes a
    /// `user.disable` audit row (actor: the station console, the only caller)
    /// in the same transaction. `NotFound` when there is no such user.
    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError>;
    /// A user with the password hash, for sign-in.
    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError>;
    /// Stores a session by token hash, with a `session.create` audit row
    /// (actor: the user) in the same transaction.
    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError>;
    /// Ends a live session (sign-out): its token stops working on the next
    /// request. Writes a `session.end` audit row (actor: the user) in the
    /// same transaction. `false` when it had already ended.
    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError>;
    /// Records that a live session was used at `now` (for the idle timeout).
    /// Not audited: it changes nothing anyone decided.
    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), RepoError>;
    /// The live session for a token hash: not expired, not revoked, user enabled.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError>;
}
