//! The report lifecycle on the phone: which state follows which.
//!
//! ```text
//! draft ──submit──▶ queued ──start_sending──▶ sending ──acknowledged──▶ sent ──review──▶ sent(+status)
//!   ▲  edit            │ ▲                        │
//!   └──┘          withdraw └──── send_failed ─────┤
//!                      ▼                          └──rejected──▶ rejected_by_server
//!                  withdrawn ◀──withdraw── rejected_by_server ──retry──▶ queued
//!                                                │
//!                                                └──reopen──▶ draft (to correct and submit again)
//! ```

use serde::{Deserialize, Serialize};

/// Where a report stands on this phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Being written; saved on every change; not yet sealed.
    Draft,
    /// Sealed and waiting for the network.
    Queued,
    /// A sync attempt is delivering it right now.
    Sending,
    /// The station acknowledged it; review statuses follow.
    Sent,
    /// The carrier withdrew it before it was sent.
    Withdrawn,
    /// The station refused it for good; the server's message is kept with it.
    RejectedByServer,
}

impl ReportState {
    /// The database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Withdrawn => "withdrawn",
            Self::RejectedByServer => "rejected_by_server",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "queued" => Self::Queued,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "withdrawn" => Self::Withdrawn,
            "rejected_by_server" => Self::RejectedByServer,
            _ => return None,
        })
    }

    /// Whether the content is frozen (everything after `draft`).
    pub fn is_sealed(self) -> bool {
        self != Self::Draft
    }

    /// Applies `event`, or says why it may not happen in this state.
    pub fn apply(self, event: ReportEvent) -> Result<Self, IllegalTransition> {
        use ReportEvent as E;
        use ReportState as S;
        let next = match (self, event) {
            (S::Draft, E::Edit) => S::Draft,
            (S::Draft, E::Submit) => S::Queued,
            (S::Queued, E::Withdraw) => S::Withdrawn,
            (S::Queued, E::StartSending) => S::Sending,
            (S::Sending, E::SendFailed) => S::Queued,
            (S::Sending, E::Acknowledged) => S::Sent,
            (S::Sending, E::Rejected) => S::RejectedByServer,
            (S::RejectedByServer, E::Retry) => S::Queued,
            (S::RejectedByServer, E::Reopen) => S::Draft,
            (S::RejectedByServer, E::Withdraw) => S::Withdrawn,
            (S::Sent, E::ReviewUpdate) => S::Sent,
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }
}

/// Something that happens to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportEvent {
    /// The carrier changed the draft.
    Edit,
    /// The carrier sealed the draft for sending.
    Submit,
    /// The carrier took back a queued report.
    Withdraw,
    /// The sync engine picked the report up.
    StartSending,
    /// The attempt ended without an answer that settles the report.
    SendFailed,
    /// The station stored the report.
    Acknowledged,
    /// The station refused the report for good.
    Rejected,
    /// The station reported a review status.
    ReviewUpdate,
    /// The carrier asked to send a refused report again (e.g. after the station
    /// fixed a misconfiguration); the content stays as sealed. Used when the
    /// station already stored the report, so its content is fixed there.
    Retry,
    /// The carrier takes back a refused report the station never stored, to
    /// correct it: the seal is broken and `submit` seals it again under the same
    /// id (the station kept nothing of the refused content).
    Reopen,
}

/// A transition the lifecycle does not allow, e.g. withdrawing a sent report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event:?} a report that is {}", from.as_str())]
pub struct IllegalTransition {
    /// The state the report was in.
    pub from: ReportState,
    /// What was attempted.
    pub event: ReportEvent,
}

/// The station's review status of a sent report, as the changes feed reports it.
///
/// Open-ended: a status added on the server after this app was built is kept as
/// [`ReviewStatus::Other`] instead of failing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum ReviewStatus {
    /// Stored at the station, not yet triaged.
    Received,
    /// A supervisor accepted it.
    Accepted,
    /// Folded into another report about the same place.
    Merged,
    /// Not acted on, with a reason the carrier can read.
    Rejected,
    /// The diagnosis team is inspecting the site.
    Inspecting,
    /// Referred to the agency that owns the fix.
    Referred,
    /// The fix is done: the reason carriers keep reporting.
    Fixed,
    /// A status this app does not know yet.
    Other(String),
}

impl From<String> for ReviewStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "received" => Self::Received,
            "accepted" => Self::Accepted,
            "merged" => Self::Merged,
            "rejected" => Self::Rejected,
            "inspecting" => Self::Inspecting,
            "referred" => Self::Referred,
            "fixed" => Self::Fixed,
            _ => Self::Other(s),
        }
    }
}

impl From<ReviewStatus> for String {
    fn from(s: ReviewStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl ReviewStatus {
    /// The wire and database spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Merged => "merged",
            Self::Rejected => "rejected",
            Self::Inspecting => "inspecting",
            Self::Referred => "referred",
            Self::Fixed => "fixed",
            Self::Other(s) => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_STATES: [ReportState; 6] = [
        ReportState::Draft,
        ReportState::Queued,
        ReportState::Sending,
        ReportState::Sent,
        ReportState::Withdrawn,
        ReportState::RejectedByServer,
    ];

    #[test]
    fn states_round_trip_through_their_spelling() {
        for s in ALL_STATES {
            assert_eq!(ReportState::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReportState::parse("archived"), None);
    }

    #[test]
    fn sent_and_withdrawn_reports_cannot_be_withdrawn_or_edited() {
        for from in [
            ReportState::Sent,
            ReportState::Withdrawn,
            ReportState::Sending,
        ] {
            let err = from.apply(ReportEvent::Withdraw).unwrap_err();
            assert_eq!(err.from, from);
            assert!(from.apply(ReportEvent::Edit).is_err());
        }
        assert_eq!(
            ReportState::Draft
                .apply(ReportEvent::Withdraw)
                .unwrap_err()
                .to_string(),
            "cannot Withdraw a report that is draft"
        );
    }

    #[test]
    fn only_a_refused_report_reopens_as_a_draft_or_retries_as_sealed() {
        for from in ALL_STATES {
            let reopened = from.apply(ReportEvent::Reopen);
            let retried = from.apply(ReportEvent::Retry);
            if from == ReportState::RejectedByServer {
                assert_eq!(reopened, Ok(ReportState::Draft));
                assert_eq!(retried, Ok(ReportState::Queued));
            } else {
                assert!(reopened.is_err() && retried.is_err(), "{from:?}");
            }
        }
    }

    #[test]
    fn unknown_review_status_is_kept() {
        let s: ReviewStatus = serde_json::from_str("\"escalated_to_city\"").unwrap();
        assert_eq!(s, ReviewStatus::Other("escalated_to_city".into()));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"escalated_to_city\"");
        let f: ReviewStatus = serde_json::from_str("\"fixed\"").unwrap();
        assert_eq!(f, ReviewStatus::Fixed);
    }
}
