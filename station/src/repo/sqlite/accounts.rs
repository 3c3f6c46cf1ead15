//! Staff users and their sessions in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::accounts::{credentials_from, session_from, staff_user_from, username_taken};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::{
    AccountStore, NewUser, RepoError, Session, StaffUser, StationId, User, UserCredentials,
    UserDisabled,
};

#[async_trait]
impl AccountStore for SqliteRepository {
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError> {
        let stored = User::new(station, &user, micros(Utc::now()));
        let result = stored.clone();
        self.write_tx(move |tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO users (id, station_id, username, role, password_hash, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (station_id, username) DO NOTHING",
                    params![
                        stored.id.to_string(),
                        station.to_string(),
                        stored.username,
                        stored.role.as_str(),
                        user.password_hash,
                        ts(stored.created_at)
                    ],
                )
                .map_err(map_err)?;
            if inserted == 0 {
                return Err(username_taken(&stored.username));
            }
            feed::log(
                tx,
                station,
                &ActionLog::user_added(&stored),
                stored.created_at,
            )
        })
        .await?;
        Ok(result)
    }

    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        let username = username.to_owned();
        self.read(move |conn| {
            first_row(
                conn,
                "SELECT id, station_id, username, role, created_at, password_hash FROM users
                 WHERE station_id = ?1 AND username = ?2 AND disabled_at IS NULL",
                params![station.to_string(), username],
                |r| credentials_from(r),
            )
        })
        .await
    }

    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                 WHERE station_id = ?1 ORDER BY username",
                [station.to_string()],
                |r| staff_user_from(r),
            )
        })
        .await
    }

    async fn disable_user(
        &self,
        station: StationId,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<UserDisabled, RepoError> {
        let username = username.to_owned();
        self.write_tx(move |tx| {
            let staff = first_row(
                tx,
                "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                 WHERE station_id = ?1 AND username = ?2",
                params![station.to_string(), username],
                |r| staff_user_from(r),
            )?
            .ok_or(RepoError::NotFound("user"))?;
            if let Some(already) = staff.already_disabled() {
                return Ok(already);
            }
            let user_id = staff.user.id.to_string();
            tx.execute(
                "UPDATE users SET disabled_at = ?1 WHERE station_id = ?2 AND id = ?3",
                params![ts(now), station.to_string(), user_id],
            )
            .map_err(map_err)?;
            let sessions_ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE station_id = ?2 AND user_id = ?3 AND revoked_at IS NULL
                       AND expires_at > ?1",
                    params![ts(now), station.to_string(), user_id],
                )
                .map_err(map_err)? as u64;
            let log = ActionLog::user_disabled(&staff.user, now, sessions_ended);
            feed::log(tx, station, &log, now)?;
            Ok(UserDisabled {
                user: staff.user,
                newly: true,
                sessions_ended,
            })
        })
        .await
    }

    async fn create_session(
        &self,
        token_hash: &str,
        user: &User,
        expires_at: DateTime<Utc>,
    ) -> Result<(), RepoError> {
        let token_hash = token_hash.to_owned();
        let user = user.clone();
        self.write_tx(move |tx| {
            let now = Utc::now();
            tx.execute(
                "INSERT INTO sessions (token_hash, station_id, user_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    token_hash,
                    user.station_id.to_string(),
                    user.id.to_string(),
                    ts(now),
                    ts(expires_at)
                ],
            )
            .map_err(map_err)?;
            let log = ActionLog::session_created(&user, expires_at);
            feed::log(tx, user.station_id, &log, now)
        })
        .await
    }

    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let session = session.clone();
        self.write_tx(move |tx| {
            let station = session.user.station_id;
            let ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE token_hash = ?2 AND station_id = ?3 AND revoked_at IS NULL",
                    params![ts(now), session.token_hash, station.to_string()],
                )
                .map_err(map_err)?
                > 0;
            if ended {
                feed::log(tx, station, &ActionLog::session_ended(&session, now), now)?;
            }
            Ok(ended)
        })
        .await
    }

    async fn touch_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<(), RepoError> {
        let token_hash = token_hash.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE sessions SET last_seen_at = ?2 WHERE token_hash = ?1 AND revoked_at IS NULL",
                params![token_hash, ts(now)],
            )
            .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, RepoError> {
        let token_hash = token_hash.to_owned();
        self.read(move |conn| {
            first_row(
                conn,
                "SELECT u.id, u.station_id, u.username, u.role, u.created_at, s.expires_at,
                        coalesce(s.last_seen_at, s.created_at)
                 FROM sessions s JOIN users u ON u.id = s.user_id AND u.station_id = s.station_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
                   AND u.disabled_at IS NULL",
                params![token_hash, ts(now)],
                |r| session_from(r, &token_hash),
            )
        })
        .await
    }
}
