//! Report categories: each station's list (built-in ones seeded at creation,
//! more added by its admins), and the store that reads and changes it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryCode, CategoryInfo, CategoryList};
use serde_json::json;

use super::audit::AuditRecord;
use super::columns::{Columns, bad_column};
use super::feed::{ActionLog, NewChange};
use super::{Actor, RepoError, StationId};

/// A category read back: `code, name_ko, name_en, guidance, retired`.
pub(crate) fn category_from(row: &impl Columns) -> Result<CategoryInfo, RepoError> {
    Ok(CategoryInfo {
        code: CategoryCode::parse(&row.text(0)?).map_err(|e| bad_column(0, e))?,
        name_ko: row.text(1)?,
        name_en: row.text(2)?,
        guidance: row.text(3)?,
        retired: row.flag(4)?,
    })
}

/// The refusal of a second category with the same code.
pub(crate) fn code_taken(code: &CategoryCode) -> RepoError {
    RepoError::Conflict(format!(
        "category `{code}` already exists in this station (retired categories keep their code)"
    ))
}

/// Whether retiring a category writes anything, from whether it is retired
/// now (`None`: there is no such category): retiring twice is a no-op.
pub(crate) fn needs_retiring(retired: Option<bool>) -> Result<bool, RepoError> {
    match retired {
        None => Err(RepoError::NotFound("category")),
        Some(retired) => Ok(!retired),
    }
}

impl ActionLog {
    /// `category.add`, and the new list for the feed.
    pub(crate) fn category_added(
        actor: Actor,
        info: &CategoryInfo,
        list: &CategoryList,
    ) -> Result<Self, RepoError> {
        let after = json!({
            "code": info.code.as_str(),
            "name_ko": info.name_ko,
            "name_en": info.name_en,
            "guidance": info.guidance,
            "retired": false,
        });
        Ok(Self {
            actor,
            audit: AuditRecord::new("category.add", "category", info.code.as_str(), None, after),
            change: Some(NewChange::categories(list)?),
        })
    }

    /// `category.retire`, and the new list for the feed.
    pub(crate) fn category_retired(
        actor: Actor,
        code: &str,
        list: &CategoryList,
    ) -> Result<Self, RepoError> {
        let (before, after) = (json!({ "retired": false }), json!({ "retired": true }));
        Ok(Self {
            actor,
            audit: AuditRecord::new("category.retire", "category", code, Some(before), after),
            change: Some(NewChange::categories(list)?),
        })
    }
}

/// A station's category list: read by report intake, changed by admins.
///
/// Every write runs in one transaction with its audit row and a `categories`
/// feed entry carrying the whole list.
#[async_trait]
pub trait CategoryStore: Send + Sync {
    /// The station's category list, retired entries included.
    async fn categories(&self, station: StationId) -> Result<CategoryList, RepoError>;
    /// Adds a category (not retired) at the end of the station's list, appends
    /// a `categories` feed entry with the whole list and a `category.add`
    /// audit row. `Conflict` when the code exists (retired or not). Returns the
    /// list after the change.
    async fn add_category(
        &self,
        station: StationId,
        info: CategoryInfo,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<CategoryList, RepoError>;
    /// Retires a category (never deletes it): feed entry and `category.retire`
    /// audit row. Returns the list and whether this call retired it (false,
    /// with nothing written, when it already was). `NotFound("category")`.
    async fn retire_category(
        &self,
        station: StationId,
        code: &str,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> Result<(CategoryList, bool), RepoError>;
}
