//! What the carrier's phone and the station must agree on: the report model
//! and its validation, the changes feed's entries, the route paths and the
//! problem types.
//!
//! Everything here is plain data plus validation, with no I/O, so both sides
//! link it and apply exactly the same rules: the phone core (`postcso-core`)
//! re-exports it as `postcso_core::model`, and the station server depends on it
//! alone, without the phone's HTTP client or JPEG codec.

mod category;
mod created_at;
mod feed;
mod geo;
mod lifecycle;
mod note;
mod problem;
mod report;
pub mod routes;
mod zone;

pub use category::{
    BUILTIN_CATEGORIES, CategoryCode, CategoryError, CategoryInfo, CategoryList,
    RELATED_CATEGORIES, categories_related, related_categories,
};
pub use created_at::{CREATED_AT_EARLIEST, CREATED_AT_MAX_AHEAD, CreatedAtError, check_created_at};
pub use feed::{ChangesPage, FeedEntry, ReportEventKind};
pub use geo::{GeoError, GeoFlags, GeoPoint, GeoPolicy, LocationSource};
pub use lifecycle::{IllegalTransition, ReportEvent, ReportState, ReviewStatus};
pub use note::{MAX_NOTE_CHARS, Note, NoteError};
pub use problem::ProblemType;
pub use report::{MAX_PHOTOS_DEFAULT, PhotoManifestEntry, ReportContent, ReportId, content_hash};
pub use zone::{
    AreaPlace, AreaRepairs, MAX_AREA_POSITIONS, Rings, ZoneArea, ZoneAreaError, ZoneIndex,
    ZoneInfo, ZoneKind, ZoneNear, in_force, metres_between, valid_zone_code,
};
