//! Agencies a station refers fixes to, and the routing rules that propose
//! one for a report: admins manage them, supervisors read them. An agency's
//! Open311 API key is write-only: no answer ever holds it, only
//! `api_key_set`. Fields are checked by `crate::agencies::fields`, as the
//! command line and the import file check them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use uuid::Uuid;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use super::zones::field_errors;
use crate::agencies::fields::{
    AgencyDraft, AgencyPatch, RuleDraft, check_agency, check_rule, check_update,
};
use crate::auth::policy::{may_manage_agencies, may_read_agencies};
use crate::auth::{Caller, StaffCaller};
use crate::repo::{Agency, RepoError, RoutingRule, Session};

fn admin_only(session: &Session) -> Result<(), Problem> {
    if may_manage_agencies(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not manage agencies",
            session.user.role
        )))
    }
}

fn readers_only(session: &Session) -> Result<(), Problem> {
    if may_read_agencies(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not read agencies",
            session.user.role
        )))
    }
}

/// A conflict or a missing agency in words; other storage errors as usual.
fn refused(e: RepoError) -> Problem {
    match e {
        RepoError::NotFound("agency") => Problem::not_found("no such agency"),
        RepoError::NotFound("routing rule") => Problem::not_found("no such routing rule"),
        other => other.into(),
    }
}

/// `GET /v1/agencies`
#[utoipa::path(get, path = "/v1/agencies", tag = "agencies",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The station's agencies by code, retired ones included; never an API key", body = Vec<Agency>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor supervisor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<axum::Json<Vec<Agency>>, Problem> {
    readers_only(&session)?;
    Ok(axum::Json(
        state.repo.agencies(session.user.station_id).await?,
    ))
}

/// `POST /v1/agencies`
#[utoipa::path(post, path = "/v1/agencies", tag = "agencies",
    request_body(content = AgencyDraft, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added; the agency as stored (the API key only as `api_key_set`)", body = Agency),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code exists (retired agencies keep theirs)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad fields, each at its pointer: an unknown kind or method, a method's settings missing or given for another method, a bad endpoint or address, a service code for a category the station lacks", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Json(draft): Json<AgencyDraft>,
) -> Result<Response, Problem> {
    admin_only(&session)?;
    let station = session.user.station_id;
    let categories = state.repo.categories(station).await?;
    let agency = check_agency(&draft, &categories, "")
        .map_err(|faults| Problem::validation(field_errors(faults)))?;
    let agency = state
        .repo
        .add_agency(station, agency, Caller::Staff(session).actor(), Utc::now())
        .await
        .map_err(refused)?;
    tracing::info!(agency = %agency.code, "agency added");
    Ok((StatusCode::CREATED, axum::Json(agency)).into_response())
}

/// `GET /v1/agencies/{code}`
#[utoipa::path(get, path = "/v1/agencies/{code}", tag = "agencies",
    params(("code" = String, Path, description = "The agency's code")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The agency (never its API key)", body = Agency),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor supervisor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agency", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
) -> Result<axum::Json<Agency>, Problem> {
    readers_only(&session)?;
    state
        .repo
        .agencies(session.user.station_id)
        .await?
        .into_iter()
        .find(|a| a.code == code)
        .map(axum::Json)
        .ok_or_else(|| Problem::not_found("no such agency"))
}

/// `PATCH /v1/agencies/{code}`
#[utoipa::path(patch, path = "/v1/agencies/{code}", tag = "agencies",
    params(("code" = String, Path, description = "The agency's code")),
    request_body(content = AgencyPatch, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The agency after the change (unchanged and unaudited when nothing changed). A new send method drops the old one's settings", body = Agency),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agency", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Retired, or the result lacks its method's settings (an open311 agency without endpoint, an email agency without address)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad fields, each at its pointer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn update(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
    Json(patch): Json<AgencyPatch>,
) -> Result<axum::Json<Agency>, Problem> {
    admin_only(&session)?;
    let station = session.user.station_id;
    let categories = state.repo.categories(station).await?;
    let change =
        check_update(&patch, &categories).map_err(|f| Problem::validation(field_errors(f)))?;
    let (agency, changed) = state
        .repo
        .update_agency(
            station,
            &code,
            change,
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(refused)?;
    if changed {
        tracing::info!(agency = %agency.code, "agency updated");
    }
    Ok(axum::Json(agency))
}

/// `POST /v1/agencies/{code}/retire`
#[utoipa::path(post, path = "/v1/agencies/{code}/retire", tag = "agencies",
    params(("code" = String, Path, description = "The agency's code")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Retired (kept, never deleted: referrals keep pointing at it; it takes no new referral and its rules propose nothing); a repeat is a no-op", body = Agency),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such agency", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
) -> Result<axum::Json<Agency>, Problem> {
    admin_only(&session)?;
    let (agency, changed) = state
        .repo
        .retire_agency(
            session.user.station_id,
            &code,
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(refused)?;
    if changed {
        tracing::info!(agency = %agency.code, "agency retired");
    }
    Ok(axum::Json(agency))
}

/// `GET /v1/routing-rules`
#[utoipa::path(get, path = "/v1/routing-rules", tag = "agencies",
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The station's routing rules in priority order (lower first): the first that matches a report's category and place, with an agency not retired, proposes it", body = Vec<RoutingRule>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Neither admin nor supervisor", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_rules(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
) -> Result<axum::Json<Vec<RoutingRule>>, Problem> {
    readers_only(&session)?;
    Ok(axum::Json(
        state.repo.routing_rules(session.user.station_id).await?,
    ))
}

/// `POST /v1/routing-rules`
#[utoipa::path(post, path = "/v1/routing-rules", tag = "agencies",
    request_body(content = RuleDraft, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added", body = RoutingRule),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The priority is taken, or the agency is retired", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "An unknown category, district, zone or agency; a district and a zone both", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_rule(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Json(draft): Json<RuleDraft>,
) -> Result<Response, Problem> {
    admin_only(&session)?;
    let station = session.user.station_id;
    let (categories, zones) =
        tokio::try_join!(state.repo.categories(station), state.repo.zones(station))?;
    let rule = check_rule(&draft, &categories, &zones, "")
        .map_err(|f| Problem::validation(field_errors(f)))?;
    let rule = state
        .repo
        .add_routing_rule(station, rule, Caller::Staff(session).actor(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::NotFound("agency") => Problem::validation(vec![FieldError {
                pointer: "/agency".into(),
                detail: "no agency of that code in this station".into(),
            }]),
            other => refused(other),
        })?;
    tracing::info!(priority = rule.priority, "routing rule added");
    Ok((StatusCode::CREATED, axum::Json(rule)).into_response())
}

/// `DELETE /v1/routing-rules/{id}`
#[utoipa::path(delete, path = "/v1/routing-rules/{id}", tag = "agencies",
    params(("id" = String, Path, description = "The rule's UUID")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Removed (the audit log keeps it); the rule as it was", body = RoutingRule),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rule", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_rule(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(raw_id): Path<String>,
) -> Result<axum::Json<RoutingRule>, Problem> {
    admin_only(&session)?;
    let id = Uuid::parse_str(&raw_id)
        .map_err(|_| Problem::invalid_id("the rule id in the path must be a UUID"))?;
    let rule = state
        .repo
        .remove_routing_rule(
            session.user.station_id,
            id,
            Caller::Staff(session).actor(),
            Utc::now(),
        )
        .await
        .map_err(refused)?;
    tracing::info!(priority = rule.priority, "routing rule removed");
    Ok(axum::Json(rule))
}
