//! Zone definitions as admins give them, through the REST API, the console or
//! a GeoJSON file, checked by one set of rules before they reach the store, so
//! the three ways in cannot drift apart:
//! - [`fields`]: each field's rules, and a whole zone's;
//! - [`geojson`]: reading GeoJSON text (a FeatureCollection, or one outline)
//!   with every fault placed by JSON pointer;
//! - [`import`]: a file to zones to import, all or nothing, and the report of
//!   what an import did;
//! - [`export`]: the station's zones as a FeatureCollection that imports back
//!   unchanged;
//! - [`jurisdiction`]: a new station's jurisdiction zone, from the embedded
//!   Seoul districts or a file.

pub mod export;
pub mod fields;
pub mod geojson;
pub mod import;
pub mod jurisdiction;

/// One fault in what was given: where (a JSON pointer, RFC 6901, into the
/// request body or file) and what is wrong. The HTTP API answers them as a
/// problem's `errors`, the console prints them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pointer}: {detail}")]
pub struct Fault {
    /// Where, e.g. `/features/3/geometry/coordinates/0/5`.
    pub pointer: String,
    /// What is wrong there.
    pub detail: String,
}

impl Fault {
    /// A fault at `pointer`.
    pub fn new(pointer: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            detail: detail.into(),
        }
    }
}
