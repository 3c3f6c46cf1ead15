//! The report content's rules at intake, in two groups.
//!
//! [`check_shape`] holds whatever the station received: the body's id must be
//! the path's and the manifest must be one the station can take. [`check_new`]
//! holds the rules that apply to new reports only, because they can change
//! after a report was stored (a category retired later, a `created_at` rule
//! newer than the report): a retry of a report stored before is still a retry,
//! so the caller looks for one before refusing.

use chrono::{DateTime, Utc};
use postcso_model::{CategoryList, ReportContent, ReportId};

use super::Violation;
use super::manifest::{self, ManifestLimits};

/// The rules any delivery must keep: id and manifest.
pub fn check_shape(
    content: &ReportContent,
    path_id: ReportId,
    limits: ManifestLimits,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    if content.id != path_id {
        violations.push(Violation::IdMismatch);
    }
    violations.extend(manifest::check(&content.photos, limits));
    violations
}

/// The rules a new report must keep: its category is one the station takes
/// now, and its `created_at` is plausible by the station's clock `now` (the
/// shared model's rule, which the phone applies at submit by its own clock).
pub fn check_new(
    content: &ReportContent,
    categories: &CategoryList,
    now: DateTime<Utc>,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    if let Err(e) = categories.validate_for_new_report(content.category.as_str()) {
        violations.push(Violation::Category(e));
    }
    if let Err(e) = content.check_created_at(now) {
        violations.push(Violation::CreatedAt(e));
    }
    violations
}
