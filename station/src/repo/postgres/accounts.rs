//! Stations, categories, staff users and sessions, enrolment codes and devices
//! in PostgreSQL.

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object};
use postcso_model::{CategoryCode, CategoryInfo, CategoryList};
use tokio_postgres::Row;
use uuid::Uuid;

use super::feed::{self, AuditRecord};
use super::{execute, get, map_err, micros, query, query_one, query_opt, to_u64};
use crate::auth::Role;
use crate::repo::{
    Actor, Device, NewEnrolmentCode, NewUser, RedeemOutcome, RepoError, Session, StaffUser,
    Station, StationId, User, UserCredentials, UserDisabled,
};

fn station_from_row(r: &Row) -> Result<Station, RepoError> {
    Ok(Station {
        id: StationId(get(r, 0)?),
        slug: get(r, 1)?,
        name: get(r, 2)?,
        created_at: get(r, 3)?,
    })
}

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

/// `id, station_id, label, enrolled_at, revoked_at`
fn device_from_row(r: &Row) -> Result<Device, RepoError> {
    Ok(Device {
        id: get(r, 0)?,
        station_id: StationId(get(r, 1)?),
        label: get(r, 2)?,
        enrolled_at: get(r, 3)?,
        revoked_at: get(r, 4)?,
    })
}

/// Creates a station with its counters, categories and first feed entry.
pub(super) async fn create_station(
    client: &mut Object,
    slug: &str,
    name: &str,
) -> Result<Station, RepoError> {
    let station = Station {
        id: StationId(Uuid::now_v7()),
        slug: slug.to_owned(),
        name: name.to_owned(),
        created_at: micros(Utc::now()),
    };
    let tx = client.transaction().await.map_err(map_err)?;
    let inserted = execute(
        &tx,
        "INSERT INTO stations (id, slug, name, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (slug) DO NOTHING",
        &[
            &station.id.0,
            &station.slug,
            &station.name,
            &station.created_at,
        ],
    )
    .await?;
    if inserted == 0 {
        return Err(RepoError::Conflict(format!(
            "a station with slug `{}` already exists",
            station.slug
        )));
    }
    execute(
        &tx,
        "INSERT INTO station_counters (station_id) VALUES ($1)",
        &[&station.id.0],
    )
    .await?;
    let list = CategoryList::default();
    for (position, info) in list.entries().iter().enumerate() {
        execute(
            &tx,
            "INSERT INTO categories (station_id, code, position, name_ko, name_en, guidance, retired)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &station.id.0,
                &info.code.as_str(),
                &(position as i32),
                &info.name_ko,
                &info.name_en,
                &info.guidance,
                &info.retired,
            ],
        )
        .await?;
    }
    feed::append_categories(&tx, station.id, &list, station.created_at).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(station)
}

pub(super) async fn station_by_slug<C: GenericClient>(
    c: &C,
    slug: &str,
) -> Result<Option<Station>, RepoError> {
    query_opt(
        c,
        "SELECT id, slug, name, created_at FROM stations WHERE slug = $1",
        &[&slug],
    )
    .await?
    .as_ref()
    .map(station_from_row)
    .transpose()
}

pub(super) async fn list_stations<C: GenericClient>(c: &C) -> Result<Vec<Station>, RepoError> {
    query(
        c,
        "SELECT id, slug, name, created_at FROM stations ORDER BY slug",
        &[],
    )
    .await?
    .iter()
    .map(station_from_row)
    .collect()
}

pub(super) async fn categories<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<CategoryList, RepoError> {
    let rows = query(
        c,
        "SELECT code, name_ko, name_en, guidance, retired FROM categories
         WHERE station_id = $1 ORDER BY position",
        &[&station.0],
    )
    .await?;
    let entries = rows
        .iter()
        .map(|r| {
            let code: String = get(r, 0)?;
            Ok(CategoryInfo {
                code: CategoryCode::parse(&code)
                    .map_err(|e| RepoError::Storage(format!("bad category code: {e}")))?,
                name_ko: get(r, 1)?,
                name_en: get(r, 2)?,
                guidance: get(r, 3)?,
                retired: get(r, 4)?,
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(CategoryList::new(entries))
}

pub(super) async fn add_user(
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

pub(super) async fn user_credentials<C: GenericClient>(
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

/// `id, station_id, username, role, created_at, disabled_at`
fn staff_user_from_row(r: &Row) -> Result<StaffUser, RepoError> {
    Ok(StaffUser {
        user: user_from_row(r)?,
        disabled_at: get(r, 5)?,
    })
}

pub(super) async fn list_users<C: GenericClient>(
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

pub(super) async fn disable_user(
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

pub(super) async fn create_session(
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

pub(super) async fn end_session(
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

pub(super) async fn session_by_token_hash<C: GenericClient>(
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

pub(super) async fn count_enrolment_codes<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<u64, RepoError> {
    let row = query_one(
        c,
        "SELECT count(*) FROM enrolment_codes WHERE station_id = $1",
        &[&station.0],
    )
    .await?;
    Ok(to_u64(get(&row, 0)?))
}

pub(super) async fn add_enrolment_codes(
    client: &mut Object,
    station: StationId,
    codes: Vec<NewEnrolmentCode>,
) -> Result<(), RepoError> {
    let tx = client.transaction().await.map_err(map_err)?;
    let now = micros(Utc::now());
    for code in &codes {
        execute(
            &tx,
            "INSERT INTO enrolment_codes (code_hash, station_id, label, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &code.code_hash,
                &station.0,
                &code.label,
                &now,
                &code.expires_at,
            ],
        )
        .await
        .map_err(|e| match e {
            RepoError::Conflict(_) => RepoError::Conflict(format!(
                "enrolment code label `{}` already exists in this station",
                code.label
            )),
            other => other,
        })?;
        feed::append_audit(
            &tx,
            station,
            &Actor::console(),
            AuditRecord::code_created(&code.label, code.expires_at),
            now,
        )
        .await?;
    }
    tx.commit().await.map_err(map_err)
}

pub(super) async fn redeem_enrolment_code(
    client: &mut Object,
    code_hash: &str,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<RedeemOutcome, RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    // FOR UPDATE: two phones redeeming the same code queue here, and the
    // second sees it redeemed.
    let found = query_opt(
        &tx,
        "SELECT station_id, label, expires_at, redeemed_at FROM enrolment_codes
         WHERE code_hash = $1 FOR UPDATE",
        &[&code_hash],
    )
    .await?;
    let Some(found) = found else {
        return Ok(RedeemOutcome::Unknown);
    };
    let station_id: Uuid = get(&found, 0)?;
    let label: String = get(&found, 1)?;
    let expires_at: DateTime<Utc> = get(&found, 2)?;
    let redeemed_at: Option<DateTime<Utc>> = get(&found, 3)?;
    if redeemed_at.is_some() {
        return Ok(RedeemOutcome::AlreadyUsed);
    }
    if expires_at <= now {
        return Ok(RedeemOutcome::Expired);
    }
    let device = Device {
        id: Uuid::now_v7(),
        station_id: StationId(station_id),
        label,
        enrolled_at: now,
        revoked_at: None,
    };
    execute(
        &tx,
        "INSERT INTO devices (id, station_id, label, token_hash, enrolled_at)
         VALUES ($1, $2, $3, $4, $5)",
        &[&device.id, &station_id, &device.label, &token_hash, &now],
    )
    .await?;
    execute(
        &tx,
        "UPDATE enrolment_codes SET redeemed_at = $1, device_id = $2 WHERE code_hash = $3",
        &[&now, &device.id, &code_hash],
    )
    .await?;
    let station = station_from_row(
        &query_one(
            &tx,
            "SELECT id, slug, name, created_at FROM stations WHERE id = $1",
            &[&station_id],
        )
        .await?,
    )?;
    feed::append_audit(
        &tx,
        station.id,
        &Actor::device(device.id),
        AuditRecord::code_redeemed(device.id, &device.label),
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    Ok(RedeemOutcome::Enrolled(device, station))
}

pub(super) async fn device_by_token_hash<C: GenericClient>(
    c: &C,
    token_hash: &str,
) -> Result<Option<Device>, RepoError> {
    query_opt(
        c,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices WHERE token_hash = $1",
        &[&token_hash],
    )
    .await?
    .as_ref()
    .map(device_from_row)
    .transpose()
}

pub(super) async fn list_devices<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<Vec<Device>, RepoError> {
    query(
        c,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
         WHERE station_id = $1 ORDER BY label, enrolled_at",
        &[&station.0],
    )
    .await?
    .iter()
    .map(device_from_row)
    .collect()
}

pub(super) async fn revoke_device(
    client: &mut Object,
    station: StationId,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(Device, bool), RepoError> {
    let now = micros(now);
    let tx = client.transaction().await.map_err(map_err)?;
    // The key is an id or a label: compare the id as text so a label that is
    // not a UUID cannot make the query fail.
    let matches = query(
        &tx,
        "SELECT id, station_id, label, enrolled_at, revoked_at FROM devices
         WHERE station_id = $1 AND (id::text = $2 OR label = $2) FOR UPDATE",
        &[&station.0, &key],
    )
    .await?
    .iter()
    .map(device_from_row)
    .collect::<Result<Vec<_>, _>>()?;
    let mut device = match matches.as_slice() {
        [] => return Err(RepoError::NotFound("device")),
        [one] => one.clone(),
        _ => {
            return Err(RepoError::Conflict(format!(
                "{} devices match `{key}`; revoke by device id",
                matches.len()
            )));
        }
    };
    if device.revoked_at.is_some() {
        return Ok((device, false));
    }
    execute(
        &tx,
        "UPDATE devices SET revoked_at = $1 WHERE station_id = $2 AND id = $3",
        &[&now, &station.0, &device.id],
    )
    .await?;
    feed::append_audit(
        &tx,
        station,
        &Actor::console(),
        AuditRecord::device_revoked(device.id, &device.label, now),
        now,
    )
    .await?;
    tx.commit().await.map_err(map_err)?;
    device.revoked_at = Some(now);
    Ok((device, true))
}
