//! Report categories: each station's list (built-in ones seeded at creation,
//! more added by its admins), and the store that reads and changes it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use postcso_model::{CategoryInfo, CategoryList};

use super::{Actor, RepoError, StationId};

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
