//! The storage contract, written once and run on the backend under test: every
//! store trait of `postcso_station::repo` called directly (not through HTTP),
//! one file per store as in `src/repo/`. Each contract is a generic function
//! over the store traits it needs; [`contract_tests!`] runs each on a fresh
//! repository from `common::open_test_repo`, so plain `cargo test` checks the
//! SQLite backend and the PostgreSQL run of `cargo xtask test` (with
//! `POSTCSO_TEST_DATABASE_URL` set) checks PostgreSQL, a fresh database per test.
//!
//! Times are whole microseconds, as both backends store them, so the same
//! assertions hold on both.

#[path = "../common/mod.rs"]
mod common;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use postcso_model::{ReportContent, content_hash};
use postcso_station::auth::Role;
use postcso_station::repo::{
    Actor, Audience, AuditEntry, Change, ChangeBody, Device, DeviceStore, FeedStore,
    NewEnrolmentCode, NewUser, PlacedDistrict, Placement, PutOutcome, RedeemOutcome, ReportStore,
    Repository, Station, StationStore, StoredReport, User,
};
use tempfile::TempDir;

/// Turns each named contract function of the invoking module into a test (in
/// its `tests` submodule) on a fresh repository of the backend under test.
macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod tests {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, repo) = $crate::fresh_repo().await;
                    super::$name(&*repo).await;
                }
            )*
        }
    };
}

mod accounts;
mod agencies;
mod categories;
mod devices;
mod exports;
mod feed;
mod inspections;
mod merges;
mod nearby;
mod notes;
mod places;
mod referrals;
mod reports;
mod review;
mod stations;
mod statistics;
mod uploads;
mod versions;
mod zones;

/// A fresh, empty repository of the backend under test, and the directory
/// that holds it (the SQLite file, or which PostgreSQL database it is).
pub async fn fresh_repo() -> (TempDir, Arc<dyn Repository>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = common::open_test_repo(dir.path()).await;
    (dir, repo)
}

/// A time to the microsecond, as the backends keep it.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).expect("time in range")
}

/// Now, to the microsecond as the backends keep it.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).expect("time in range")
}

/// A new station.
pub async fn station<R: StationStore + ?Sized>(repo: &R, slug: &str) -> Station {
    repo.create_station(slug, &format!("{slug} police station"))
        .await
        .expect("create station")
}

/// A staff user of the station with a placeholder password hash.
pub async fn user<R: postcso_station::repo::AccountStore + ?Sized>(
    repo: &R,
    station: &Station,
    username: &str,
    role: Role,
) -> User {
    let new = NewUser {
        username: username.to_owned(),
        role,
        password_hash: format!("hash-of-{username}"),
    };
    repo.add_user(station.id, new).await.expect("add user")
}

/// A device enrolled at the station under `label`, through a code, and the
/// hash of its token.
pub async fn device<R: DeviceStore + ?Sized>(
    repo: &R,
    station: &Station,
    label: &str,
) -> (Device, String) {
    let code_hash = format!("code-{label}-{}", uuid::Uuid::new_v4());
    let code = NewEnrolmentCode {
        code_hash: code_hash.clone(),
        label: label.to_owned(),
        expires_at: now() + Duration::hours(1),
    };
    repo.add_enrolment_codes(station.id, vec![code])
        .await
        .expect("add code");
    let token_hash = format!("token-{label}-{}", uuid::Uuid::new_v4());
    match repo
        .redeem_enrolment_code(&code_hash, &token_hash, now())
        .await
        .expect("redeem")
    {
        RedeemOutcome::Enrolled(device, _) => (device, token_hash),
        other => panic!("the code did not enrol: {other:?}"),
    }
}

/// A valid report with `photos` photos in its manifest, and its content hash.
pub fn content(photos: usize) -> (ReportContent, String) {
    let content: ReportContent =
        serde_json::from_value(common::sample_report(photos)).expect("content");
    let hash = content_hash(&content);
    (content, hash)
}

/// A placement as intake would make it for a report in 서대문구.
pub fn placement() -> Placement {
    Placement {
        district: Some(PlacedDistrict {
            code: "11410".to_owned(),
            name: "서대문구".to_owned(),
        }),
        zones: vec!["district-11410".to_owned()],
        outside_jurisdiction: false,
        boundary_distance_m: None,
    }
}

/// A report delivered by `device`, stored for the first time.
pub async fn delivered<R: ReportStore + ?Sized>(
    repo: &R,
    station: &Station,
    device: &Device,
    photos: usize,
) -> StoredReport {
    let (content, _) = content(photos);
    deliver(repo, station, device, content).await
}

/// `content` delivered by `device` (its hash computed here), stored for the
/// first time with [`placement`].
pub async fn deliver<R: ReportStore + ?Sized>(
    repo: &R,
    station: &Station,
    device: &Device,
    content: ReportContent,
) -> StoredReport {
    let hash = content_hash(&content);
    match repo
        .put_report(station.id, device.id, content, hash, placement(), now())
        .await
        .expect("put")
    {
        PutOutcome::Created(report) => report,
        other => panic!("the first delivery was not created: {other:?}"),
    }
}

/// Every audit row of the station, oldest first.
pub async fn audit<R: FeedStore + ?Sized>(repo: &R, station: &Station) -> Vec<AuditEntry> {
    repo.audit_entries(station.id, 0, 1000)
        .await
        .expect("audit log")
}

/// The audit rows of the station with `action`, oldest first.
pub async fn audit_of<R: FeedStore + ?Sized>(
    repo: &R,
    station: &Station,
    action: &str,
) -> Vec<AuditEntry> {
    audit(repo, station)
        .await
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Every feed entry of the station `audience` may see, oldest first.
pub async fn feed_for<R: FeedStore + ?Sized>(
    repo: &R,
    station: &Station,
    audience: Audience,
) -> Vec<Change> {
    repo.changes(station.id, audience, 0, 1000)
        .await
        .expect("feed")
}

/// The report events of a feed, as `(event, report id)`.
pub fn report_events(changes: &[Change]) -> Vec<(String, String)> {
    changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Report {
                event, report_id, ..
            } => Some((event.as_str().to_owned(), report_id.to_string())),
            _ => None,
        })
        .collect()
}

/// A staff member acting in their own name.
pub fn acting(user: &User) -> Actor {
    Actor::user(user)
}
