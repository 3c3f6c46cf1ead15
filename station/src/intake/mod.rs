//! Report intake: what the station does with a report a phone delivers, apart
//! from HTTP.
//!
//! [`Intake::receive`] checks the content against the station's rules (the
//! shape any delivery must have, then the rules for new reports), tells a
//! retry from a conflict and stores. Refusals are an [`IntakeError`] that says
//! field by field what was wrong ([`Violation`]); the HTTP layer
//! (`http::reports`) only parses the body and maps outcome and error to status
//! codes and problems, as it does for [`crate::upload`].
//!
//! Delivery is idempotent on the phone's report id: the first delivery is
//! stored, the same content again is the stored report, different content
//! under a taken id is a conflict.
//!
//! Every report is placed on arrival ([`Geography`]): its district, the
//! station's zones it falls in, and whether it is outside the station's
//! jurisdiction (flagged, never refused). A follow-up (`follow_up_of`) must
//! name a report the same device filed at the same station.

mod error;
mod manifest;
mod outcome;
mod rules;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use postcso_model::{ReportContent, ReportId, content_hash};
use uuid::Uuid;

pub use error::{IntakeError, Violation};
pub use manifest::ManifestLimits;
pub use outcome::IntakeOutcome;
pub use rules::{check_new, check_shape};

use crate::geo::Geography;
use crate::repo::{PutOutcome, Repository, StationId, is_valid_parent};

/// Who delivers a report: the enrolled device and its station.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deliverer {
    /// The device's station: the report's tenant.
    pub station: StationId,
    /// The device: the report's owner.
    pub device: Uuid,
}

/// Report intake over a repository, with the station's manifest limits.
///
/// Borrows what it needs, so a handler builds one per request at no cost.
pub struct Intake<'a> {
    repo: &'a dyn Repository,
    geography: &'a Geography,
    limits: ManifestLimits,
}

impl<'a> Intake<'a> {
    /// Intake storing into `repo`, placing reports with `geography`, taking
    /// manifests within `limits`.
    pub fn new(repo: &'a dyn Repository, geography: &'a Geography, limits: ManifestLimits) -> Self {
        Self {
            repo,
            geography,
            limits,
        }
    }

    /// Checks and stores a report delivered under `path_id`, as received at `now`
    /// (the station's clock, which also orders reports as `received_at`).
    ///
    /// Shape errors (id, manifest) are refused outright. A breach of the rules
    /// for new reports (category, `created_at`) is refused unless the same
    /// device already stored the same content under this id: that is a retry of
    /// a report stored before the rule refused it (its category retired since,
    /// or stored before the `created_at` rule), and gets the stored report.
    /// `created_at` is judged by `now`, so a phone whose clock was wrong is
    /// refused for good; the phone marks the report `rejected_by_server` with
    /// the problem's detail.
    pub async fn receive(
        &self,
        by: Deliverer,
        path_id: ReportId,
        content: ReportContent,
        now: DateTime<Utc>,
    ) -> Result<IntakeOutcome, IntakeError> {
        let shape = rules::check_shape(&content, path_id, self.limits);
        if !shape.is_empty() {
            return Err(shape.into());
        }
        let hash = content_hash(&content);
        let categories = self.repo.categories(by.station).await?;
        let breaches = rules::check_new(&content, &categories, now);
        if !breaches.is_empty() {
            let stored = self.repo.report(by.station, path_id).await?;
            return match stored {
                Some(r) if r.device_id == by.device && r.content_hash == hash => {
                    metrics::counter!("report_retries_total").increment(1);
                    Ok(IntakeOutcome::Unchanged(r))
                }
                _ => {
                    if breaches
                        .iter()
                        .any(|v| matches!(v, Violation::CreatedAt(_)))
                    {
                        // Worth an operator's look: that phone's clock is wrong.
                        tracing::info!(report_id = %path_id, device_id = %by.device,
                            "report refused: created_at implausible by the station's clock");
                    }
                    Err(breaches.into())
                }
            };
        }
        if let Some(parent) = content.follow_up_of {
            let valid = self
                .repo
                .report(by.station, parent)
                .await?
                .is_some_and(|p| is_valid_parent(&p, path_id, by.device));
            if !valid {
                return Err(IntakeError::UnknownParent);
            }
        }
        let placement = self
            .geography
            .place(
                self.repo,
                by.station,
                content.location.lat(),
                content.location.lon(),
                content.created_at.with_timezone(&Utc),
            )
            .await?;
        match self
            .repo
            .put_report(by.station, by.device, content, hash, placement, now)
            .await?
        {
            PutOutcome::Created(report) => {
                metrics::counter!("reports_received_total").increment(1);
                tracing::info!(report_id = %report.id, device_id = %by.device, "report stored");
                Ok(IntakeOutcome::Created(report))
            }
            PutOutcome::Unchanged(report) => {
                metrics::counter!("report_retries_total").increment(1);
                Ok(IntakeOutcome::Unchanged(report))
            }
            PutOutcome::Conflict => {
                metrics::counter!("report_conflicts_total").increment(1);
                Err(IntakeError::Conflict)
            }
        }
    }
}
