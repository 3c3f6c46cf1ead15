//! Geography the station knows without being told: Seoul's districts, shipped
//! in the binary with their attribution (`station/data/README.md`).

pub mod districts;

pub use districts::{ATTRIBUTION, District, Districts};
