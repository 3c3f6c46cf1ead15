//! Watch-area alerts: each position the app passes in says which watch areas
//! the carrier entered and left (rule in [`crate::places::Inside`]).
//!
//! The set of areas the carrier is inside is kept in the database
//! (`watch_inside`), not only in memory. Android and iOS kill a backgrounded
//! app freely during a round; a set kept only in memory would make the next
//! start announce every area the carrier is standing in again, and would never
//! announce leaving the areas entered before the kill. It is written only when
//! the set changes (plus a timestamp at most hourly), not on every fix, so a
//! position costs no fsync in the common case.

use std::sync::{MutexGuard, PoisonError};

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::{Transaction, params};

use super::{QueueError, ReportQueue};
use crate::model::{GeoPoint, ZoneInfo};
use crate::places::{FORGET_INSIDE_AFTER, Inside, PositionUpdate};

/// `sync_state` key of the last time a position confirmed the stored set.
const SEEN_AT_KEY: &str = "watch_seen_at_ms";

/// How stale the stored "last confirmed" time may get before a position
/// refreshes it: the forgetting rule needs it only to the hour.
const SEEN_AT_REFRESH: TimeDelta = TimeDelta::hours(1);

/// The carrier's watch-area state, in memory and as last stored.
#[derive(Debug, Default)]
pub(super) struct WatchState {
    inside: Inside,
    /// When a position last confirmed `inside`.
    seen_at: Option<DateTime<Utc>>,
    /// The `seen_at` the database holds.
    stored_seen_at: Option<DateTime<Utc>>,
}

impl ReportQueue {
    /// Moves the carrier to `fix`: returns the watch areas entered and left
    /// since the last call (with names, theme and guidance for the alert).
    /// Call it with each position the app receives; only zones in force now
    /// count. Entering needs a fix inside the area with an accuracy of
    /// [`crate::places::MAX_ENTER_ACCURACY_M`] or better; leaving needs a fix
    /// more than [`crate::places::LEAVE_MARGIN_M`] outside. The state survives
    /// restarts; after [`FORGET_INSIDE_AFTER`] without a position it is
    /// dropped silently and the next shift starts afresh.
    pub fn update_position(&self, fix: &GeoPoint) -> Result<PositionUpdate, QueueError> {
        self.update_position_at(fix, Utc::now())
    }

    /// [`ReportQueue::update_position`] judged at `now`.
    pub(crate) fn update_position_at(
        &self,
        fix: &GeoPoint,
        now: DateTime<Utc>,
    ) -> Result<PositionUpdate, QueueError> {
        let zones = self.local_zones()?;
        let mut state = self.lock_watch();
        let forget = TimeDelta::from_std(FORGET_INSIDE_AFTER).unwrap_or(TimeDelta::MAX);
        let from = match state.seen_at {
            Some(seen) if now - seen > forget => Inside::default(),
            _ => state.inside.clone(),
        };
        let (next, update) = from.step(&zones, fix, now);
        let set_changed = !same_codes(&next, &state.inside);
        let refresh = state
            .stored_seen_at
            .is_none_or(|stored| now - stored > SEEN_AT_REFRESH);
        if set_changed || refresh {
            let before = &state.inside;
            self.store
                .write(|tx| store_inside(tx, before, &next, now))?;
            state.stored_seen_at = Some(now);
        }
        if !update.is_empty() {
            // Counts only: which areas a carrier is in says where they are.
            tracing::debug!(
                entered = update.entered.len(),
                left = update.left.len(),
                "watch areas changed"
            );
        }
        state.inside = next;
        state.seen_at = Some(now);
        Ok(update)
    }

    /// The watch areas the carrier is inside as of the last position.
    pub fn watch_areas_inside(&self) -> Vec<ZoneInfo> {
        self.lock_watch()
            .inside
            .zones()
            .map(|zone| ZoneInfo::clone(zone))
            .collect()
    }

    fn lock_watch(&self) -> MutexGuard<'_, WatchState> {
        self.watch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Reads the stored state at open.
pub(super) fn load_watch(tx: &Transaction<'_>) -> Result<WatchState, QueueError> {
    let mut stmt = tx.prepare("SELECT zone_json FROM watch_inside ORDER BY code")?;
    let zones: Vec<ZoneInfo> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter_map(|text| serde_json::from_str(&text).ok())
        .collect();
    let seen_at: Option<String> = {
        use rusqlite::OptionalExtension;
        tx.query_row(
            "SELECT value FROM sync_state WHERE key = ?1",
            [SEEN_AT_KEY],
            |r| r.get(0),
        )
        .optional()?
    };
    let seen_at = seen_at
        .and_then(|ms| ms.parse::<i64>().ok())
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    Ok(WatchState {
        inside: Inside::from_zones(zones),
        seen_at,
        stored_seen_at: seen_at,
    })
}

/// Writes the difference between the stored set and `next`, and the time.
fn store_inside(
    tx: &Transaction<'_>,
    before: &Inside,
    next: &Inside,
    now: DateTime<Utc>,
) -> Result<(), QueueError> {
    for zone in before.zones().filter(|z| !next.contains(&z.code)) {
        tx.execute("DELETE FROM watch_inside WHERE code = ?1", [&zone.code])?;
    }
    for zone in next.zones().filter(|z| !before.contains(&z.code)) {
        let json = serde_json::to_string(zone.as_ref()).unwrap_or_default();
        tx.execute(
            "INSERT OR REPLACE INTO watch_inside (code, zone_json, entered_at_ms) VALUES (?1, ?2, ?3)",
            params![zone.code, json, now.timestamp_millis()],
        )?;
    }
    tx.execute(
        "INSERT INTO sync_state (key, value) VALUES (?1, ?2) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![SEEN_AT_KEY, now.timestamp_millis().to_string()],
    )?;
    Ok(())
}

fn same_codes(a: &Inside, b: &Inside) -> bool {
    a.len() == b.len() && a.zones().all(|z| b.contains(&z.code))
}
