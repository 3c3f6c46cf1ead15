//! Agencies and routing rules as admins give them, through the REST API, the
//! command line or a file, checked by one set of rules before they reach the
//! store, so the ways in cannot drift apart:
//! - [`fields`]: each field's rules, a whole agency's, an update's and a
//!   routing rule's, every fault placed by JSON pointer;
//! - [`file`]: the import file (TOML): agencies and the station's routing.

pub mod fields;
pub mod file;

pub use crate::zones::Fault;
