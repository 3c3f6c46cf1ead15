//! Admins add categories and retire them; none is ever deleted, so old
//! reports keep resolving their category. Each change reaches phones as a
//! `categories` entry of the changes feed and leaves an audit row.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use postcso_model::{CategoryCode, CategoryInfo};
use serde::Deserialize;
use utoipa::ToSchema;

use super::AppState;
use super::body::Json;
use super::problem::{FieldError, Problem};
use crate::auth::policy::may_manage_categories;
use crate::auth::{Caller, StaffCaller};
use crate::repo::{RepoError, Session};

/// Longest category name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest guidance, in characters.
pub const MAX_GUIDANCE_CHARS: usize = 1000;

/// Body of `POST /v1/categories`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCategoryRequest {
    /// 1-40 lowercase ASCII letters, digits or `_`; unique in the station, forever.
    #[schema(example = "illegal_dumping")]
    pub code: String,
    /// Korean name, 1-100 characters.
    pub name_ko: String,
    /// English name, 1-100 characters.
    pub name_en: String,
    /// What to report and what to photograph, 1-1000 characters.
    pub guidance: String,
}

fn check_text(pointer: &str, text: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let text = text.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max || text.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError {
            pointer: pointer.into(),
            detail: format!("must be 1-{max} characters without control characters"),
        });
    }
    text.to_owned()
}

fn admin_only(session: &Session) -> Result<(), Problem> {
    if may_manage_categories(session.user.role) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "the {} role may not manage categories",
            session.user.role
        )))
    }
}

/// `POST /v1/categories`
#[utoipa::path(post, path = "/v1/categories", tag = "categories",
    request_body(content = NewCategoryRequest, content_type = "application/json"),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Added at the end; the whole list after the change", body = Vec<super::openapi::CategoryDoc>),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code exists (retired categories keep theirs)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad code, names or guidance", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Json(request): Json<NewCategoryRequest>,
) -> Result<Response, Problem> {
    admin_only(&session)?;
    let mut errors = Vec::new();
    let code = CategoryCode::parse(&request.code).map_err(|e| FieldError {
        pointer: "/code".into(),
        detail: e.to_string(),
    });
    let name_ko = check_text("/name_ko", &request.name_ko, MAX_NAME_CHARS, &mut errors);
    let name_en = check_text("/name_en", &request.name_en, MAX_NAME_CHARS, &mut errors);
    let guidance = check_text(
        "/guidance",
        &request.guidance,
        MAX_GUIDANCE_CHARS,
        &mut errors,
    );
    let code = match code {
        Ok(code) if errors.is_empty() => code,
        Ok(_) => return Err(Problem::validation(errors)),
        Err(e) => {
            errors.insert(0, e);
            return Err(Problem::validation(errors));
        }
    };
    let station = session.user.station_id;
    let info = CategoryInfo {
        code,
        name_ko,
        name_en,
        guidance,
        retired: false,
    };
    let list = state
        .repo
        .add_category(station, info, Caller::Staff(session).actor(), Utc::now())
        .await?;
    tracing::info!("category added");
    Ok((StatusCode::CREATED, axum::Json(list.entries().to_vec())).into_response())
}

/// `POST /v1/categories/{code}/retire`
#[utoipa::path(post, path = "/v1/categories/{code}/retire", tag = "categories",
    params(("code" = String, Path, description = "The category's code")),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Retired (kept, never deleted; unchanged when it already was); the whole list", body = Vec<super::openapi::CategoryDoc>),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn retire(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Path(code): Path<String>,
) -> Result<axum::Json<Vec<CategoryInfo>>, Problem> {
    admin_only(&session)?;
    let station = session.user.station_id;
    let (list, changed) = state
        .repo
        .retire_category(station, &code, Caller::Staff(session).actor(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::NotFound(_) => Problem::not_found("no such category"),
            other => other.into(),
        })?;
    if changed {
        tracing::info!(category = %code, "category retired");
    }
    Ok(axum::Json(list.entries().to_vec()))
}
