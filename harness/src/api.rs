//! The first HTTP calls made to a fresh station: a phone redeeming its
//! enrolment code, and a supervisor signing in.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::HarnessError;

/// A device enrolled through `POST /v1/devices/enrol`.
#[derive(Debug, Clone, Deserialize)]
pub struct Enrolled {
    /// The device's label, e.g. `carrier-001`.
    pub label: String,
    /// Its bearer credential.
    pub token: String,
}

/// Redeems `code` at the station at `base_url`, as a phone does.
pub async fn enrol_device(
    http: &reqwest::Client,
    base_url: &str,
    code: &str,
) -> Result<Enrolled, HarnessError> {
    let body = serde_json::json!({ "code": code });
    create(http, base_url, "/v1/devices/enrol", &body).await
}

/// Signs staff user `username` of station `slug` in; returns the session token.
pub async fn sign_in(
    http: &reqwest::Client,
    base_url: &str,
    slug: &str,
    username: &str,
    password: &str,
) -> Result<String, HarnessError> {
    #[derive(Deserialize)]
    struct Session {
        token: String,
    }
    let body = serde_json::json!({ "station": slug, "username": username, "password": password });
    let session: Session = create(http, base_url, "/v1/sessions", &body).await?;
    Ok(session.token)
}

/// POSTs `body` to `path` and reads the answer, which must be 201 Created.
async fn create<T: DeserializeOwned>(
    http: &reqwest::Client,
    base_url: &str,
    path: &'static str,
    body: &serde_json::Value,
) -> Result<T, HarnessError> {
    let answer = http
        .post(format!("{}{path}", base_url.trim_end_matches('/')))
        .json(body)
        .send()
        .await?;
    if answer.status() != reqwest::StatusCode::CREATED {
        return Err(HarnessError::Unexpected {
            request: path,
            status: answer.status(),
        });
    }
    Ok(answer.json().await?)
}
