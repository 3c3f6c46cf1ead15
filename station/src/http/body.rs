//! Reading JSON request bodies with clear problems for every way they go wrong.
//!
//! axum's own `Json` extractor answers with plain-text errors; this one checks
//! the Content-Type, the size limit, UTF-8 and JSON syntax in that order and
//! answers each with its own problem, and reports data errors as a JSON Pointer
//! to the field at fault.

use axum::body::to_bytes;
use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde_json::error::Category;

use super::problem::{FieldError, Problem};

/// Body limit for small JSON requests (sign-in, enrolment).
pub const SMALL_BODY_LIMIT: usize = 8 * 1024;

/// A request body that is JSON by Content-Type, within `LIMIT` bytes, and valid
/// UTF-8. Parsing is left to the handler when it wants to refine errors.
#[derive(Debug)]
pub struct JsonText<const LIMIT: usize>(pub String);

/// A JSON body parsed into `T`: syntax errors are 400, data errors 422 with a
/// pointer to the field.
#[derive(Debug)]
pub struct Json<T, const LIMIT: usize = SMALL_BODY_LIMIT>(pub T);

/// Why a JSON text did not become a `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON at all (or truncated): the client sent something broken.
    Syntax(String),
    /// JSON, but a field is missing, of the wrong type or breaks a rule.
    Data(FieldError),
}

impl From<JsonError> for Problem {
    fn from(e: JsonError) -> Self {
        match e {
            JsonError::Syntax(detail) => Problem::malformed_json(detail),
            JsonError::Data(field) => Problem::validation(vec![field]),
        }
    }
}

fn check_content_type(headers: &HeaderMap) -> Result<(), Problem> {
    let expected = "Content-Type must be application/json";
    let value = headers
        .get(CONTENT_TYPE)
        .ok_or_else(|| Problem::unsupported_media_type(format!("{expected}; none was sent")))?
        .to_str()
        .map_err(|_| Problem::unsupported_media_type(expected))?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let is_json = essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"));
    if !is_json {
        return Err(Problem::unsupported_media_type(format!(
            "{expected}, not {essence}"
        )));
    }
    for param in parts {
        if let Some((name, charset)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("charset")
        {
            let charset = charset.trim().trim_matches('"');
            if !charset.eq_ignore_ascii_case("utf-8") {
                return Err(Problem::unsupported_media_type(format!(
                    "JSON must be sent as UTF-8, not {charset}"
                )));
            }
        }
    }
    Ok(())
}

fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

impl<S: Send + Sync, const LIMIT: usize> FromRequest<S> for JsonText<LIMIT> {
    type Rejection = Problem;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Problem> {
        check_content_type(req.headers())?;
        let declared = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > LIMIT as u64) {
            return Err(Problem::payload_too_large(LIMIT));
        }
        let bytes = to_bytes(req.into_body(), LIMIT).await.map_err(|e| {
            if is_length_limit(&e) {
                Problem::payload_too_large(LIMIT)
            } else {
                Problem::bad_request("the request body could not be read completely")
            }
        })?;
        let text = String::from_utf8(bytes.to_vec()).map_err(|e| {
            Problem::invalid_utf8(format!(
                "the body is not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        })?;
        Ok(Self(text))
    }
}

impl<T: DeserializeOwned, S: Send + Sync, const LIMIT: usize> FromRequest<S> for Json<T, LIMIT> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let JsonText(text) = JsonText::<LIMIT>::from_request(req, state).await?;
        Ok(Self(parse_json(&text)?))
    }
}

/// Escapes one JSON Pointer reference token (RFC 6901).
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&escape_token(key));
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(&escape_token(variant));
            }
            Segment::Unknown => {}
        }
    }
    out
}

/// Drops serde_json's " at line L column C" suffix; the pointer says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// Parses `text` as `T`, telling syntax errors from data errors and pointing at
/// the field of a data error. Unknown fields are ignored (serde's default), so
/// newer clients keep working.
pub fn parse_json<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        match inner.classify() {
            // A data error may come before a syntax error further on; broken
            // JSON is reported as broken JSON, whatever else is wrong with it.
            Category::Data => match serde_json::from_str::<serde::de::IgnoredAny>(text) {
                Err(syntax) => JsonError::Syntax(syntax.to_string()),
                Ok(_) => {
                    let message = strip_position(&inner.to_string());
                    let mut pointer = pointer_of(e.path());
                    if let Some(field) = message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.strip_suffix('`'))
                    {
                        pointer.push('/');
                        pointer.push_str(&escape_token(field));
                    }
                    JsonError::Data(FieldError {
                        pointer,
                        detail: message,
                    })
                }
            },
            Category::Io | Category::Syntax | Category::Eof => JsonError::Syntax(inner.to_string()),
        }
    })?;
    de.end().map_err(|e| JsonError::Syntax(e.to_string()))?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        inner: Vec<Inner>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    #[test]
    fn data_errors_point_at_the_field() {
        let err = parse_json::<Outer>(r#"{"inner":[{"n":1},{"n":"x"}]}"#).unwrap_err();
        let JsonError::Data(field) = err else {
            panic!("expected a data error, got {err:?}");
        };
        assert_eq!(field.pointer, "/inner/1/n");
        assert!(!field.detail.contains("line"));
    }

    #[test]
    fn missing_fields_point_at_the_missing_field() {
        let err = parse_json::<Outer>(r#"{"inner":[{}]}"#).unwrap_err();
        assert_eq!(
            err,
            JsonError::Data(FieldError {
                pointer: "/inner/0/n".into(),
                detail: "missing field `n`".into()
            })
        );
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_syntax() {
        assert!(matches!(
            parse_json::<Outer>(r#"{"inner":["#),
            Err(JsonError::Syntax(_))
        ));
        assert!(matches!(
            parse_json::<Outer>(r#"{"inner":[]} x"#),
            Err(JsonError::Syntax(_))
        ));
    }
}
