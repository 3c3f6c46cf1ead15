//! Agencies and routing rules in PostgreSQL. Every write locks the station's
//! row first, so one station's agency and rule changes queue (each reads
//! what the previous one left).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use secrecy::SecretString;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{PgRepository, execute, feed, lock_station, map_err, query, query_opt};
use crate::repo::agencies::{
    AGENCY_COLUMNS, AgencyChange, AgencyFields, RULE_COLUMNS, agency_from, code_taken, find,
    not_retired, number_rules, plan_rule, rule_from, same_rules,
};
use crate::repo::columns::micros;
use crate::repo::feed::ActionLog;
use crate::repo::{
    Actor, Agency, AgencyImport, AgencyImportOutcome, AgencyStore, AgencyUpdate, NewAgency,
    NewRoutingRule, RepoError, RoutingRule, StationId,
};

/// The station's agencies, by code.
pub(super) async fn list<C: GenericClient>(
    c: &C,
    station: StationId,
) -> Result<Vec<Agency>, RepoError> {
    query(
        c,
        &format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE station_id = $1 ORDER BY code"),
        &[&station.0],
    )
    .await?
    .iter()
    .map(agency_from)
    .collect()
}

/// One agency by code.
pub(super) async fn by_code<C: GenericClient>(
    c: &C,
    station: StationId,
    code: &str,
) -> Result<Option<Agency>, RepoError> {
    query_opt(
        c,
        &format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE station_id = $1 AND code = $2"),
        &[&station.0, &code],
    )
    .await?
    .as_ref()
    .map(agency_from)
    .transpose()
}

async fn api_key<C: GenericClient>(
    c: &C,
    station: StationId,
    id: Uuid,
) -> Result<Option<SecretString>, RepoError> {
    let row = query_opt(
        c,
        "SELECT open311_api_key FROM agencies WHERE station_id = $1 AND id = $2",
        &[&station.0, &id],
    )
    .await?;
    let key: Option<String> = match row {
        Some(row) => row.try_get(0).map_err(map_err)?,
        None => None,
    };
    Ok(key.map(SecretString::from))
}

/// Whether [`save`] adds the agency or rewrites the stored one.
#[derive(Clone, Copy)]
enum Save {
    Insert,
    Update,
}

/// Writes an agency's fields: the same twelve values, in the same order,
/// for a new agency and for a changed one.
async fn save<C: GenericClient>(
    c: &C,
    station: StationId,
    code: &str,
    fields: &AgencyFields,
    now: DateTime<Utc>,
    how: Save,
) -> Result<(), RepoError> {
    let (kind, method) = (fields.kind.as_str(), fields.send_method.as_str());
    let format = fields.format.map(|f| f.as_str());
    let key = fields.api_key_text();
    let (service_codes, emails) = (fields.service_codes_json()?, fields.emails_json()?);
    let id = Uuid::now_v7();
    let mut values: Vec<&(dyn ToSql + Sync)> = vec![
        &station.0,
        &code,
        &fields.name_ko,
        &fields.name_en,
        &kind,
        &method,
        &fields.endpoint,
        &fields.jurisdiction_id,
        &format,
        &key,
        &service_codes,
        &emails,
        &now,
    ];
    let sql = match how {
        Save::Insert => {
            values.push(&id);
            "INSERT INTO agencies (station_id, code, name_ko, name_en, kind, send_method,
                 open311_endpoint, open311_jurisdiction_id, open311_format, open311_api_key,
                 service_codes_json, emails_json, created_at, updated_at, id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14)"
        }
        Save::Update => {
            "UPDATE agencies SET name_ko = $3, name_en = $4, kind = $5, send_method = $6,
                 open311_endpoint = $7, open311_jurisdiction_id = $8, open311_format = $9,
                 open311_api_key = $10, service_codes_json = $11, emails_json = $12,
                 updated_at = $13
             WHERE station_id = $1 AND code = $2"
        }
    };
    execute(c, sql, &values).await?;
    Ok(())
}

async fn add<C: GenericClient>(
    c: &C,
    station: StationId,
    agency: &NewAgency,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Agency, RepoError> {
    if by_code(c, station, &agency.code).await?.is_some() {
        return Err(code_taken(&agency.code));
    }
    let fields = AgencyFields::new(agency);
    fields.check_for(&agency.code)?;
    save(c, station, &agency.code, &fields, now, Save::Insert).await?;
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Add,
        &agency.code,
        None,
        (&fields, false),
    );
    feed::log(c, station, &log, now).await?;
    by_code(c, station, &agency.code)
        .await?
        .ok_or(RepoError::NotFound("agency"))
}

async fn update<C: GenericClient>(
    c: &C,
    station: StationId,
    code: &str,
    change: &AgencyUpdate,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Agency, bool), RepoError> {
    let before = by_code(c, station, code)
        .await?
        .ok_or(RepoError::NotFound("agency"))?;
    let key = api_key(c, station, before.id).await?;
    let old = AgencyFields::of(&before, key.clone());
    let Some(after) = change.applied_to(&before, key)? else {
        return Ok((before, false));
    };
    save(c, station, code, &after, now, Save::Update).await?;
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Update,
        code,
        Some((&old, false)),
        (&after, false),
    );
    feed::log(c, station, &log, now).await?;
    let agency = by_code(c, station, code)
        .await?
        .ok_or(RepoError::NotFound("agency"))?;
    Ok((agency, true))
}

async fn retire<C: GenericClient>(
    c: &C,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Agency, bool), RepoError> {
    let before = by_code(c, station, code)
        .await?
        .ok_or(RepoError::NotFound("agency"))?;
    if before.retired_at.is_some() {
        return Ok((before, false));
    }
    execute(
        c,
        "UPDATE agencies SET retired_at = $3, updated_at = $3 WHERE station_id = $1 AND code = $2",
        &[&station.0, &code, &now],
    )
    .await?;
    let fields = AgencyFields::of(&before, api_key(c, station, before.id).await?);
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Retire,
        code,
        Some((&fields, false)),
        (&fields, true),
    );
    feed::log(c, station, &log, now).await?;
    let agency = by_code(c, station, code)
        .await?
        .ok_or(RepoError::NotFound("agency"))?;
    Ok((agency, true))
}

async fn rules<C: GenericClient>(c: &C, station: StationId) -> Result<Vec<RoutingRule>, RepoError> {
    query(
        c,
        &format!(
            "SELECT {RULE_COLUMNS} FROM routing_rules r
             JOIN agencies a ON a.station_id = r.station_id AND a.id = r.agency_id
             WHERE r.station_id = $1 ORDER BY r.priority"
        ),
        &[&station.0],
    )
    .await?
    .iter()
    .map(rule_from)
    .collect()
}

async fn add_rule<C: GenericClient>(
    c: &C,
    station: StationId,
    new: &NewRoutingRule,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<RoutingRule, RepoError> {
    let rule = plan_rule(
        &rules(c, station).await?,
        &list(c, station).await?,
        new,
        now,
    )?;
    let (district, zone) = rule.area.columns();
    let priority = i32::try_from(rule.priority)
        .map_err(|_| RepoError::Conflict("the priority is too large".into()))?;
    execute(
        c,
        "INSERT INTO routing_rules (id, station_id, priority, category, district_code, zone_code,
                                    agency_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &rule.id,
            &station.0,
            &priority,
            &rule.category,
            &district,
            &zone,
            &rule.agency_id,
            &rule.created_at,
        ],
    )
    .await?;
    feed::log(c, station, &ActionLog::rule_added(actor, &rule), now).await?;
    Ok(rule)
}

async fn remove_rule<C: GenericClient>(
    c: &C,
    station: StationId,
    id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<RoutingRule, RepoError> {
    let rule = rules(c, station)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(RepoError::NotFound("routing rule"))?;
    execute(
        c,
        "DELETE FROM routing_rules WHERE station_id = $1 AND id = $2",
        &[&station.0, &id],
    )
    .await?;
    feed::log(c, station, &ActionLog::rule_removed(actor, &rule), now).await?;
    Ok(rule)
}

async fn import<C: GenericClient>(
    c: &C,
    station: StationId,
    agencies: &[NewAgency],
    new_rules: Option<Vec<NewRoutingRule>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AgencyImport, RepoError> {
    let stored = list(c, station).await?;
    let mut outcomes = Vec::with_capacity(agencies.len());
    for (n, agency) in agencies.iter().enumerate() {
        if agencies[..n].iter().any(|a| a.code == agency.code) {
            return Err(RepoError::Conflict(format!(
                "agency `{}` is defined twice",
                agency.code
            )));
        }
        let outcome = match find(&stored, &agency.code) {
            None => {
                add(c, station, agency, actor.clone(), now).await?;
                AgencyImportOutcome::Added
            }
            Some(before) => {
                not_retired(before)?;
                let redefined = AgencyUpdate::redefine(agency);
                match update(c, station, &agency.code, &redefined, actor.clone(), now).await? {
                    (_, true) => AgencyImportOutcome::Updated,
                    (_, false) => AgencyImportOutcome::Unchanged,
                }
            }
        };
        outcomes.push((agency.code.clone(), outcome));
    }
    let mut rules_replaced = false;
    if let Some(mut new_rules) = new_rules {
        number_rules(&mut new_rules);
        let old = rules(c, station).await?;
        if !same_rules(&old, &new_rules) {
            for rule in &old {
                remove_rule(c, station, rule.id, actor.clone(), now).await?;
            }
            for rule in &new_rules {
                add_rule(c, station, rule, actor.clone(), now).await?;
            }
            rules_replaced = true;
        }
    }
    Ok(AgencyImport {
        agencies: outcomes,
        rules_replaced,
        rules: rules(c, station).await?.len(),
    })
}

#[async_trait]
impl AgencyStore for PgRepository {
    async fn agencies(&self, station: StationId) -> Result<Vec<Agency>, RepoError> {
        list(&self.client().await?, station).await
    }

    async fn add_agency(
        &self,
        station: StationId,
        agency: NewAgency,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Agency, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let agency = add(&tx, station, &agency, actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(agency)
    }

    async fn update_agency(
        &self,
        station: StationId,
        code: &str,
        change: AgencyUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let done = update(&tx, station, code, &change, actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done)
    }

    async fn retire_agency(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let done = retire(&tx, station, code, actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done)
    }

    async fn agency_api_key(
        &self,
        station: StationId,
        agency: Uuid,
    ) -> Result<Option<SecretString>, RepoError> {
        api_key(&self.client().await?, station, agency).await
    }

    async fn routing_rules(&self, station: StationId) -> Result<Vec<RoutingRule>, RepoError> {
        rules(&self.client().await?, station).await
    }

    async fn add_routing_rule(
        &self,
        station: StationId,
        rule: NewRoutingRule,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let rule = add_rule(&tx, station, &rule, actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rule)
    }

    async fn remove_routing_rule(
        &self,
        station: StationId,
        rule: Uuid,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let rule = remove_rule(&tx, station, rule, actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rule)
    }

    async fn import_agencies(
        &self,
        station: StationId,
        agencies: Vec<NewAgency>,
        rules: Option<Vec<NewRoutingRule>>,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<AgencyImport, RepoError> {
        let now = micros(now);
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        lock_station(&tx, station).await?;
        let done = import(&tx, station, &agencies, rules, &actor, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(done)
    }
}
