//! `Upload-Metadata`: comma-separated `key base64(value)` pairs (tus 1.0.0).
//! The station needs `report_id` and `sha256`; other keys are ignored.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use postcso_model::ReportId;

/// What a photo upload says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoMetadata {
    /// The report whose manifest lists the photo.
    pub report_id: ReportId,
    /// The photo's SHA-256, 64 lowercase hex digits.
    pub sha256: String,
}

/// Why the metadata is unusable (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// Not a list of `key base64` pairs.
    #[error("Upload-Metadata must be comma-separated `key base64value` pairs")]
    Malformed,
    /// A key appears twice.
    #[error("Upload-Metadata repeats the key `{0}`")]
    Duplicate(String),
    /// A required key is missing.
    #[error("Upload-Metadata needs `{0}`")]
    Missing(&'static str),
    /// `report_id` is not a UUID.
    #[error("report_id must be the report's UUID")]
    BadReportId,
    /// `sha256` is not 64 lowercase hex digits.
    #[error("sha256 must be 64 lowercase hex digits")]
    BadSha256,
}

fn pairs(header: &str) -> Result<Vec<(String, Vec<u8>)>, MetadataError> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for pair in header.split(',') {
        let pair = pair.trim();
        if pair.is_empty() {
            continue;
        }
        let mut parts = pair.split(' ').filter(|p| !p.is_empty());
        let key = parts.next().ok_or(MetadataError::Malformed)?;
        let value = match parts.next() {
            Some(v) => STANDARD.decode(v).map_err(|_| MetadataError::Malformed)?,
            None => Vec::new(),
        };
        if parts.next().is_some() {
            return Err(MetadataError::Malformed);
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(MetadataError::Duplicate(key.to_owned()));
        }
        out.push((key.to_owned(), value));
    }
    Ok(out)
}

/// Parses the header into the photo's identity.
pub fn parse(header: &str) -> Result<PhotoMetadata, MetadataError> {
    let pairs = pairs(header)?;
    let get = |key: &'static str| -> Result<String, MetadataError> {
        let (_, value) = pairs
            .iter()
            .find(|(k, _)| k == key)
            .ok_or(MetadataError::Missing(key))?;
        String::from_utf8(value.clone()).map_err(|_| MetadataError::Malformed)
    };
    let report_id =
        ReportId::parse(get("report_id")?.trim()).map_err(|_| MetadataError::BadReportId)?;
    let sha256 = get("sha256")?;
    crate::blob::check_key(&sha256).map_err(|_| MetadataError::BadSha256)?;
    Ok(PhotoMetadata { report_id, sha256 })
}

/// The header value the station echoes on HEAD.
pub fn encode(meta: &PhotoMetadata) -> String {
    format!(
        "report_id {},sha256 {}",
        STANDARD.encode(meta.report_id.to_string()),
        STANDARD.encode(&meta.sha256)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_what_is_wrong() {
        let meta = PhotoMetadata {
            report_id: ReportId::new(),
            sha256: "0a".repeat(32),
        };
        let header = format!("filename cGhvdG8uanBn,{},is_confidential", encode(&meta));
        assert_eq!(parse(&header), Ok(meta.clone()));
        assert_eq!(
            parse("sha256 YWJj"),
            Err(MetadataError::Missing("report_id"))
        );
        assert_eq!(parse("report_id !!!"), Err(MetadataError::Malformed));
        assert_eq!(
            parse(&format!("{},report_id eA==", encode(&meta))),
            Err(MetadataError::Duplicate("report_id".into()))
        );
        let upper = format!(
            "report_id {},sha256 {}",
            STANDARD.encode(meta.report_id.to_string()),
            STANDARD.encode("0A".repeat(32))
        );
        assert_eq!(parse(&upper), Err(MetadataError::BadSha256));
    }
}
