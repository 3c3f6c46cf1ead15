//! A URL as it may be shown: in errors, logs and `Debug`.

use std::fmt;

/// A URL without its user info and query string: what errors and logs show
/// of an outbound request. Presigned S3 URLs carry their signature and a
/// session token in the query string, and a referral endpoint may take an API
/// key there.
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedUrl(String);

impl RedactedUrl {
    /// The shown form of `url`: `scheme://host[:port]/path`.
    pub fn of(url: &url::Url) -> Self {
        let host = url.host_str().unwrap_or("");
        let shown = match url.port() {
            Some(port) => format!("{}://{host}:{port}{}", url.scheme(), url.path()),
            None => format!("{}://{host}{}", url.scheme(), url.path()),
        };
        Self(shown)
    }
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_and_query_never_show() {
        let url: url::Url =
            "https://key:secret@s3.example.net:9000/photos/a?X-Amz-Signature=abc&X-Amz-Security-Token=t"
                .parse()
                .expect("url");
        let shown = RedactedUrl::of(&url);
        assert_eq!(shown.to_string(), "https://s3.example.net:9000/photos/a");
        assert_eq!(
            format!("{shown:?}"),
            "\"https://s3.example.net:9000/photos/a\""
        );
    }
}
