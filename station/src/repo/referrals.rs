//! Referrals: a supervisor sends a report's fix to the agency in charge with
//! a text of their own, the report becomes `referred`, and the agency's
//! answers (recorded by hand in this slice) move it on: `fixed` closes it,
//! `declined` sends it back to the supervisors' queue.
//!
//! Each step reaches the filing carrier as the report's status and a line
//! the phone shows ("서대문구청에 이관되었습니다"), through the changes feed's
//! status entry. The carrier's note is never copied into a referral.

use async_trait::async_trait;
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Utc};
use postcso_model::{ReportId, ReviewStatus};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::agencies::{Agency, SendMethod};
use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::feed::ActionLog;
use super::{Actor, RepoError, StationId, StoredReport};

/// Longest referral text, in characters.
pub const MAX_REFERRAL_CHARS: usize = 4000;
/// Longest note with an answer, in characters: the carrier's line built from
/// a `fixed` note stays within a status reason's 500.
pub const MAX_ANSWER_NOTE_CHARS: usize = 400;

/// The time zone the carrier's lines give dates in (Korea, no daylight saving).
pub fn korea() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("UTC+9 is a valid offset")
}

/// Today in Korea: the day an answer is taken to be from when none is given.
pub fn today_in_korea(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&korea()).date_naive()
}

/// Where sending a referral stands. The outbox of a later slice takes up
/// `waiting` referrals and adds its own states (sending, sent, uncertain,
/// failed); until then nothing pretends to have been sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Nothing to send: the supervisor contacts the agency themself.
    Manual,
    /// To be sent by the referral's method (Open311 or e-mail); waiting to be sent.
    Waiting,
}

impl Delivery {
    /// Where a new referral by `method` starts.
    pub fn for_method(method: SendMethod) -> Self {
        match method {
            SendMethod::Manual => Self::Manual,
            SendMethod::Open311 | SendMethod::Email => Self::Waiting,
        }
    }

    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Waiting => "waiting",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "manual" => Self::Manual,
            "waiting" => Self::Waiting,
            _ => return None,
        })
    }
}

/// What the agency answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// It took the referral.
    Accepted,
    /// It is working on it.
    InProgress,
    /// It fixed it: the report is `fixed` and the referral closed.
    Fixed,
    /// Not its responsibility: the report goes back to the supervisors'
    /// queue (`accepted`, flagged) and the referral is closed.
    Declined,
}

impl AnswerKind {
    /// Every answer, in the order they usually come.
    pub const ALL: [AnswerKind; 4] = [
        Self::Accepted,
        Self::InProgress,
        Self::Fixed,
        Self::Declined,
    ];

    /// The database and wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::InProgress => "in_progress",
            Self::Fixed => "fixed",
            Self::Declined => "declined",
        }
    }

    /// Parses the database and wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this answer closes the referral.
    pub fn closes(self) -> bool {
        matches!(self, Self::Fixed | Self::Declined)
    }
}

/// An agency, as a referral names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AgencyRef {
    /// Its id.
    pub id: Uuid,
    /// Its code.
    pub code: String,
    /// Korean name.
    pub name_ko: String,
    /// English name.
    pub name_en: String,
}

/// One answer of the agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ReferralAnswer {
    /// What it answered.
    pub answer: AnswerKind,
    /// What it said (for `fixed`, the carrier reads it).
    pub note: Option<String>,
    /// The day the agency answered (or fixed it), in Korea.
    pub answered_on: NaiveDate,
    /// Who recorded it: `supervisor` (by hand).
    pub source: String,
    /// The user who recorded it.
    pub recorded_by: String,
    /// When it was recorded.
    pub recorded_at: DateTime<Utc>,
}

/// A referral of a report to an agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Referral {
    /// Its id (UUIDv7): the station's reference for it.
    pub id: Uuid,
    /// The report referred.
    #[schema(value_type = String)]
    pub report_id: ReportId,
    /// The agency it went to (retired since, perhaps).
    pub agency: AgencyRef,
    /// How it reaches the agency (the agency's method when referred).
    pub send_method: SendMethod,
    /// Where sending it stands.
    pub delivery: Delivery,
    /// The supervisor's referral text.
    pub text: String,
    /// The agency the routing rules proposed, if any.
    pub proposed_agency: Option<String>,
    /// Whether the supervisor chose another agency than the proposed one.
    pub overridden: bool,
    /// Who referred it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When an answer closed it (`fixed` or `declined`).
    pub closed_at: Option<DateTime<Utc>>,
    /// The agency's answers, in the order recorded.
    pub answers: Vec<ReferralAnswer>,
}

impl Referral {
    /// Whether the agency declined it (the report is back with the supervisors).
    pub fn declined(&self) -> bool {
        self.answers
            .iter()
            .any(|a| a.answer == AnswerKind::Declined)
    }

    /// Whether it still waits for the agency's last answer.
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }
}

/// A referral to make; its text checked by the caller ([`clean_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferral {
    /// The report.
    pub report: ReportId,
    /// The chosen agency's code.
    pub agency_code: String,
    /// The agency the routing rules proposed, if any: choosing another is
    /// recorded as an override.
    pub proposed: Option<Uuid>,
    /// The supervisor's text.
    pub text: String,
    /// The report version the decision was made on, if the caller says.
    pub if_version: Option<u64>,
}

/// An answer to record; its note checked by the caller ([`clean_text`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAnswer {
    /// What the agency answered.
    pub answer: AnswerKind,
    /// What it said.
    pub note: Option<String>,
    /// The day it answered, in Korea.
    pub answered_on: NaiveDate,
    /// The report version the supervisor saw, if the caller says.
    pub if_version: Option<u64>,
}

/// What referring came to.
#[derive(Debug, Clone, PartialEq)]
pub enum ReferOutcome {
    /// Referred: the referral and the report now (status `referred`).
    Referred {
        /// The referral (boxed, as the report, being larger than the other variants).
        referral: Box<Referral>,
        /// The report after.
        report: Box<StoredReport>,
    },
    /// No such report in the station.
    NoReport,
    /// No agency of that code in the station.
    NoAgency,
    /// The agency is retired.
    AgencyRetired,
    /// The report's status does not take a referral (rejected, merged, fixed).
    NotReferable(ReviewStatus),
    /// The report has an open referral already.
    AlreadyReferred(Box<Referral>),
}

/// What recording an answer came to.
#[derive(Debug, Clone, PartialEq)]
pub enum AnswerOutcome {
    /// Recorded: the referral and the report now.
    Recorded {
        /// The referral with the answer.
        referral: Box<Referral>,
        /// The report after.
        report: Box<StoredReport>,
    },
    /// No such referral in the station.
    NoReferral,
    /// The referral was closed by an earlier `fixed` or `declined`.
    Closed,
    /// This answer was recorded before: each is recorded once.
    AlreadyAnswered,
}

/// Why a referral text or an answer's note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing but blanks.
    #[error("must not be empty")]
    Empty,
    /// Too long.
    #[error("at most {0} characters")]
    TooLong(usize),
    /// Control characters other than line breaks.
    #[error("no control characters except line breaks")]
    ControlCharacters,
}

/// The rule for a referral's text and an answer's note: trimmed, not empty,
/// at most `max` characters, no control characters but line breaks (`\r\n`
/// from a browser's text area becomes `\n`).
pub fn clean_text(raw: &str, max: usize) -> Result<String, TextError> {
    let text = raw.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(TextError::Empty);
    }
    if text.chars().count() > max {
        return Err(TextError::TooLong(max));
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(TextError::ControlCharacters);
    }
    Ok(text.to_owned())
}

/// The line the carrier's phone shows when the report is referred.
pub fn line_referred(agency_ko: &str) -> String {
    format!("{agency_ko}에 이관되었습니다")
}

/// The line the carrier's phone shows after the agency's answer.
pub fn line_answered(
    agency_ko: &str,
    answer: AnswerKind,
    note: Option<&str>,
    answered_on: NaiveDate,
) -> String {
    match answer {
        AnswerKind::Accepted => format!("{agency_ko}에서 접수했습니다"),
        AnswerKind::InProgress => format!("{agency_ko}에서 처리 중입니다"),
        AnswerKind::Fixed => {
            let day = format!(
                "{}월 {}일 조치 완료",
                answered_on.month(),
                answered_on.day()
            );
            match note {
                Some(note) => format!("{day}: {note}"),
                None => day,
            }
        }
        AnswerKind::Declined => {
            format!("{agency_ko} 소관이 아니라는 답변을 받아 다시 검토합니다")
        }
    }
}

/// The status the report takes after an answer: `fixed` when fixed, back to
/// `accepted` (the supervisors' queue) when declined, `referred` otherwise.
pub fn status_after(answer: AnswerKind) -> ReviewStatus {
    match answer {
        AnswerKind::Accepted | AnswerKind::InProgress => ReviewStatus::Referred,
        AnswerKind::Fixed => ReviewStatus::Fixed,
        AnswerKind::Declined => ReviewStatus::Accepted,
    }
}

/// Whether a report in `status` may be referred: not once it is closed
/// (rejected, merged, fixed) or in a status this build does not know.
pub fn referable(status: &ReviewStatus) -> bool {
    matches!(
        status,
        ReviewStatus::Received
            | ReviewStatus::Accepted
            | ReviewStatus::Inspecting
            | ReviewStatus::Referred
    )
}

/// The referral rules, in order: the agency exists and is not retired, the
/// decision was made on the current version, the report takes a referral and
/// has no open one. `Ok(Err(outcome))` is a refusal to answer with.
pub(crate) fn check_refer<'a>(
    report: &StoredReport,
    agency: Option<&'a Agency>,
    open: Option<Referral>,
    seen: Option<u64>,
) -> Result<Result<&'a Agency, ReferOutcome>, RepoError> {
    let Some(agency) = agency else {
        return Ok(Err(ReferOutcome::NoAgency));
    };
    if agency.retired_at.is_some() {
        return Ok(Err(ReferOutcome::AgencyRetired));
    }
    super::StatusChange::check_version(report, seen)?;
    if let Some(open) = open {
        return Ok(Err(ReferOutcome::AlreadyReferred(Box::new(open))));
    }
    if !referable(&report.status) {
        return Ok(Err(ReferOutcome::NotReferable(report.status.clone())));
    }
    Ok(Ok(agency))
}

/// The answer rules: the referral is open, this answer was not recorded
/// before, and the supervisor saw the report's current version.
/// `Ok(Some(outcome))` is a refusal.
pub(crate) fn check_answer(
    referral: &Referral,
    report: &StoredReport,
    answer: &NewAnswer,
) -> Result<Option<AnswerOutcome>, RepoError> {
    super::StatusChange::check_version(report, answer.if_version)?;
    if !referral.is_open() {
        return Ok(Some(AnswerOutcome::Closed));
    }
    if referral.answers.iter().any(|a| a.answer == answer.answer) {
        return Ok(Some(AnswerOutcome::AlreadyAnswered));
    }
    Ok(None)
}

/// The columns a referral read selects (`r` the referral, `a` its agency,
/// `p` the proposed one, left-joined), in the order [`referral_from`] reads
/// them.
pub(crate) const REFERRAL_COLUMNS: &str = "r.id, r.report_id, a.id, a.code, a.name_ko, a.name_en, \
     r.send_method, r.delivery, r.body, p.code, r.created_by, r.created_at, r.closed_at";

/// A referral read back ([`REFERRAL_COLUMNS`]), given its answers.
pub(crate) fn referral_from(
    row: &impl Columns,
    answers: Vec<ReferralAnswer>,
) -> Result<Referral, RepoError> {
    let method = row.text(6)?;
    let delivery = row.text(7)?;
    let agency = AgencyRef {
        id: row.uuid(2)?,
        code: row.text(3)?,
        name_ko: row.text(4)?,
        name_en: row.text(5)?,
    };
    let proposed_agency = row.opt_text(9)?;
    Ok(Referral {
        id: row.uuid(0)?,
        report_id: row.report_id(1)?,
        overridden: proposed_agency.as_ref().is_some_and(|p| *p != agency.code),
        agency,
        send_method: SendMethod::parse(&method)
            .ok_or_else(|| bad_column(6, format!("send method `{method}`")))?,
        delivery: Delivery::parse(&delivery)
            .ok_or_else(|| bad_column(7, format!("delivery `{delivery}`")))?,
        text: row.text(8)?,
        proposed_agency,
        created_by: row.text(10)?,
        created_at: row.time(11)?,
        closed_at: row.opt_time(12)?,
        answers,
    })
}

/// The columns an answer read selects (`answered_on` as `YYYY-MM-DD` text),
/// in the order [`answer_from`] reads them, after the referral id.
pub(crate) const ANSWER_COLUMNS: &str =
    "answer, note, answered_on, source, recorded_by, recorded_at";

/// An answer read back ([`ANSWER_COLUMNS`], from column `at`).
pub(crate) fn answer_from(row: &impl Columns, at: usize) -> Result<ReferralAnswer, RepoError> {
    let answer = row.text(at)?;
    let day = row.text(at + 2)?;
    Ok(ReferralAnswer {
        answer: AnswerKind::parse(&answer)
            .ok_or_else(|| bad_column(at, format!("answer `{answer}`")))?,
        note: row.opt_text(at + 1)?,
        answered_on: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|e| bad_column(at + 2, e))?,
        source: row.text(at + 3)?,
        recorded_by: row.text(at + 4)?,
        recorded_at: row.time(at + 5)?,
    })
}

/// The name an actor is recorded under on a referral or an answer.
pub(crate) fn actor_name(actor: &Actor) -> String {
    actor
        .username
        .clone()
        .unwrap_or_else(|| actor.role.as_str().to_owned())
}

impl ActionLog {
    /// `referral.create` on the report: the agency, the method, where
    /// sending stands, the proposal and whether the supervisor overrode it,
    /// and the text's length (never the text). No feed entry of its own: the
    /// status change that comes with it has one.
    pub(crate) fn referral_created(actor: Actor, referral: &Referral) -> Self {
        let after = serde_json::json!({
            "referral_id": referral.id,
            "agency": referral.agency.code,
            "send_method": referral.send_method,
            "delivery": referral.delivery,
            "proposed_agency": referral.proposed_agency,
            "override": referral.overridden,
            "text_chars": referral.text.chars().count(),
        });
        Self {
            actor,
            audit: AuditRecord::new("referral.create", "report", referral.report_id, None, after),
            change: None,
        }
    }

    /// `referral.answer` on the report: what the agency answered, when, and
    /// the note's length.
    pub(crate) fn referral_answered(actor: Actor, referral: &Referral, answer: &NewAnswer) -> Self {
        let after = serde_json::json!({
            "referral_id": referral.id,
            "agency": referral.agency.code,
            "answer": answer.answer,
            "answered_on": answer.answered_on,
            "note_chars": answer.note.as_ref().map(|n| n.chars().count()),
        });
        Self {
            actor,
            audit: AuditRecord::new("referral.answer", "report", referral.report_id, None, after),
            change: None,
        }
    }
}

/// Referrals of reports and the agencies' answers. Each write runs in one
/// transaction with the report's status change, its audit rows and the
/// carrier's feed entry.
#[async_trait]
pub trait ReferralStore: Send + Sync {
    /// Refers a report (see [`check_refer`] for the refusals): stores the
    /// referral with [`Delivery::for_method`] of the agency's method, sets the
    /// report `referred` with [`line_referred`] as the carrier's line, and
    /// writes `referral.create` and `report.status` audit rows and the
    /// `status` feed entry. [`RepoError::Stale`] on a stale `if_version`.
    async fn refer_report(
        &self,
        station: StationId,
        referral: NewReferral,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<ReferOutcome, RepoError>;
    /// The report's referrals, oldest first, with their answers.
    async fn referrals(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<Referral>, RepoError>;
    /// One referral of the station.
    async fn referral(
        &self,
        station: StationId,
        referral: Uuid,
    ) -> Result<Option<Referral>, RepoError>;
    /// Records the agency's answer (see [`check_answer`] for the refusals):
    /// the report takes [`status_after`] and [`line_answered`] as the
    /// carrier's line; `fixed` and `declined` close the referral. Writes
    /// `referral.answer` and `report.status` audit rows and the feed entry.
    async fn record_answer(
        &self,
        station: StationId,
        referral: Uuid,
        answer: NewAnswer,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AnswerOutcome, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carrier_reads_one_line_per_step() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 12).expect("date");
        assert_eq!(line_referred("서대문구청"), "서대문구청에 이관되었습니다");
        assert_eq!(
            line_answered("서대문구청", AnswerKind::Fixed, Some("보안등 교체"), day),
            "12월 12일 조치 완료: 보안등 교체"
        );
        assert_eq!(
            line_answered("서대문구청", AnswerKind::Fixed, None, day),
            "12월 12일 조치 완료"
        );
        let long = "가".repeat(MAX_ANSWER_NOTE_CHARS);
        let line = line_answered(&"구".repeat(100), AnswerKind::Fixed, Some(&long), day);
        assert!(line.chars().count() <= crate::http::triage::MAX_REASON_CHARS);
        for answer in AnswerKind::ALL {
            assert_eq!(AnswerKind::parse(answer.as_str()), Some(answer));
            let line = line_answered(&"구".repeat(100), answer, None, day);
            assert!(line.chars().count() <= crate::http::triage::MAX_REASON_CHARS);
        }
        assert_eq!(status_after(AnswerKind::Declined), ReviewStatus::Accepted);
        assert_eq!(status_after(AnswerKind::InProgress), ReviewStatus::Referred);
    }

    #[test]
    fn texts_are_trimmed_and_bounded_and_closed_reports_take_no_referral() {
        assert_eq!(clean_text(" a\r\nb ", 10).as_deref(), Ok("a\nb"));
        assert_eq!(clean_text("  ", 10), Err(TextError::Empty));
        assert_eq!(clean_text("abc", 2), Err(TextError::TooLong(2)));
        assert_eq!(clean_text("a\u{7}", 10), Err(TextError::ControlCharacters));
        assert!(referable(&ReviewStatus::Received));
        assert!(referable(&ReviewStatus::Inspecting));
        for closed in [
            ReviewStatus::Rejected,
            ReviewStatus::Merged,
            ReviewStatus::Fixed,
        ] {
            assert!(!referable(&closed));
        }
        assert_eq!(korea().local_minus_utc(), 9 * 3600);
        assert_eq!(Delivery::for_method(SendMethod::Manual), Delivery::Manual);
        assert_eq!(Delivery::for_method(SendMethod::Email), Delivery::Waiting);
    }
}
