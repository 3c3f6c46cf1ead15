//! Stations: the tenants every other row belongs to, and the store that
//! creates and finds them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::RepoError;
use super::columns::Columns;

/// A station's internal id. A newtype so a station id can never be passed
/// where a user or device id is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct StationId(pub Uuid);

impl std::fmt::Display for StationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A police station: the tenant every other row belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Station {
    /// Internal id, carried by every tenant row.
    pub id: StationId,
    /// Short name used on the command line and at sign-in, e.g. `seodaemun`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// When the station was created.
    pub created_at: DateTime<Utc>,
}

impl Station {
    /// A new station with a fresh id, created at `now`.
    pub(crate) fn new(slug: &str, name: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: StationId(Uuid::now_v7()),
            slug: slug.to_owned(),
            name: name.to_owned(),
            created_at: now,
        }
    }
}

/// A station read back: `id, slug, name, created_at`.
pub(crate) fn station_from(row: &impl Columns) -> Result<Station, RepoError> {
    Ok(Station {
        id: StationId(row.uuid(0)?),
        slug: row.text(1)?,
        name: row.text(2)?,
        created_at: row.time(3)?,
    })
}

/// The refusal of a second station with the same slug.
pub(crate) fn slug_taken(slug: &str) -> RepoError {
    RepoError::Conflict(format!("a station with slug `{slug}` already exists"))
}

/// Creating and finding stations; the admin CLI and sign-in use it.
#[async_trait]
pub trait StationStore: Send + Sync {
    /// Creates a station and seeds the six built-in categories in one
    /// transaction; `Conflict` when the slug is taken.
    async fn create_station(&self, slug: &str, name: &str) -> Result<Station, RepoError>;
    /// Finds a station by slug.
    async fn station_by_slug(&self, slug: &str) -> Result<Option<Station>, RepoError>;
    /// All stations by slug, for the admin CLI.
    async fn list_stations(&self) -> Result<Vec<Station>, RepoError>;
}
