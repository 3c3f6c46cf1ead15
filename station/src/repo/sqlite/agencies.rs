//! Agencies and routing rules in SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};
use secrecy::SecretString;
use uuid::Uuid;

use super::rows::{all_rows, first_row, ts};
use super::{SqliteRepository, feed, map_err};
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
pub(super) fn list(conn: &Connection, station: StationId) -> Result<Vec<Agency>, RepoError> {
    all_rows(
        conn,
        &format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE station_id = ?1 ORDER BY code"),
        params![station.to_string()],
        |r| agency_from(r),
    )
}

/// One agency by code.
pub(super) fn by_code(
    conn: &Connection,
    station: StationId,
    code: &str,
) -> Result<Option<Agency>, RepoError> {
    first_row(
        conn,
        &format!("SELECT {AGENCY_COLUMNS} FROM agencies WHERE station_id = ?1 AND code = ?2"),
        params![station.to_string(), code],
        |r| agency_from(r),
    )
}

fn api_key(
    conn: &Connection,
    station: StationId,
    id: Uuid,
) -> Result<Option<SecretString>, RepoError> {
    let key = first_row(
        conn,
        "SELECT open311_api_key FROM agencies WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id.to_string()],
        |r| r.get::<_, Option<String>>(0).map_err(map_err),
    )?;
    Ok(key.flatten().map(SecretString::from))
}

fn insert(
    conn: &Connection,
    station: StationId,
    code: &str,
    fields: &AgencyFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute(
        "INSERT INTO agencies (id, station_id, code, name_ko, name_en, kind, send_method,
             open311_endpoint, open311_jurisdiction_id, open311_format, open311_api_key,
             service_codes_json, emails_json, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?14)",
        params![
            Uuid::now_v7().to_string(),
            station.to_string(),
            code,
            fields.name_ko,
            fields.name_en,
            fields.kind.as_str(),
            fields.send_method.as_str(),
            fields.endpoint,
            fields.jurisdiction_id,
            fields.format.map(|f| f.as_str()),
            fields.api_key_text(),
            fields.service_codes_json()?,
            fields.emails_json()?,
            ts(now),
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

fn write(
    conn: &Connection,
    station: StationId,
    code: &str,
    fields: &AgencyFields,
    now: DateTime<Utc>,
) -> Result<(), RepoError> {
    conn.execute(
        "UPDATE agencies SET name_ko = ?3, name_en = ?4, kind = ?5, send_method = ?6,
             open311_endpoint = ?7, open311_jurisdiction_id = ?8, open311_format = ?9,
             open311_api_key = ?10, service_codes_json = ?11, emails_json = ?12, updated_at = ?13
         WHERE station_id = ?1 AND code = ?2",
        params![
            station.to_string(),
            code,
            fields.name_ko,
            fields.name_en,
            fields.kind.as_str(),
            fields.send_method.as_str(),
            fields.endpoint,
            fields.jurisdiction_id,
            fields.format.map(|f| f.as_str()),
            fields.api_key_text(),
            fields.service_codes_json()?,
            fields.emails_json()?,
            ts(now),
        ],
    )
    .map_err(map_err)?;
    Ok(())
}

fn add(
    conn: &Connection,
    station: StationId,
    agency: &NewAgency,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<Agency, RepoError> {
    if by_code(conn, station, &agency.code)?.is_some() {
        return Err(code_taken(&agency.code));
    }
    let fields = AgencyFields::new(agency);
    fields.check_for(&agency.code)?;
    insert(conn, station, &agency.code, &fields, now)?;
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Add,
        &agency.code,
        None,
        (&fields, false),
    );
    feed::log(conn, station, &log, now)?;
    by_code(conn, station, &agency.code)?.ok_or(RepoError::NotFound("agency"))
}

fn update(
    conn: &Connection,
    station: StationId,
    code: &str,
    change: &AgencyUpdate,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Agency, bool), RepoError> {
    let before = by_code(conn, station, code)?.ok_or(RepoError::NotFound("agency"))?;
    let key = api_key(conn, station, before.id)?;
    let old = AgencyFields::of(&before, key.clone());
    let Some(after) = change.applied_to(&before, key)? else {
        return Ok((before, false));
    };
    write(conn, station, code, &after, now)?;
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Update,
        code,
        Some((&old, false)),
        (&after, false),
    );
    feed::log(conn, station, &log, now)?;
    let agency = by_code(conn, station, code)?.ok_or(RepoError::NotFound("agency"))?;
    Ok((agency, true))
}

fn retire(
    conn: &Connection,
    station: StationId,
    code: &str,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<(Agency, bool), RepoError> {
    let before = by_code(conn, station, code)?.ok_or(RepoError::NotFound("agency"))?;
    if before.retired_at.is_some() {
        return Ok((before, false));
    }
    conn.execute(
        "UPDATE agencies SET retired_at = ?3, updated_at = ?3 WHERE station_id = ?1 AND code = ?2",
        params![station.to_string(), code, ts(now)],
    )
    .map_err(map_err)?;
    let fields = AgencyFields::of(&before, api_key(conn, station, before.id)?);
    let log = ActionLog::agency_changed(
        actor,
        AgencyChange::Retire,
        code,
        Some((&fields, false)),
        (&fields, true),
    );
    feed::log(conn, station, &log, now)?;
    let agency = by_code(conn, station, code)?.ok_or(RepoError::NotFound("agency"))?;
    Ok((agency, true))
}

fn rules(conn: &Connection, station: StationId) -> Result<Vec<RoutingRule>, RepoError> {
    all_rows(
        conn,
        &format!(
            "SELECT {RULE_COLUMNS} FROM routing_rules r JOIN agencies a ON a.id = r.agency_id
             WHERE r.station_id = ?1 ORDER BY r.priority"
        ),
        params![station.to_string()],
        |r| rule_from(r),
    )
}

fn add_rule(
    conn: &Connection,
    station: StationId,
    new: &NewRoutingRule,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<RoutingRule, RepoError> {
    let rule = plan_rule(&rules(conn, station)?, &list(conn, station)?, new, now)?;
    let (district, zone) = rule.area.columns();
    conn.execute(
        "INSERT INTO routing_rules (id, station_id, priority, category, district_code, zone_code,
                                    agency_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            rule.id.to_string(),
            station.to_string(),
            rule.priority,
            rule.category,
            district,
            zone,
            rule.agency_id.to_string(),
            ts(rule.created_at),
        ],
    )
    .map_err(map_err)?;
    feed::log(conn, station, &ActionLog::rule_added(actor, &rule), now)?;
    Ok(rule)
}

fn remove_rule(
    conn: &Connection,
    station: StationId,
    id: Uuid,
    actor: Actor,
    now: DateTime<Utc>,
) -> Result<RoutingRule, RepoError> {
    let rule = rules(conn, station)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(RepoError::NotFound("routing rule"))?;
    conn.execute(
        "DELETE FROM routing_rules WHERE station_id = ?1 AND id = ?2",
        params![station.to_string(), id.to_string()],
    )
    .map_err(map_err)?;
    feed::log(conn, station, &ActionLog::rule_removed(actor, &rule), now)?;
    Ok(rule)
}

fn import(
    conn: &Connection,
    station: StationId,
    agencies: &[NewAgency],
    new_rules: Option<Vec<NewRoutingRule>>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<AgencyImport, RepoError> {
    let stored = list(conn, station)?;
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
                add(conn, station, agency, actor.clone(), now)?;
                AgencyImportOutcome::Added
            }
            Some(before) => {
                not_retired(before)?;
                let redefined = AgencyUpdate::redefine(agency);
                match update(conn, station, &agency.code, &redefined, actor.clone(), now)? {
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
        let old = rules(conn, station)?;
        if !same_rules(&old, &new_rules) {
            for rule in &old {
                remove_rule(conn, station, rule.id, actor.clone(), now)?;
            }
            for rule in &new_rules {
                add_rule(conn, station, rule, actor.clone(), now)?;
            }
            rules_replaced = true;
        }
    }
    Ok(AgencyImport {
        agencies: outcomes,
        rules_replaced,
        rules: rules(conn, station)?.len(),
    })
}

#[async_trait]
impl AgencyStore for SqliteRepository {
    async fn agencies(&self, station: StationId) -> Result<Vec<Agency>, RepoError> {
        self.read(move |conn| list(conn, station)).await
    }

    async fn add_agency(
        &self,
        station: StationId,
        agency: NewAgency,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<Agency, RepoError> {
        let now = micros(now);
        self.write_tx(move |tx| add(tx, station, &agency, actor, now))
            .await
    }

    async fn update_agency(
        &self,
        station: StationId,
        code: &str,
        change: AgencyUpdate,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError> {
        let (code, now) = (code.to_owned(), micros(now));
        self.write_tx(move |tx| update(tx, station, &code, &change, actor, now))
            .await
    }

    async fn retire_agency(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(Agency, bool), RepoError> {
        let (code, now) = (code.to_owned(), micros(now));
        self.write_tx(move |tx| retire(tx, station, &code, actor, now))
            .await
    }

    async fn agency_api_key(
        &self,
        station: StationId,
        agency: Uuid,
    ) -> Result<Option<SecretString>, RepoError> {
        self.read(move |conn| api_key(conn, station, agency)).await
    }

    async fn routing_rules(&self, station: StationId) -> Result<Vec<RoutingRule>, RepoError> {
        self.read(move |conn| rules(conn, station)).await
    }

    async fn add_routing_rule(
        &self,
        station: StationId,
        rule: NewRoutingRule,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError> {
        let now = micros(now);
        self.write_tx(move |tx| add_rule(tx, station, &rule, actor, now))
            .await
    }

    async fn remove_routing_rule(
        &self,
        station: StationId,
        rule: Uuid,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<RoutingRule, RepoError> {
        let now = micros(now);
        self.write_tx(move |tx| remove_rule(tx, station, rule, actor, now))
            .await
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
        self.write_tx(move |tx| import(tx, station, &agencies, rules, &actor, now))
            .await
    }
}
