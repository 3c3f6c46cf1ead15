//! The four roles of a station.

use serde::{Deserialize, Serialize};

/// What a user or device may do within its station.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Files reports and reads the status of its own reports only.
    Carrier,
    /// Reads and triages all reports of the station.
    Supervisor,
    /// Reads and records the inspections assigned to it.
    Inspector,
    /// Manages the station's users, devices and zones.
    Admin,
}

impl Role {
    /// The database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Carrier => "carrier",
            Self::Supervisor => "supervisor",
            Self::Inspector => "inspector",
            Self::Admin => "admin",
        }
    }

    /// Parses the database and wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "carrier" => Self::Carrier,
            "supervisor" => Self::Supervisor,
            "inspector" => Self::Inspector,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
