//! The first HTTP calls made to a fresh station: a phone redeeming its
//! enrolment code, and a supervisor signing in.

use serde::Deserialize;

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
    let answer = http
        .post(format!(
            "{}/v1/devices/enrol",
            base_url.trim_end_matches('/')
        ))
        .json(&serde_json::json!({ "code": code }))
        .send()
        .await?;
    if answer.status() != reqwest::StatusCode::CREATED {
        return Err(HarnessError::Unexpected {
            request: "POST /v1/devices/enrol",
            status: answer.status(),
        });
    }
    Ok(answer.json().await?)
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
    let answer = http
        .post(format!("{}/v1/sessions", base_url.trim_end_matches('/')))
        .json(&serde_json::json!({ "station": slug, "username": username, "password": password }))
        .send()
        .await?;
    if answer.status() != reqwest::StatusCode::CREATED {
        return Err(HarnessError::Unexpected {
            request: "POST /v1/sessions",
            status: answer.status(),
        });
    }
    Ok(answer.json::<Session>().await?.token)
}
