//! Cross-site request forgery: every console form that changes state carries
//! a per-session token, and the request's `Origin` must be the station's own.
//!
//! The token is derived from the session (a SHA-256 of its token hash under a
//! fixed label), so nothing extra is stored: it lives exactly as long as the
//! session, another session's token never fits, and it reveals nothing of the
//! session cookie (HttpOnly), which a forger would need to compute it. The
//! session cookie is also `SameSite=Strict`: the token and the origin check
//! are the two independent layers the brief asks for on top of that.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use sha2::{Digest, Sha256};

use crate::repo::Session;

/// The form field that carries the token.
pub const FIELD: &str = "csrf";

/// Why a state change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// No `Origin`, or one that is not this station.
    #[error("the request does not come from the station's own pages")]
    Origin,
    /// The form's token is missing or not this session's.
    #[error("the form's token is not this session's")]
    Token,
}

/// The session's token, for its forms.
pub fn token(session: &Session) -> String {
    token_for(&session.token_hash)
}

fn token_for(session_token_hash: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"postcso-console-csrf\0");
    h.update(session_token_hash.as_bytes());
    hex::encode(h.finalize())
}

/// Checks a state-changing request of `session`: origin, then token.
pub fn check(headers: &HeaderMap, session: &Session, sent: &str) -> Result<(), CsrfError> {
    check_origin(headers)?;
    let expected = token(session);
    // Constant time: the comparison must not say how much of a guess is right.
    let same = expected.len() == sent.len()
        && expected
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same { Ok(()) } else { Err(CsrfError::Token) }
}

/// The `Origin` check alone, for state changes before sign-in (the sign-in
/// form itself, the language switch): the origin's host and port must be the
/// `Host` the request was sent to. The scheme is not compared, because a
/// TLS-terminating proxy in front of the station speaks plain HTTP to it.
///
/// The console's `Referrer-Policy: no-referrer` makes browsers send
/// `Origin: null` on its own form posts; for those, the Fetch Metadata header
/// `Sec-Fetch-Site: same-origin` (which no page can set) stands for the
/// origin. A request with neither a matching origin nor that header is refused.
pub fn check_origin(headers: &HeaderMap) -> Result<(), CsrfError> {
    let origin = headers.get(ORIGIN).and_then(|v| v.to_str().ok());
    let same_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("same-origin"));
    let origin = match origin {
        Some("null") | None if same_site => return Ok(()),
        Some(origin) => origin,
        None => return Err(CsrfError::Origin),
    };
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or(CsrfError::Origin)?;
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
        .ok_or(CsrfError::Origin)?;
    if origin_host.eq_ignore_ascii_case(host.trim()) {
        Ok(())
    } else {
        Err(CsrfError::Origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use chrono::Utc;

    fn session(hash: &str) -> Session {
        Session {
            user: crate::repo::User {
                id: uuid::Uuid::nil(),
                station_id: crate::repo::StationId(uuid::Uuid::nil()),
                username: "kim".into(),
                role: crate::auth::Role::Supervisor,
                created_at: Utc::now(),
            },
            expires_at: Utc::now(),
            token_hash: hash.into(),
            last_seen_at: Utc::now(),
        }
    }

    fn headers(origin: Option<&'static str>, host: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(HOST, HeaderValue::from_static(host));
        if let Some(origin) = origin {
            h.insert(ORIGIN, HeaderValue::from_static(origin));
        }
        h
    }

    #[test]
    fn the_token_is_the_sessions_and_the_origin_the_stations() {
        let kim = session("hash-1");
        let other = session("hash-2");
        let same = headers(Some("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(check(&same, &kim, &token(&kim)), Ok(()));
        assert_eq!(check(&same, &kim, &token(&other)), Err(CsrfError::Token));
        assert_eq!(check(&same, &kim, ""), Err(CsrfError::Token));
        let proxied = headers(Some("https://station.example"), "station.example");
        assert_eq!(check(&proxied, &kim, &token(&kim)), Ok(()));
        // no-referrer: the browser sends `Origin: null` and Fetch Metadata.
        let mut null = headers(Some("null"), "127.0.0.1:8080");
        null.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert_eq!(check(&null, &kim, &token(&kim)), Ok(()));
        null.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert_eq!(check(&null, &kim, &token(&kim)), Err(CsrfError::Origin));
        let mut evil = headers(Some("https://evil.example"), "127.0.0.1:8080");
        evil.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert_eq!(
            check(&evil, &kim, &token(&kim)),
            Err(CsrfError::Origin),
            "a real origin decides"
        );
        for bad in [
            headers(Some("https://evil.example"), "station.example"),
            headers(Some("http://127.0.0.1:9999"), "127.0.0.1:8080"),
            headers(Some("null"), "127.0.0.1:8080"),
            headers(None, "127.0.0.1:8080"),
        ] {
            assert_eq!(check(&bad, &kim, &token(&kim)), Err(CsrfError::Origin));
        }
        assert_ne!(token(&kim), "hash-1");
        assert_eq!(token(&kim).len(), 64);
    }
}
