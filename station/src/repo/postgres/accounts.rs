//! Staff users and their sessions in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};

use super::{PgRepository, execute, feed, map_err, query, query_opt};
use crate::repo::accounts::{credentials_from, session_from, staff_user_from, username_taken};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::{
    AccountStore, NewUser, RepoError, Session, StaffUser, StationId, User, UserCredentials,
    UserDisabled,
};

/// Adds a user with its audit row, in one transaction.
async fn add_user(
    client: &mut Object,
    station: StationId,
    user: NewUser,
) -> Result<User, RepoError> {
    let stored = User::new(station, &user, micros(Utc::now()));
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
        return Err(username_taken(&stored.username));
    }
    feed::log(
        &tx,
        station,
        &ActionLog::user_added(&stored),
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
    query_opt(
        c,
        "SELECT id, station_id, username, role, created_at, password_hash FROM users
         WHERE station_id = $1 AND username = $2 AND disabled_at IS NULL",
        &[&station.0, &username],
    )
    .await?
    .as_ref()
    .map(credentials_from)
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
    .map(staff_user_from)
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
    .map(staff_user_from)
    .transpose()?
    .ok_or(RepoError::NotFound("user"))?;
    if let Some(already) = staff.already_disabled() {
        return Ok(already);
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
    let log = ActionLog::user_disabled(&staff.user, now, sessions_ended);
    feed::log(&tx, station, &log, now).await?;
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
    let log = ActionLog::session_created(user, expires_at);
    feed::log(&tx, user.station_id, &log, now).await?;
    tx.commit().await.map_err(map_err)
}

/// Ends a live session, with its audit row when it was live.
async fn end_session(
    client: &mut Object,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<bool, RepoError> {
    let now = micros(now);
    let station = session.user.station_id;
    let tx = client.transaction().await.map_err(map_err)?;
    let ended = execute(
        &tx,
        "UPDATE sessions SET revoked_at = $1
         WHERE token_hash = $2 AND station_id = $3 AND revoked_at IS NULL",
        &[&now, &session.token_hash, &station.0],
    )
    .await?
        > 0;
    if ended {
        feed::log(&tx, station, &ActionLog::session_ended(session, now), now).await?;
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
    query_opt(
        c,
        "SELECT u.id, u.station_id, u.username, u.role, u.created_at, s.expires_at,
                coalesce(s.last_seen_at, s.created_at)
         FROM sessions s JOIN users u ON u.id = s.user_id AND u.station_id = s.station_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2
           AND u.disabled_at IS NULL",
        &[&token_hash, &now],
    )
    .await?
    .map(|r| session_from(&r, token_hash))
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

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        execute(
            &self.client().await?,
            "UPDATE sessions SET last_seen_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash, &micros(now)],
        )
        .await?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        session_by_token_hash(&self.client().await?, token_hash, now).await
    }
}
