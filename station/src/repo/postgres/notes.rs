//! Internal notes in PostgreSQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::ReportId;

use super::{PgRepository, execute, feed, map_err, query, query_opt};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::notes::{InternalNote, NoteStore, note_from};
use crate::repo::{RepoError, StationId, User};

#[async_trait]
impl NoteStore for PgRepository {
    async fn add_note(
        &self,
        station: StationId,
        report: ReportId,
        author: &User,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<InternalNote, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        // A share lock: the report cannot vanish or move under the note, and
        // decisions on it are not held up.
        let exists = query_opt(
            &tx,
            "SELECT 1 FROM reports WHERE station_id = $1 AND id = $2 FOR KEY SHARE",
            &[&station.0, &report.as_uuid()],
        )
        .await?;
        if exists.is_none() {
            return Err(RepoError::NotFound("report"));
        }
        let note = InternalNote::new(report, author, body, now);
        execute(
            &tx,
            "INSERT INTO report_notes (id, station_id, report_id, author_user_id,
                                       author_username, at, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &note.id,
                &station.0,
                &report.as_uuid(),
                &author.id,
                &note.author_username,
                &now,
                &note.body,
            ],
        )
        .await?;
        feed::log(&tx, station, &ActionLog::note_added(author, &note), now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(note)
    }

    async fn notes(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<InternalNote>, RepoError> {
        let rows = query(
            &self.client().await?,
            "SELECT id, report_id, author_username, at, body FROM report_notes
             WHERE station_id = $1 AND report_id = $2 ORDER BY at, id",
            &[&station.0, &report.as_uuid()],
        )
        .await?;
        rows.iter().map(note_from).collect()
    }
}
