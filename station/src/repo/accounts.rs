//! Staff accounts and their sessions: users of a station with a role and a
//! password, and the signed-in sessions their tokens stand for.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::{RepoError, StationId};
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
    /// The live session for a token hash: not expired, not revoked, user enabled.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError>;
}
