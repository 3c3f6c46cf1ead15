//! Staff users and their sessions in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use tokio_postgres::Row;
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::{PgRepository, execute, get, map_err, micros, query, query_opt};
use crate::auth::Role;
use crate::repo::{
    AccountStore, Actor, NewUser, RepoError, Session, StaffUser, StationId, User, UserCredentials,
    UserDisabled,
};

/// `id, station_id, username, role, created_at`
fn user_from_row(r: &Row) -> Result<User, RepoError> {
    let role: String = get(r, 3)?;
    Ok(User {
        id: get(r, 0)?,
        station_id: StationId(get(r, 1)?),
        username: get(r, 2)?,
        role: Role::parse(&role)
            .ok_or_else(|| RepoError::Storage(format!("unknown role `{role}` in database")))?,
        created_at: get(r, 4)?,
    })
}

/// `id, station_id, username, role, created_at, disabled_at`
fn staff_user_from_row(r: &Row) -> Result<StaffUser, RepoError> {
    Ok(StaffUser {
        user: user_from_row(r)?,
        disabled_at: get(r, 5)?,
    })
}

/// Adds a user with its audit row, in one transaction.
async fn add_user(
    client: &mut Object,
    station: StationId,
    user: NewUser,
) -> Result<User, RepoError> {
    let stored = User {
        id: Uuid::now_v7(),
        station_id: station,
        username: user.username,
        role: user.role,
        created_at: micros(Utc::now()),
    };
    let tx = client.transaction().await.map_err(map_err)?;
    let inserted = execute(
        &tx,
        "INSERT INTO users (id, station_id, username, role, password_hash, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (station_id, username) DO NOTHING",
        &[
            &stored.id,
            &station.0,
            &stored.username,
            &stored.role.as_str(),
            &user.password_hash,
            &stored.created_at,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(RepoError::Conflict(format!(
            "user `{}` already exists in this station",
            stored.username
        )));
    }
    feed::append_audit(
        &tx,
        station,
        &Actor::console(),
        AuditRecord::user_added(stored.id, &stored.username, stored.role),
        stored.created_at,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok(stored)
}

/// An enabled user with the password hash, for sign-in.
async fn user_credentials<C: GenericClient>(
    c: &C,
    station: StationId,
    username: &str,
) -> Result<Option<UserCredentials>, RepoError> {
    let row = query_opt(
        c,
        "SELECT id, station_id, username, role, created_at, password_hash FROM users
         WHERE station_id = $1 AND username = $2 AND disabled_at IS NULL",
        &[&station.0, &username],
    )
    .await?;
    row.map(|r| {
        Ok(UserCredentials {
            user: user_from_row(&r)?,
            password_hash: get(&r, 5)?,
        })
    })
    .transpose()
}

/// The station's staff users by username.
async fn list_users<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<Vec<StaffUser>, RepoError> {
    query(
        c,
        "SELECT id, station_id, username, role, created_at, disabled_at FROM users
         WHERE station_id = $1 ORDER BY username",
        &[&station.0],
    )
    .await?
    .iter()
    .map(staff_user_from_row)
    .collect()
}

/// Disables a user and ends their live sessions, with the audit row.
async fn disable_user(
    client: &mut Object,
    station: StationId,
    username: &str,
    now: DateTime<Utc>,
) -> Result<UserDisabled, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    let staff = query_opt(
        &tx,
        "SELECT id, station_id, username, role, created_at, disabled_at FROM users
         WHERE station_id = $1 AND username = $2 FOR UPDATE",
        &[&station.0, &username],
    )
    .await?
    .as_ref()
    .map(staff_user_from_row)
    .transpose()?
    .ok_or(RepoError::NotFound("user"))?;
    if staff.disabled_at.is_some() {
        return Ok(UserDisabled {
            user: staff.user,
            newly: false,
            sessions_ended: 0,
        });
    }
    execute(
        &tx,
        "UPDATE users SET disabled_at = $1 WHERE station_id = $2 AND id = $3",
        &[&now, &station.0, &staff.user.id],
    )
    .await?;
    let sessions_ended = execute(
        &tx,
        "UPDATE sessions SET revoked_at = $1
         WHERE station_id = $2 AND user_id = $3 AND revoked_at IS NULL AND expires_at > $1",
        &[&now, &station.0, &staff.user.id],
    )
    .await?;
    feed::append_audit(
        &tx,
        station,
        &Actor::console(),
        AuditRecord::user_disabled(staff.user.id, &staff.user.username, now, sessions_ended),
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok(UserDisabled {
        user: staff.user,
        newly: true,
        sessions_ended,
    })
}

/// Stores a session with its audit row, in one transaction.
async fn create_session(
    client: &mut Object,
    token_hash: &str,
    user: &User,
    expires_at: DateTime<Utc>,
) -> Result<(), RepoError> {
    let now = micros(Utc::now());
    let tx = client.transaction().await.map_err(map_err)?;
    execute(
        &tx,
        "INSERT INTO sessions (token_hash, station_id, user_id, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&token_hash, &user.station_id.0, &user.id, &now, &expires_at],
    )
    .await?;
    feed::append_audit(
        &tx,
        user.station_id,
        &Actor::user(user),
        AuditRecord::session_created(user.id, expires_at),
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)
}

/// Ends a live session, with its audit row when it was live.
async fn end_session(
    client: &mut Object,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    let ended = execute(
        &tx,
        "UPDATE sessions SET revoked_at = $1
         WHERE token_hash = $2 AND station_id = $3 AND revoked_at IS NULL",
        &[&now, &session.token_hash, &session.user.station_id.0],
    )
    .await?
        > 0;
    if ended {
        feed::append_audit(
            &tx,
            session.user.station_id,
            &Actor::user(&session.user),
            AuditRecord::session_ended(session.user.id, session.expires_at, now),
            now,
        )
        .await?;
    }
    tx.commit().await.map_err(map_err)?;
    Ok(ended)
}

/// The live session of a token hash.
async fn session_by_token_hash<C: GenericClient>(
    c: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<Option<Session>, RepoError> {
    let row = query_opt(
        c,
        "SELECT u.id, u.station_id, u.username, u.role, u.created_at, s.expires_at
         FROM sessions s JOIN users u ON u.id = s.user_id AND u.station_id = s.station_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
           AND u.disabled_at IS NULL",
        &[&token_hash, &now],
    )
    .await?;
    row.map(|r| {
        Ok(Session {
            user: user_from_row(&r)?,
            expires_at: get(&r, 5)?,
            token_hash: token_hash.to_owned(),
        })
    })
    .transpose()
}

#[async_trait]
impl AccountStore for PgRepository {
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError> {
        let mut client = self.client().await?;
        add_user(&mut client, station, user).await
    }

    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError> {
        list_users(&self.client().await?, station).await
    }

    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError> {
        let mut client = self.client().await?;
        disable_user(&mut client, station, username, now).await
    }

    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        user_credentials(&self.client().await?, station, username).await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let mut client = self.client().await?;
        create_session(&mut client, token_hash, user, expires_at).await
    }

    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let mut client = self.client().await?;
        end_session(&mut client, session, now).await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        session_by_token_hash(&self.client().await?, token_hash, now).await
    }
}
