//! What intake did with a delivered report.

use crate::repo::StoredReport;

/// A delivery that intake accepted: either stored now, or already stored.
#[derive(Debug)]
pub enum IntakeOutcome {
    /// First delivery: stored now (201 with its location).
    Created(StoredReport),
    /// A retry of the same content by the same device: nothing changed (200).
    Unchanged(StoredReport),
}
