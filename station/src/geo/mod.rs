//! Geography: Seoul's districts, shipped in the binary with their attribution
//! (`station/data/README.md`), and placing each report on arrival in its
//! district and the station's zones ([`Geography`]), with the startup
//! backfill of reports stored before ([`backfill`]).

pub mod backfill;
pub mod districts;
mod placement;
pub mod zones;

pub use districts::{ATTRIBUTION, District, Districts};
pub use placement::Geography;
pub use zones::{StationZones, ZoneCache, ZonePlace, in_force_at, is_jurisdiction};
