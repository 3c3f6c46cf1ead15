//! A report's version on the wire: the `ETag` a read carries and the
//! `If-Match` a decision sends back, so a decision made on a stale read is
//! refused (412) instead of silently overwriting what someone else decided.
//!
//! The entity tag is strong (`"v7"`): `If-Match` compares strongly (RFC 9110
//! §13.1.1), and a weak tag would never match.

use axum::http::header::IF_MATCH;
use axum::http::{HeaderMap, HeaderValue};

use super::problem::Problem;

/// The `ETag` of version `version` of a report.
pub fn etag(version: u64) -> HeaderValue {
    // Digits and quotes only: always a valid header value.
    HeaderValue::from_str(&format!("\"v{version}\"")).unwrap_or(HeaderValue::from_static("\"v0\""))
}

/// The version an entity tag names, if it is one of ours (`"v<n>"`).
pub fn parse_etag(tag: &str) -> Option<u64> {
    let inner = tag.trim().strip_prefix('"')?.strip_suffix('"')?;
    inner.strip_prefix('v')?.parse().ok()
}

/// What `If-Match` asks for: `None` when absent or `*` (the report only has
/// to exist, which a decision checks anyway); `Some(v)` for one of our tags.
/// A list of several tags, a weak tag or a tag that is not ours can never
/// name the current version, so it is answered with 412 right away.
pub fn if_match(headers: &HeaderMap) -> Result<Option<u64>, Problem> {
    let Some(value) = headers.get(IF_MATCH) else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| Problem::bad_request("If-Match is not valid text"))?
        .trim();
    if text == "*" {
        return Ok(None);
    }
    let tags: Vec<&str> = text.split(',').map(str::trim).collect();
    match tags.as_slice() {
        [one] => parse_etag(one).map(Some).ok_or_else(|| {
            Problem::stale_unknown("If-Match names no version of this report; read it again")
        }),
        _ => Err(Problem::stale_unknown(
            "send the one ETag of the report you decided on in If-Match",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(IF_MATCH, HeaderValue::from_str(value).expect("value"));
        h
    }

    #[test]
    fn tags_round_trip_and_if_match_reads_them() {
        assert_eq!(etag(7), "\"v7\"");
        assert_eq!(parse_etag("\"v7\""), Some(7));
        assert_eq!(parse_etag("W/\"v7\""), None, "weak tags never match");
        assert_eq!(if_match(&HeaderMap::new()).expect("absent"), None);
        assert_eq!(if_match(&headers("*")).expect("star"), None);
        assert_eq!(if_match(&headers("\"v3\"")).expect("one"), Some(3));
        for bad in ["\"v3\", \"v4\"", "W/\"v3\"", "\"abc\"", "v3"] {
            let refused = if_match(&headers(bad)).expect_err(bad);
            assert_eq!(refused.status, 412, "{bad}");
        }
    }
}
