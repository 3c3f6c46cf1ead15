//! Referrals and the agencies' answers in SQLite, each write with the
//! report's status change, its audit rows and the carrier's feed entry in
//! the caller's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{ReportId, ReviewStatus};
use rusqlite::{Connection, params};
use uuid::Uuid;

use super::rows::{all_rows, ts};
use super::{SqliteRepository, agencies, feed, map_err, reports};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::referrals::{
    ANSWER_COLUMNS, REFERRAL_COLUMNS, actor_name, answer_from, check_answer, check_refer,
    line_answered, line_referred, referral_from, status_after,
};
use crate::repo::{
    Actor, AnswerOutcome, Delivery, NewAnswer, NewReferral, ReferOutcome, Referral, ReferralStore,
    RepoError, StationId, StoredReport,
};

const FROM: &str = "FROM referrals r JOIN agencies a ON a.id = r.agency_id
                    LEFT JOIN agencies p ON p.id = r.proposed_agency_id";

fn answers_of(
    conn: &Connection,
    referral: Uuid,
) -> Result<Vec<crate::repo::ReferralAnswer>, RepoError> {
    all_rows(
        conn,
        &format!(
            "SELECT {ANSWER_COLUMNS} FROM referral_answers WHERE referral_id = ?1
             ORDER BY recorded_at, rowid"
        ),
        params![referral.to_string()],
        |r| answer_from(r, 0),
    )
}

/// Reads the referrals a condition on `r` selects, with their answers.
fn select(
    conn: &Connection,
    condition: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Referral>, RepoError> {
    let heads = all_rows(
        conn,
        &format!("SELECT {REFERRAL_COLUMNS} {FROM} WHERE {condition} ORDER BY r.created_at, r.id"),
        params,
        |r| referral_from(r, Vec::new()),
    )?;
    heads
        .into_iter()
        .map(|mut referral| {
            referral.answers = answers_of(conn, referral.id)?;
            Ok(referral)
        })
        .collect()
}

fn of_report(
    conn: &Connection,
    station: StationId,
    report: ReportId,
) -> Result<Vec<Referral>, RepoError> {
    select(
        conn,
        "r.station_id = ?1 AND r.report_id = ?2",
        params![station.to_string(), report.to_string()],
    )
}

fn one(conn: &Connection, station: StationId, id: Uuid) -> Result<Option<Referral>, RepoError> {
    Ok(select(
        conn,
        "r.station_id = ?1 AND r.id = ?2",
        params![station.to_string(), id.to_string()],
    )?
    .pop())
}

/// Sets the report's status and the carrier's line, with its audit row and
/// feed entry.
fn set_status(
    conn: &Connection,
    station: StationId,
    before: &StoredReport,
    status: &ReviewStatus,
    line: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute(
        "UPDATE reports SET status = ?3, status_reason = ?4 WHERE station_id = ?1 AND id = ?2",
        params![
            station.to_string(),
            before.id.to_string(),
            status.as_str(),
            line
        ],
    )
    .map_err(map_err)?;
    let log = ActionLog::report_status(actor, before, status, Some(line));
    feed::log(conn, station, &log, now)
}

fn refer(
    conn: &Connection,
    station: StationId,
    new: &NewReferral,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<ReferOutcome, RepoError> {
    let Some(report) = reports::load(conn, station, new.report)? else {
        return Ok(ReferOutcome::NoReport);
    };
    let agency = agencies::by_code(conn, station, &new.agency_code)?;
    let open = of_report(conn, station, new.report)?
        .into_iter()
        .find(Referral::is_open);
    let agency = match check_refer(&report, agency.as_ref(), open, new.if_version)? {
        Ok(agency) => agency,
        Err(refused) => return Ok(refused),
    };
    let id = Uuid::now_v7();
    conn.execute(
        "INSERT INTO referrals (id, station_id, report_id, agency_id, send_method, delivery,
                                body, proposed_agency_id, created_by, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id.to_string(),
            station.to_string(),
            new.report.to_string(),
            agency.id.to_string(),
            agency.send_method.as_str(),
            Delivery::for_method(agency.send_method).as_str(),
            new.text,
            new.proposed.map(|p| p.to_string()),
            actor_name(&actor),
            ts(now),
        ],
    )
    .map_err(map_err)?;
    let referral = one(conn, station, id)?.ok_or(RepoError::NotFound("referral"))?;
    feed::log(
        conn,
        station,
        &ActionLog::referral_created(actor.clone(), &referral),
        now,
    )?;
    let line = line_referred(&agency.name_ko);
    set_status(
        conn,
        station,
        &report,
        &ReviewStatus::Referred,
        &line,
        actor,
        now,
    )?;
    let report = reports::load(conn, station, new.report)?.ok_or(RepoError::NotFound("report"))?;
    Ok(ReferOutcome::Referred {
        referral: Box::new(referral),
        report: Box::new(report),
    })
}

fn answer(
    conn: &Connection,
    station: StationId,
    id: Uuid,
    new: &NewAnswer,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<AnswerOutcome, RepoError> {
    let Some(referral) = one(conn, station, id)? else {
        return Ok(AnswerOutcome::NoReferral);
    };
    let report =
        reports::load(conn, station, referral.report_id)?.ok_or(RepoError::NotFound("report"))?;
    if let Some(refused) = check_answer(&referral, &report, new)? {
        return Ok(refused);
    }
    conn.execute(
        "INSERT INTO referral_answers (referral_id, station_id, answer, note, answered_on, source,
                                       recorded_by, recorded_at)
         VALUES (?1, ?2, ?3, ?4, ?5, 'supervisor', ?6, ?7)",
        params![
            id.to_string(),
            station.to_string(),
            new.answer.as_str(),
            new.note,
            new.answered_on.format("%Y-%m-%d").to_string(),
            actor_name(&actor),
            ts(now),
        ],
    )
    .map_err(map_err)?;
    if new.answer.closes() {
        conn.execute(
            "UPDATE referrals SET closed_at = ?3 WHERE station_id = ?1 AND id = ?2",
            params![station.to_string(), id.to_string(), ts(now)],
        )
        .map_err(map_err)?;
    }
    feed::log(
        conn,
        station,
        &ActionLog::referral_answered(actor.clone(), &referral, new),
        now,
    )?;
    let line = line_answered(
        &referral.agency.name_ko,
        new.answer,
        new.note.as_deref(),
        new.answered_on,
    );
    set_status(
        conn,
        station,
        &report,
        &status_after(new.answer),
        &line,
        actor,
        now,
    )?;
    let referral = one(conn, station, id)?.ok_or(RepoError::NotFound("referral"))?;
    let report = reports::load(conn, station, report.id)?.ok_or(RepoError::NotFound("report"))?;
    Ok(AnswerOutcome::Recorded {
        referral: Box::new(referral),
        report: Box::new(report),
    })
}

#[async_trait]
impl ReferralStore for SqliteRepository {
    async fn refer_report(
        &self,
        station: StationId,
        referral: NewReferral,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<ReferOutcome, RepoError> {
        let now = micros(now);
        self.write_tx(move |tx| refer(tx, station, &referral, actor, now))
            .await
    }

    async fn referrals(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<Referral>, RepoError> {
        self.read(move |conn| of_report(conn, station, report))
            .await
    }

    async fn referral(
        &self,
        station: StationId,
        referral: Uuid,
    ) -> Result<Option<Referral>, RepoError> {
        self.read(move |conn| one(conn, station, referral)).await
    }

    async fn record_answer(
        &self,
        station: StationId,
        referral: Uuid,
        new: NewAnswer,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AnswerOutcome, RepoError> {
        let now = micros(now);
        self.write_tx(move |tx| answer(tx, station, referral, &new, actor, now))
            .await
    }
}
