//! Referrals and the agencies' answers in PostgreSQL. Both writes lock the
//! report row first, the order triage and inspections take, so decisions on
//! one report queue and each sees the previous one's result.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use postcso_model::{ReportId, ReviewStatus};
use uuid::Uuid;

use super::{PgRepository, agencies, execute, feed, map_err, query, query_opt, reports};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::referrals::{
    REFERRAL_COLUMNS, actor_name, answer_from, check_answer, check_refer, line_answered,
    line_referred, referral_from, status_after,
};
use crate::repo::{
    Actor, AnswerOutcome, Delivery, NewAnswer, NewReferral, ReferOutcome, Referral, ReferralAnswer,
    ReferralStore, RepoError, StationId, StoredReport,
};

const FROM: &str = "FROM referrals r
                    JOIN agencies a ON a.station_id = r.station_id AND a.id = r.agency_id
                    LEFT JOIN agencies p ON p.station_id = r.station_id AND p.id = r.proposed_agency_id";

async fn answers_of<C: GenericClient>(
    c: &C,
    station: StationId,
    referral: Uuid,
) -> Result<Vec<ReferralAnswer>, RepoError> {
    query(
        c,
        "SELECT answer, note, answered_on::text, source, recorded_by, recorded_at
         FROM referral_answers WHERE station_id = $1 AND referral_id = $2
         ORDER BY recorded_at, answer",
        &[&station.0, &referral],
    )
    .await?
    .iter()
    .map(|r| answer_from(r, 0))
    .collect()
}

async fn with_answers<C: GenericClient>(
    c: &C,
    station: StationId,
    rows: Vec<tokio_postgres::Row>,
) -> Result<Vec<Referral>, RepoError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut referral = referral_from(row, Vec::new())?;
        referral.answers = answers_of(c, station, referral.id).await?;
        out.push(referral);
    }
    Ok(out)
}

async fn of_report<C: GenericClient>(
    c: &C,
    station: StationId,
    report: ReportId,
) -> Result<Vec<Referral>, RepoError> {
    let rows = query(
        c,
        &format!(
            "SELECT {REFERRAL_COLUMNS} {FROM} WHERE r.station_id = $1 AND r.report_id = $2
             ORDER BY r.created_at, r.id"
        ),
        &[&station.0, &report.as_uuid()],
    )
    .await?;
    with_answers(c, station, rows).await
}

async fn one<C: GenericClient>(
    c: &C,
    station: StationId,
    id: Uuid,
) -> Result<Option<Referral>, RepoError> {
    let rows = query(
        c,
        &format!("SELECT {REFERRAL_COLUMNS} {FROM} WHERE r.station_id = $1 AND r.id = $2"),
        &[&station.0, &id],
    )
    .await?;
    Ok(with_answers(c, station, rows).await?.pop())
}

/// Locks the report row; false when the station has no such report.
async fn lock_report(
    tx: &Transaction<'_>,
    station: StationId,
    report: ReportId,
) -> Result<bool, RepoError> {
    Ok(query_opt(
        tx,
        "SELECT 1 FROM reports WHERE station_id = $1 AND id = $2 FOR UPDATE",
        &[&station.0, &report.as_uuid()],
    )
    .await?
    .is_some())
}

/// Sets the report's status and the carrier's line, with its audit row and
/// feed entry.
async fn set_status(
    tx: &Transaction<'_>,
    station: StationId,
    before: &StoredReport,
    status: &ReviewStatus,
    line: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    execute(
        tx,
        "UPDATE reports SET status = $3, status_reason = $4 WHERE station_id = $1 AND id = $2",
        &[&station.0, &before.id.as_uuid(), &status.as_str(), &line],
    )
    .await?;
    let log = ActionLog::report_status(actor, before, status, Some(line));
    feed::log(tx, station, &log, now).await
}

async fn refer(
    tx: &Transaction<'_>,
    station: StationId,
    new: &NewReferral,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<ReferOutcome, RepoError> {
    if !lock_report(tx, station, new.report).await? {
        return Ok(ReferOutcome::NoReport);
    }
    let Some(report) = reports::load(tx, station, new.report).await? else {
        return Ok(ReferOutcome::NoReport);
    };
    let agency = agencies::by_code(tx, station, &new.agency_code).await?;
    let open = of_report(tx, station, new.report)
        .await?
        .into_iter()
        .find(Referral::is_open);
    let agency = match check_refer(&report, agency.as_ref(), open, new.if_version)? {
        Ok(agency) => agency,
        Err(refused) => return Ok(refused),
    };
    let id = Uuid::now_v7();
    execute(
        tx,
        "INSERT INTO referrals (id, station_id, report_id, agency_id, send_method, delivery,
                                body, proposed_agency_id, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &id,
            &station.0,
            &new.report.as_uuid(),
            &agency.id,
            &agency.send_method.as_str(),
            &Delivery::for_method(agency.send_method).as_str(),
            &new.text,
            &new.proposed,
            &actor_name(&actor),
            &now,
        ],
    )
    .await?;
    let referral = one(tx, station, id)
        .await?
        .ok_or(RepoError::NotFound("referral"))?;
    let log = ActionLog::referral_created(actor.clone(), &referral);
    feed::log(tx, station, &log, now).await?;
    let line = line_referred(&agency.name_ko);
    set_status(
        tx,
        station,
        &report,
        &ReviewStatus::Referred,
        &line,
        actor,
        now,
    )
    .await?;
    let report = reports::load(tx, station, new.report)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    Ok(ReferOutcome::Referred {
        referral: Box::new(referral),
        report: Box::new(report),
    })
}

async fn answer(
    tx: &Transaction<'_>,
    station: StationId,
    id: Uuid,
    new: &NewAnswer,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<AnswerOutcome, RepoError> {
    let Some(found) = one(tx, station, id).await? else {
        return Ok(AnswerOutcome::NoReferral);
    };
    if !lock_report(tx, station, found.report_id).await? {
        return Err(RepoError::NotFound("report"));
    }
    // Read again under the report's lock: another answer may have landed.
    let referral = one(tx, station, id)
        .await?
        .ok_or(RepoError::NotFound("referral"))?;
    let report = reports::load(tx, station, referral.report_id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    if let Some(refused) = check_answer(&referral, &report, new)? {
        return Ok(refused);
    }
    execute(
        tx,
        "INSERT INTO referral_answers (referral_id, station_id, answer, note, answered_on, source,
                                       recorded_by, recorded_at)
         VALUES ($1, $2, $3, $4, $5, 'supervisor', $6, $7)",
        &[
            &id,
            &station.0,
            &new.answer.as_str(),
            &new.note,
            &new.answered_on,
            &actor_name(&actor),
            &now,
        ],
    )
    .await?;
    if new.answer.closes() {
        execute(
            tx,
            "UPDATE referrals SET closed_at = $3 WHERE station_id = $1 AND id = $2",
            &[&station.0, &id, &now],
        )
        .await?;
    }
    let log = ActionLog::referral_answered(actor.clone(), &referral, new);
    feed::log(tx, station, &log, now).await?;
    let line = line_answered(
        &referral.agency.name_ko,
        new.answer,
        new.note.as_deref(),
        new.answered_on,
    );
    set_status(
        tx,
        station,
        &report,
        &status_after(new.answer),
        &line,
        actor,
        now,
    )
    .await?;
    let referral = one(tx, station, id)
        .await?
        .ok_or(RepoError::NotFound("referral"))?;
    let report = reports::load(tx, station, report.id)
        .await?
        .ok_or(RepoError::NotFound("report"))?;
    Ok(AnswerOutcome::Recorded {
        referral: Box::new(referral),
        report: Box::new(report),
    })
}

#[async_trait]
impl ReferralStore for PgRepository {
    async fn refer_report(
        &self,
        station: StationId,
        referral: NewReferral,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<ReferOutcome, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let outcome = refer(&tx, station, &referral, actor, now).await?;
        if matches!(outcome, ReferOutcome::Referred { .. }) {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(outcome)
    }

    async fn referrals(
        &self,
        station: StationId,
        report: ReportId,
    ) -> Result<Vec<Referral>, RepoError> {
        of_report(&self.client().await?, station, report).await
    }

    async fn referral(
        &self,
        station: StationId,
        referral: Uuid,
    ) -> Result<Option<Referral>, RepoError> {
        one(&self.client().await?, station, referral).await
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let outcome = answer(&tx, station, referral, &new, actor, now).await?;
        if matches!(outcome, AnswerOutcome::Recorded { .. }) {
            tx.commit().await.map_err(map_err)?;
        }
        Ok(outcome)
    }
}
