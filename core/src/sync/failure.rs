//! Sorting what went wrong into the three things the engine can do about it:
//! wait and retry, give up on this report, or stop and ask for re-enrolment.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};

use super::backoff::parse_retry_after;
use crate::model::ProblemType;

/// Longest server message kept on a refused report.
const MAX_MESSAGE_CHARS: usize = 500;

/// Why an exchange with the station did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Network trouble, a timeout, 5xx or 429: the same request may succeed later.
    Transient {
        /// Short, non-personal description for logs and events.
        reason: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The station refused this report for good (a 4xx other than 401/403/408/429).
    Permanent {
        /// HTTP status.
        status: u16,
        /// The kind of problem the station named (`type`), when it sent one this
        /// build knows: for logs, which may not carry the message itself.
        problem: Option<ProblemType>,
        /// The station's explanation, from its problem+json.
        message: String,
    },
    /// The device credential is missing, wrong or revoked: stop and re-enrol.
    Unauthorized,
}

impl Failure {
    /// Classifies a transport error: every one of them is transient.
    pub fn from_transport(e: &reqwest::Error) -> Self {
        let reason = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else if e.is_body() || e.is_request() {
            "connection lost mid-request"
        } else if e.is_decode() {
            "unreadable response"
        } else {
            "network error"
        };
        Self::Transient {
            reason: reason.to_owned(),
            retry_after: None,
        }
    }

    /// Classifies a non-success response. `body` is the response body, read with a
    /// size bound, used only for the message of a permanent refusal.
    pub fn from_response(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> Self {
        match status.as_u16() {
            401 | 403 => Self::Unauthorized,
            408 | 425 | 429 | 500..=599 => Self::Transient {
                reason: format!("station answered {}", status.as_u16()),
                retry_after: retry_after(headers),
            },
            code => {
                let (problem, message) = read_problem(status, body);
                Self::Permanent {
                    status: code,
                    problem,
                    message,
                }
            }
        }
    }
}

/// The `Retry-After` delay, judged against the response's `Date` header.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    let date = headers.get(DATE).and_then(|d| d.to_str().ok());
    parse_retry_after(value, date)
}

/// The kind an RFC 9457 problem document names in its `type` member, and a
/// readable message naming the fields at fault; one parse of the body.
fn read_problem(status: StatusCode, body: &[u8]) -> (Option<ProblemType>, String) {
    #[derive(serde::Deserialize)]
    struct FieldError {
        pointer: Option<String>,
        detail: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct Problem {
        #[serde(rename = "type")]
        type_uri: Option<String>,
        title: Option<String>,
        detail: Option<String>,
        #[serde(default)]
        errors: Vec<FieldError>,
    }
    let (kind, mut message) = match serde_json::from_slice::<Problem>(body) {
        Ok(p) => {
            let kind = p.type_uri.as_deref().and_then(ProblemType::from_uri);
            let mut parts: Vec<String> = p.detail.or(p.title).into_iter().collect();
            parts.extend(p.errors.into_iter().map(|e| {
                format!(
                    "{}: {}",
                    e.pointer.unwrap_or_else(|| "/".to_owned()),
                    e.detail.unwrap_or_default()
                )
            }));
            (kind, parts.join("; "))
        }
        Err(_) => (None, String::new()),
    };
    if message.is_empty() {
        message = format!("the station refused the report ({status})");
    }
    if message.chars().count() > MAX_MESSAGE_CHARS {
        message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "…";
    }
    (kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn statuses_fall_into_the_right_class() {
        let h = HeaderMap::new();
        for code in [500u16, 502, 503, 504, 429, 408] {
            let f = Failure::from_response(StatusCode::from_u16(code).unwrap(), &h, b"");
            assert!(matches!(f, Failure::Transient { .. }), "{code}");
        }
        for code in [401u16, 403] {
            let f = Failure::from_response(StatusCode::from_u16(code).unwrap(), &h, b"");
            assert_eq!(f, Failure::Unauthorized, "{code}");
        }
        for code in [400u16, 404, 409, 413, 415, 422] {
            let f = Failure::from_response(StatusCode::from_u16(code).unwrap(), &h, b"");
            assert!(
                matches!(f, Failure::Permanent { status, .. } if status == code),
                "{code}"
            );
        }
    }

    #[test]
    fn transient_failures_carry_retry_after() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("17"));
        let f = Failure::from_response(StatusCode::SERVICE_UNAVAILABLE, &h, b"");
        assert_eq!(
            f,
            Failure::Transient {
                reason: "station answered 503".into(),
                retry_after: Some(Duration::from_secs(17))
            }
        );
    }

    #[test]
    fn permanent_refusals_keep_the_problem_kind_detail_and_field_pointers() {
        let body = format!(
            r#"{{"type":"{}","title":"Invalid report","status":422,
            "detail":"the report is invalid","errors":[{{"pointer":"/location/lat","detail":"lat is out of range"}}]}}"#,
            ProblemType::Validation.uri()
        );
        let f = Failure::from_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            &HeaderMap::new(),
            body.as_bytes(),
        );
        let Failure::Permanent {
            message, problem, ..
        } = f
        else {
            panic!("{f:?}")
        };
        assert_eq!(problem, Some(ProblemType::Validation));
        assert_eq!(
            message,
            "the report is invalid; /location/lat: lat is out of range"
        );
        let f = Failure::from_response(StatusCode::CONFLICT, &HeaderMap::new(), b"<html>");
        assert!(matches!(
            f,
            Failure::Permanent { message, problem: None, .. } if message.contains("409")
        ));
    }
}
