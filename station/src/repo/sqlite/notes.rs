//! Internal notes in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;
use rusqlite::params;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::notes::{InternalNote, NoteStore, note_from};
use crate::repo::{RepoError, StationId, User};

#[async_trait]
impl NoteStore for SqliteRepository {
    async fn add_note(
        &self,
        station: StationId,
        report: ReportId,
        author: &User,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<InternalNote, RepoError> {
        let author = author.clone();
        let now = micros(now);
        self.write_tx(move |tx| {
            let exists = first_row(
                tx,
                "SELECT 1 FROM reports WHERE station_id = ?1 AND id = ?2",
                params![station.to_string(), report.to_string()],
                |_| Ok(()),
            )?;
            if exists.is_none() {
                return Err(RepoError::NotFound("report"));
            }
            let note = InternalNote::new(report, &author, body, now);
            tx.execute(
                "INSERT INTO report_notes (id, station_id, report_id, author_user_id,
                                           author_username, at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    note.id.to_string(),
                    station.to_string(),
                    report.to_string(),
                    author.id.to_string(),
                    note.author_username,
                    ts(now),
                    note.body
                ],
            )
            .map_err(map_err)?;
            feed::log(tx, station, &ActionLog::note_added(&author, &note), now)?;
            Ok(note)
        })
        .await
    }

    async fn notes(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<InternalNote>, RepoError> {
        self.read(move |conn| {
            all_rows(
                conn,
                "SELECT id, report_id, author_username, at, body FROM report_notes
                 WHERE station_id = ?1 AND report_id = ?2 ORDER BY at, id",
                params![station.to_string(), report.to_string()],
                |r| note_from(r),
            )
        })
        .await
    }
}
