//! Reading the station's changes feed after a push: the review status of the
//! carrier's own reports, the category list, and the zones (whose place index
//! is rebuilt once per page that changed them).

use super::events::SyncEvent;
use super::failure::Failure;
use super::pass::{DeliverError, Run};
use crate::model::{CategoryList, ChangesPage, FeedEntry, routes};
use crate::queue::QueueError;

/// Where the feed cursor is kept in the sync state.
const CURSOR_KEY: &str = "changes_cursor";
/// Pages read per run at most, so a long backlog cannot hold a background window.
const MAX_PAGES: usize = 50;

impl Run {
    /// Reads the feed from the stored cursor and applies it, page by page; the
    /// cursor is saved after each page is applied, so a page is never lost and at
    /// worst applied twice (every change is idempotent).
    pub async fn pull(&self) -> Result<(), DeliverError> {
        let mut cursor = self.db(|q| q.sync_value(CURSOR_KEY)).await?;
        for _ in 0..MAX_PAGES {
            let mut url = self.client.url(routes::relative(routes::CHANGES))?;
            if let Some(c) = &cursor {
                url.query_pairs_mut().append_pair("cursor", c);
            }
            let page: ChangesPage = self
                .guard(self.client.get_json(&self.token, url))
                .await?
                .map_err(DeliverError::Failure)?;
            let mut zones_changed = false;
            for change in page.changes {
                zones_changed |= self.apply(change).await?;
            }
            if zones_changed {
                // One rebuild of the place index per page, however many zone
                // entries it held, before the app hears of the change.
                self.db(|q| q.refresh_zone_index()).await?;
                self.emit(SyncEvent::ZonesUpdated);
            }
            let next = page.cursor;
            let saved = next.clone();
            self.db(move |q| q.set_sync_value(CURSOR_KEY, Some(&saved)))
                .await?;
            cursor = Some(next);
            if !page.has_more {
                break;
            }
        }
        Ok(())
    }

    /// Applies one entry; returns whether it changed the zones.
    async fn apply(&self, change: FeedEntry) -> Result<bool, DeliverError> {
        match change {
            FeedEntry::ReportStatus {
                report_id,
                status,
                reason,
                ..
            } => {
                let applied = status.clone();
                match self
                    .db(move |q| q.set_review_status(report_id, &applied, reason.as_deref()))
                    .await
                {
                    Ok(()) => self.emit(SyncEvent::ReviewStatus {
                        id: report_id,
                        status,
                    }),
                    // Not on this phone (reinstalled), or not yet marked sent here
                    // (the acknowledgement was lost): the next push settles it.
                    Err(QueueError::NotFound(_) | QueueError::IllegalTransition(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            FeedEntry::Categories { categories } => {
                if categories.is_empty() {
                    return Err(DeliverError::Failure(Failure::Transient {
                        reason: "the station sent an empty category list".to_owned(),
                        retry_after: None,
                    }));
                }
                self.db(move |q| q.replace_categories(CategoryList::new(categories)))
                    .await?;
                self.emit(SyncEvent::CategoriesUpdated);
            }
            FeedEntry::Zones { zones } => {
                // The station sends zone lists only after a zone change, and
                // never deletes a zone, so a list is never emptied by mistake.
                self.db(move |q| q.replace_zones(&zones)).await?;
                return Ok(true);
            }
            FeedEntry::Zone { zone } => {
                self.db(move |q| q.upsert_zone(&zone)).await?;
                return Ok(true);
            }
            // Supervisors' entries never reach a phone; unknown kinds are skipped.
            FeedEntry::Report { .. } | FeedEntry::Unknown => {}
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReviewStatus;

    #[test]
    fn unknown_change_kinds_are_skipped() {
        let page: ChangesPage = serde_json::from_str(
            r#"{"changes":[
                {"kind":"beat_update","beat":{"id":1}},
                {"kind":"report_status","report_id":"019ad0a0-0000-7000-8000-000000000001","status":"fixed","complete":true}
            ],"cursor":"Mg","has_more":false}"#,
        )
        .unwrap();
        assert!(matches!(page.changes[0], FeedEntry::Unknown));
        assert!(matches!(
            &page.changes[1],
            FeedEntry::ReportStatus {
                status: ReviewStatus::Fixed,
                ..
            }
        ));
    }

    #[test]
    fn zone_lists_parse_with_their_outline() {
        let page: ChangesPage = serde_json::from_str(
            r#"{"changes":[
                {"kind":"zones","zones":[
                    {"code":"route-12","name":"Route 12","assigned":true,"retired":false,
                     "area":{"type":"Polygon","coordinates":[[[126.93,37.56],[126.94,37.56],[126.94,37.57],[126.93,37.56]]]}},
                    {"code":"route-13","name":"Route 13","area":null,"assigned":false,"retired":true}
                ]}
            ],"cursor":"Mg","has_more":false}"#,
        )
        .unwrap();
        let FeedEntry::Zones { zones } = &page.changes[0] else {
            panic!("not a zone list: {:?}", page.changes[0]);
        };
        assert_eq!(zones.len(), 2);
        assert!(zones[0].assigned && zones[0].area.is_some());
        assert!(zones[1].retired && zones[1].area.is_none());
    }
}
