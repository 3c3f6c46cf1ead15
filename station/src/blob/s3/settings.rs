//! Where the bucket is and who the station is to it: [`S3Options`] (flags)
//! over the standard `AWS_*` environment variables.

use std::time::Duration;

use rusty_s3::{Bucket, Credentials, UrlStyle};

use crate::blob::BlobError;

/// How to reach the object store, beyond what the standard `AWS_*`
/// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`)
/// already say. Flags win over the environment.
#[derive(Debug, Clone)]
pub struct S3Options {
    /// An S3-compatible endpoint (MinIO, Ceph, a cloud provider's), instead
    /// of AWS's regional one.
    pub endpoint: Option<String>,
    /// The bucket's region.
    pub region: Option<String>,
    /// Allow `http://` endpoints (a loopback test server only).
    pub allow_http: bool,
    /// Photos larger than this go up as a multipart upload in parts of this
    /// size (S3 needs at least 5 MiB per part).
    pub multipart_threshold: usize,
    /// How long one request (with its retries) may take before the station
    /// answers 503; short, because a phone is waiting.
    pub request_timeout: Duration,
}

impl Default for S3Options {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            allow_http: false,
            multipart_threshold: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(20),
        }
    }
}

/// The region when neither a flag nor the environment names one (AWS's
/// default region, and what S3-compatible servers accept).
const DEFAULT_REGION: &str = "us-east-1";

/// Everything needed to sign requests to one bucket.
pub(super) struct Settings {
    pub bucket: Bucket,
    pub credentials: Credentials,
    pub allow_http: bool,
}

/// Reads the flags over the environment (`var` is `std::env::var`, or a map
/// in tests). A custom endpoint is addressed path-style
/// (`endpoint/bucket/key`: S3-compatible servers reached by IP or a name
/// without wildcard DNS need it); AWS's own endpoint virtual-host style,
/// except for bucket names with dots, which AWS's certificates do not cover.
pub(super) fn resolve(
    bucket: &str,
    options: &S3Options,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Settings, BlobError> {
    let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let region = options
        .region
        .clone()
        .or_else(|| var("AWS_REGION"))
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let allow_http = options.allow_http
        || var("AWS_ALLOW_HTTP").is_some_and(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes" | "on"
            )
        });
    let (endpoint, style) = match options.endpoint.clone().or_else(|| var("AWS_ENDPOINT_URL")) {
        Some(custom) => (custom, UrlStyle::Path),
        None if bucket.contains('.') => {
            (format!("https://s3.{region}.amazonaws.com"), UrlStyle::Path)
        }
        None => (
            format!("https://s3.{region}.amazonaws.com"),
            UrlStyle::VirtualHost,
        ),
    };
    let endpoint: url::Url = endpoint
        .trim()
        .parse()
        .map_err(|e| BlobError::Config(format!("bad S3 endpoint: {e}")))?;
    if endpoint.scheme() == "http" && !allow_http {
        return Err(BlobError::Config(
            "the S3 endpoint is plain http; allow it with --s3-allow-http (a loopback test server only)"
                .into(),
        ));
    }
    let bucket = Bucket::new(endpoint, style, bucket.to_owned(), region)
        .map_err(|e| BlobError::Config(format!("bad S3 endpoint or bucket: {e}")))?;
    let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err(BlobError::Config(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into(),
        ));
    };
    let credentials = match var("AWS_SESSION_TOKEN") {
        Some(token) => Credentials::new_with_token(key, secret, token),
        None => Credentials::new(key, secret),
    };
    Ok(Settings {
        bucket,
        credentials,
        allow_http,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const KEYS: [(&str, &str); 2] = [
        ("AWS_ACCESS_KEY_ID", "id"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
    ];

    #[test]
    fn aws_itself_is_addressed_virtual_host_style_in_the_region_from_the_environment() {
        let mut vars = KEYS.to_vec();
        vars.push(("AWS_REGION", "ap-northeast-2"));
        let s = resolve("photos", &S3Options::default(), env(&vars)).expect("settings");
        assert_eq!(
            s.bucket.object_url("k").as_str(),
            "https://photos.s3.ap-northeast-2.amazonaws.com/k"
        );
        assert_eq!(s.bucket.region(), "ap-northeast-2");
        let dotted = resolve("photos.seoul", &S3Options::default(), env(&KEYS)).expect("settings");
        assert_eq!(
            dotted.bucket.object_url("k").as_str(),
            "https://s3.us-east-1.amazonaws.com/photos.seoul/k",
            "dotted names path-style, in the default region"
        );
    }

    #[test]
    fn a_custom_endpoint_is_path_style_and_flags_win_over_the_environment() {
        let mut vars = KEYS.to_vec();
        vars.extend([
            ("AWS_ENDPOINT_URL", "https://env.example.net"),
            ("AWS_REGION", "env-region"),
        ]);
        let options = S3Options {
            endpoint: Some("https://minio.example.net:9000".into()),
            region: Some("flag-region".into()),
            ..S3Options::default()
        };
        let s = resolve("photos", &options, env(&vars)).expect("settings");
        assert_eq!(
            s.bucket.object_url("a/b").as_str(),
            "https://minio.example.net:9000/photos/a/b"
        );
        assert_eq!(s.bucket.region(), "flag-region");
        let from_env = resolve("photos", &S3Options::default(), env(&vars)).expect("settings");
        assert_eq!(
            from_env.bucket.object_url("k").as_str(),
            "https://env.example.net/photos/k"
        );
    }

    #[test]
    fn plain_http_needs_a_flag_or_aws_allow_http_and_credentials_are_required() {
        let options = S3Options {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..S3Options::default()
        };
        assert!(matches!(
            resolve("photos", &options, env(&KEYS)),
            Err(BlobError::Config(m)) if m.contains("plain http")
        ));
        let mut vars = KEYS.to_vec();
        vars.push(("AWS_ALLOW_HTTP", "true"));
        assert!(
            resolve("photos", &options, env(&vars))
                .expect("allowed")
                .allow_http
        );
        let flag = S3Options {
            allow_http: true,
            ..options.clone()
        };
        assert!(
            resolve("photos", &flag, env(&KEYS))
                .expect("allowed")
                .allow_http
        );
        assert!(matches!(
            resolve("photos", &flag, env(&[("AWS_ACCESS_KEY_ID", "id")])),
            Err(BlobError::Config(m)) if m.contains("AWS_SECRET_ACCESS_KEY")
        ));
        let mut with_token = KEYS.to_vec();
        with_token.push(("AWS_SESSION_TOKEN", "tok"));
        let s = resolve("photos", &flag, env(&with_token)).expect("settings");
        assert_eq!(s.credentials.token(), Some("tok"));
    }
}
