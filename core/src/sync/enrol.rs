//! Redeeming a one-time enrolment code for the device credential.

use serde::Deserialize;

use super::client::{StationClient, failure_of};
use super::failure::Failure;
use crate::model::{CategoryInfo, routes};

/// What the station hands a newly enrolled phone.
#[derive(Clone, Deserialize)]
pub struct Enrolment {
    /// The device's id at the station.
    pub device_id: String,
    /// The printed label of the code, e.g. `carrier-017`.
    pub label: String,
    /// The device credential: shown once; the platform keeps it in its keystore.
    pub token: String,
    /// The station's category list, to validate reports offline from the start.
    #[serde(default)]
    pub categories: Vec<CategoryInfo>,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enrolment")
            .field("device_id", &self.device_id)
            .field("label", &self.label)
            .field("token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// Why enrolment failed.
#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    /// The code is unknown, already used or expired.
    #[error("the enrolment code was refused: {0}")]
    Refused(String),
    /// The station could not be reached or answered with an error; try again.
    #[error("the station could not be reached: {0}")]
    Unreachable(String),
    /// The station enrolled the device, but its token could not be saved in the
    /// secret store. The token is in force for this session (the code is
    /// spent); the enrolment is kept here so the app can keep the token itself.
    #[error("the device was enrolled but its credential could not be saved: {1}")]
    NotSaved(Box<Enrolment>, #[source] crate::secrets::SecretStoreError),
}

/// `POST /v1/devices/enrol` with `code`.
pub(crate) async fn enrol(client: &StationClient, code: &str) -> Result<Enrolment, EnrolError> {
    let url = client
        .url(routes::relative(routes::DEVICE_ENROL))
        .map_err(|_| EnrolError::Unreachable("bad station URL".into()))?;
    let response = client
        .request(reqwest::Method::POST, url, "")
        .json(&serde_json::json!({ "code": code }))
        .timeout(client.timeouts().request)
        .send()
        .await
        .map_err(|e| unreachable(Failure::from_transport(&e)))?;
    if response.status().as_u16() != 201 {
        let status = response.status().as_u16();
        return Err(match failure_of(response).await {
            Failure::Permanent { message, .. } => EnrolError::Refused(message),
            Failure::Unauthorized => EnrolError::Refused(format!("unknown code ({status})")),
            other => unreachable(other),
        });
    }
    response
        .json::<Enrolment>()
        .await
        .map_err(|e| unreachable(Failure::from_transport(&e)))
}

fn unreachable(f: Failure) -> EnrolError {
    match f {
        Failure::Transient { reason, .. } => EnrolError::Unreachable(reason),
        Failure::Permanent { message, .. } => EnrolError::Unreachable(message),
        Failure::Unauthorized => EnrolError::Unreachable("unauthorised".into()),
    }
}
