//! Request extractors that authenticate the caller.
//!
//! A device sends its credential as `Authorization: Bearer pcd_…`; staff send
//! their session token as `Bearer pcs_…` (tablet app) or in the HttpOnly
//! session cookie (browser). Failures are 401 problems; a valid caller of the
//! wrong kind for an endpoint is 403.

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use chrono::Utc;

use super::Role;
use super::tokens::{DEVICE_TOKEN_PREFIX, SESSION_TOKEN_PREFIX, hash_secret};
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::repo::{Actor, Device, Session, StationId};

/// Name of the staff session cookie.
pub const SESSION_COOKIE: &str = "postcso_session";

/// Any authenticated caller: an enrolled device or a signed-in staff member.
#[derive(Debug, Clone)]
pub enum Caller {
    /// An enrolled, unrevoked phone; always acts as a carrier.
    Device(Device),
    /// A staff session.
    Staff(Session),
}

impl Caller {
    /// The station the caller belongs to; every query it makes is scoped to it.
    pub fn station_id(&self) -> StationId {
        match self {
            Self::Device(d) => d.station_id,
            Self::Staff(s) => s.user.station_id,
        }
    }

    /// The caller's role within its station.
    pub fn role(&self) -> Role {
        match self {
            Self::Device(_) => Role::Carrier,
            Self::Staff(s) => s.user.role,
        }
    }

    /// The caller as the audit log records it.
    pub fn actor(&self) -> Actor {
        match self {
            Self::Device(d) => Actor::device(d.id),
            Self::Staff(s) => Actor {
                role: s.user.role,
                user_id: Some(s.user.id),
                username: Some(s.user.username.clone()),
                device_id: None,
            },
        }
    }
}

/// A caller that must be an enrolled device (report intake).
#[derive(Debug, Clone)]
pub struct DeviceCaller(pub Device);

/// A caller that must be a signed-in staff member.
#[derive(Debug, Clone)]
pub struct StaffCaller(pub Session);

fn bearer(parts: &Parts) -> Result<Option<&str>, Problem> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| Problem::unauthorized("the Authorization header is not valid text"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim())),
        _ => Err(Problem::unauthorized(
            "the Authorization header must use the Bearer scheme",
        )),
    }
}

fn session_cookie(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, Problem> {
    let token = match bearer(parts)? {
        Some(token) => token,
        None => session_cookie(parts)
            .ok_or_else(|| Problem::unauthorized("this endpoint needs a bearer token"))?,
    };
    if token.starts_with(DEVICE_TOKEN_PREFIX) {
        let device = state
            .repo
            .device_by_token_hash(&hash_secret(token))
            .await?
            .ok_or_else(|| Problem::unauthorized("the device credential is not valid"))?;
        if device.revoked_at.is_some() {
            return Err(Problem::unauthorized(
                "this device has been revoked; enrol it again with a new code",
            ));
        }
        Ok(Caller::Device(device))
    } else if token.starts_with(SESSION_TOKEN_PREFIX) {
        let now = Utc::now();
        let session = state
            .repo
            .session_by_token_hash(&hash_secret(token), now)
            .await?
            .ok_or_else(|| Problem::unauthorized("the session is not valid or has expired"))?;
        if session.idle_too_long(now, state.config.session_idle_timeout) {
            return Err(Problem::unauthorized(
                "the session was unused for too long; sign in again",
            ));
        }
        if session.needs_touch(now) {
            state.repo.touch_session(&session.token_hash, now).await?;
        }
        Ok(Caller::Staff(session))
    } else {
        Err(Problem::unauthorized(
            "the token is not a POST-CSO credential",
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        authenticate(parts, state).await
    }
}

impl FromRequestParts<AppState> for DeviceCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match authenticate(parts, state).await? {
            Caller::Device(device) => Ok(Self(device)),
            Caller::Staff(_) => Err(Problem::forbidden(
                "this endpoint is for enrolled devices; staff sessions cannot use it",
            )),
        }
    }
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Problem> {
        match authenticate(parts, state).await? {
            Caller::Staff(session) => Ok(Self(session)),
            Caller::Device(_) => Err(Problem::forbidden(
                "this endpoint is for signed-in staff; device credentials cannot use it",
            )),
        }
    }
}
