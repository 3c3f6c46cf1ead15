//! Staff users and their sessions in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::rows::{self, conversion, get_opt_ts, get_ts, get_uuid, ts};
use super::{SqliteRepository, map_err};
use crate::auth::Role;
use crate::repo::{
    AccountStore, Actor, NewUser, RepoError, Session, StaffUser, StationId, User, UserCredentials,
    UserDisabled,
};

/// `id, station_id, username, role, created_at`
fn user_from_row(row: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = row.get(3)?;
    let role = Role::parse(&role).ok_or_else(|| {
        conversion(
            3,
            std::io::Error::new(std::io::ErrorKind::InvalidData, "unknown role"),
        )
    })?;
    Ok(User {
        id: get_uuid(row, 0)?,
        station_id: StationId(get_uuid(row, 1)?),
        username: row.get(2)?,
        role,
        created_at: get_ts(row, 4)?,
    })
}

/// `id, station_id, username, role, created_at, disabled_at`
fn staff_user_from_row(row: &Row<'_>) -> rusqlite::Result<StaffUser> {
    Ok(StaffUser {
        user: user_from_row(row)?,
        disabled_at: get_opt_ts(row, 5)?,
    })
}

#[async_trait]
impl AccountStore for SqliteRepository {
    async fn add_user(&self, station: StationId, user: NewUser) -> Result<User, RepoError> {
        let stored = User {
            id: Uuid::now_v7(),
            station_id: station,
            username: user.username,
            role: user.role,
            created_at: Utc::now(),
        };
        let result = stored.clone();
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
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
            )?;
            tx.commit().map_err(map_err)
        })
        .await?;
        Ok(result)
    }

    async fn list_users(&self, station: StationId) -> Result<Vec<StaffUser>, RepoError> {
        self.read(move |conn| {
            conn.prepare_cached(
                "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                 WHERE station_id = ?1 ORDER BY username",
            )
            .and_then(|mut stmt| {
                stmt.query_map([station.to_string()], staff_user_from_row)?
                    .collect()
            })
            .map_err(map_err)
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
            let staff = tx
                .query_row(
                    "SELECT id, station_id, username, role, created_at, disabled_at FROM users
                     WHERE station_id = ?1 AND username = ?2",
                    params![station.to_string(), username],
                    staff_user_from_row,
                )
                .optional()
                .map_err(map_err)?
                .ok_or(RepoError::NotFound("user"))?;
            if staff.disabled_at.is_some() {
                return Ok(UserDisabled {
                    user: staff.user,
                    newly: false,
                    sessions_ended: 0,
                });
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
            feed::append_audit(
                tx,
                station,
                &Actor::console(),
                AuditRecord::user_disabled(
                    staff.user.id,
                    &staff.user.username,
                    now,
                    sessions_ended,
                ),
                now,
            )?;
            Ok(UserDisabled {
                user: staff.user,
                newly: true,
                sessions_ended,
            })
        })
        .await
    }

    async fn user_credentials(
        &self,
        station: StationId,
        username: &str,
    ) -> Result<Option<UserCredentials>, RepoError> {
        let username = username.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, station_id, username, role, created_at, password_hash FROM users
                 WHERE station_id = ?1 AND username = ?2 AND disabled_at IS NULL",
                params![station.to_string(), username],
                |r| {
                    Ok(UserCredentials {
                        user: user_from_row(r)?,
                        password_hash: r.get(5)?,
                    })
                },
            )
            .optional()
            .map_err(map_err)
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
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_err)?;
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
            feed::append_audit(
                &tx,
                user.station_id,
                &Actor::user(&user),
                AuditRecord::session_created(user.id, expires_at),
                now,
            )?;
            tx.commit().map_err(map_err)
        })
        .await
    }

    async fn end_session(&self, session: &Session, now: DateTime<Utc>) -> Result<bool, RepoError> {
        let session = session.clone();
        self.write_tx(move |tx| {
            let ended = tx
                .execute(
                    "UPDATE sessions SET revoked_at = ?1
                     WHERE token_hash = ?2 AND station_id = ?3 AND revoked_at IS NULL",
                    params![
                        ts(now),
                        session.token_hash,
                        session.user.station_id.to_string()
                    ],
                )
                .map_err(map_err)?
                > 0;
            if ended {
                feed::append_audit(
                    tx,
                    session.user.station_id,
                    &Actor::user(&session.user),
                    AuditRecord::session_ended(session.user.id, session.expires_at, now),
                    now,
                )?;
            }
            Ok(ended)
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
            conn.query_row(
                "SELECT u.id, u.station_id, u.username, u.role, u.created_at, s.expires_at
                 FROM sessions s JOIN users u ON u.id = s.user_id AND u.station_id = s.station_id
                 WHERE s.token_hash = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
                   AND u.disabled_at IS NULL",
                params![token_hash, ts(now)],
                |r| {
                    Ok(Session {
                        user: user_from_row(r)?,
                        expires_at: rows::get_ts(r, 5)?,
                        token_hash: token_hash.clone(),
                    })
                },
            )
            .optional()
            .map_err(map_err)
        })
        .await
    }
}
