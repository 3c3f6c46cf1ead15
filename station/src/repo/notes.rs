//! Internal notes on a report: what staff write for each other, kept apart
//! from the status reason, which the carrier reads through the changes feed.
//! Notes are append-only; each one leaves a `report.note` audit row that says
//! a note was added and by whom, never what it says.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use serde_json::json;
use uuid::Uuid;

use super::audit::AuditRecord;
use super::columns::Columns;
use super::feed::ActionLog;
use super::{Actor, RepoError, StationId, User};

/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// An internal note as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalNote {
    /// Its id.
    pub id: Uuid,
    /// The report it is about.
    pub report_id: ReportId,
    /// Who wrote it.
    pub author_username: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The text (staff only; never logged, never in the audit log).
    pub body: String,
}

/// Why a note was refused before anything was stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// Nothing but blanks.
    #[error("the note is empty")]
    Empty,
    /// Longer than [`MAX_NOTE_CHARS`].
    #[error("the note is longer than {MAX_NOTE_CHARS} characters")]
    TooLong,
    /// Control characters other than line breaks.
    #[error("the note holds control characters other than line breaks")]
    ControlCharacters,
}

/// The rule for a note's text: trimmed, not empty, at most
/// [`MAX_NOTE_CHARS`] characters, no control characters but line breaks
/// (`\r\n` from a browser's text area becomes `\n`).
pub fn clean_note(raw: &str) -> Result<String, NoteError> {
    let text = raw.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(NoteError::Empty);
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(NoteError::TooLong);
    }
    if text.chars().any(|c| c.is_control() && c != '\n') {
        return Err(NoteError::ControlCharacters);
    }
    Ok(text.to_owned())
}

impl InternalNote {
    /// A new note by `author` on `report`, at `at`.
    pub(crate) fn new(report: ReportId, author: &User, body: String, at: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            report_id: report,
            author_username: author.username.clone(),
            at,
            body,
        }
    }
}

/// A note read back: `id, report_id, author_username, at, body`.
pub(crate) fn note_from(row: &impl Columns) -> Result<InternalNote, RepoError> {
    Ok(InternalNote {
        id: row.uuid(0)?,
        report_id: row.report_id(1)?,
        author_username: row.text(2)?,
        at: row.time(3)?,
        body: row.text(4)?,
    })
}

impl ActionLog {
    /// `report.note` by its author: its id and length, never its text.
    pub(crate) fn note_added(author: &User, note: &InternalNote) -> Self {
        let after = json!({ "note_id": note.id, "chars": note.body.chars().count() });
        Self {
            actor: Actor::user(author),
            audit: AuditRecord::new("report.note", "report", note.report_id, None, after),
            change: None,
        }
    }
}

/// Internal notes on reports.
#[async_trait]
pub trait NoteStore: Send + Sync {
    /// Adds a note (already cleaned, see [`clean_note`]) by `author` on a
    /// report of the station, with its audit row in the same transaction.
    /// `NotFound` when the report is not in the station.
    async fn add_note(
        &self,
        station: StationId,
        report: ReportId,
        author: &User,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<InternalNote, RepoError>;
    /// The report's notes, oldest first.
    async fn notes(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<InternalNote>, RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_and_bounded() {
        assert_eq!(
            clean_note("  a\r\nb  ").as_deref(),
            Ok("a\nb"),
            "browser line breaks"
        );
        assert_eq!(clean_note(" \n "), Err(NoteError::Empty));
        assert_eq!(clean_note(&"가".repeat(2000)).map(|n| n.len()), Ok(6000));
        assert_eq!(clean_note(&"가".repeat(2001)), Err(NoteError::TooLong));
        assert_eq!(clean_note("a\u{7}b"), Err(NoteError::ControlCharacters));
    }
}
