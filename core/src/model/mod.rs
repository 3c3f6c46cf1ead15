//! The report model shared by the phone core and the station server.
//!
//! Everything here is plain data plus validation, with no I/O, so the station can
//! depend on it and apply exactly the same rules as the phone.

mod category;
mod geo;
mod lifecycle;
mod note;
mod report;
mod zone;

pub use category::{BUILTIN_CATEGORIES, CategoryCode, CategoryError, CategoryInfo, CategoryList};
pub use geo::{GeoError, GeoFlags, GeoPoint, GeoPolicy, LocationSource};
pub use lifecycle::{IllegalTransition, ReportEvent, ReportState, ReviewStatus};
pub use note::{MAX_NOTE_CHARS, Note, NoteError};
pub use report::{MAX_PHOTOS_DEFAULT, PhotoManifestEntry, ReportContent, ReportId, content_hash};
pub use zone::{MAX_AREA_POSITIONS, ZoneArea, ZoneAreaError, ZoneInfo};
