//! [`PlaceStore`]: the zones' version changes with every zone change (what
//! the placing cache is keyed by); reports without a placement (stored
//! before placement existed) are found, placed once and never overwritten;
//! the startup backfill places them with the station's geography.

use chrono::Duration;
use postcso_station::geo::{Districts, Geography, backfill};
use postcso_station::repo::{
    Actor, NewZone, PlaceStore, Placement, StationStore, ZoneStore, ZoneUpdate,
};

use crate::{delivered, device, now, placement, station};

contract_tests!(the_zones_version_changes_with_every_zone_change);

async fn the_zones_version_changes_with_every_zone_change<
    R: StationStore + ZoneStore + PlaceStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let other = station(repo, "dongjak").await;
    let empty = repo.zones_version(mapo.id).await.expect("version");
    assert_eq!((empty.count, empty.last_change), (0, None));
    let at = now();
    let zone = NewZone {
        code: "district-11440".to_owned(),
        name: "마포구".to_owned(),
        area: Some(
            Districts::seoul()
                .by_code("11440")
                .expect("마포구")
                .area
                .clone(),
        ),
        kind: postcso_model::ZoneKind::Jurisdiction,
        ..NewZone::default()
    };
    repo.add_zone(mapo.id, zone, Actor::console(), at)
        .await
        .expect("add");
    let added = repo.zones_version(mapo.id).await.expect("version");
    assert_eq!((added.count, added.last_change), (1, Some(at)));
    assert_eq!(
        repo.zones_version(other.id).await.expect("version"),
        empty,
        "per station"
    );
    let rename = ZoneUpdate {
        name: Some("마포".to_owned()),
        ..ZoneUpdate::default()
    };
    repo.update_zone(
        mapo.id,
        "district-11440",
        rename,
        Actor::console(),
        at + Duration::seconds(1),
    )
    .await
    .expect("update");
    let renamed = repo.zones_version(mapo.id).await.expect("version");
    assert_ne!(renamed, added);
    repo.retire_zone(
        mapo.id,
        "district-11440",
        Actor::console(),
        at + Duration::seconds(2),
    )
    .await
    .expect("retire");
    let retired = repo.zones_version(mapo.id).await.expect("version");
    assert_ne!(retired, renamed);
    assert_eq!(
        repo.zones_version(mapo.id).await.expect("version"),
        retired,
        "stable while nothing changes"
    );
}

/// Not a contract of one store alone: a report loses its placement through
/// SQL (as a report stored before the migration has none), then the store
/// finds it, and the backfill places it.
#[tokio::test]
async fn unplaced_reports_are_found_placed_once_and_never_overwritten() {
    let (dir, repo) = crate::fresh_repo().await;
    let seodaemun = station(&*repo, "seodaemun").await;
    let (carrier, _) = device(&*repo, &seodaemun, "carrier-001").await;
    let old = delivered(&*repo, &seodaemun, &carrier, 1).await;
    let placed = delivered(&*repo, &seodaemun, &carrier, 0).await;
    assert!(repo.unplaced_reports(10).await.expect("none").is_empty());
    crate::common::db_sql(
        dir.path(),
        &format!(
            "UPDATE reports SET zones_json = NULL, district_code = NULL, district_name = NULL,
                    outside_jurisdiction = NULL WHERE id = '{}'",
            old.id
        ),
    )
    .expect("unplace");
    assert_eq!(
        repo.report(seodaemun.id, old.id)
            .await
            .expect("read")
            .expect("there")
            .placement,
        None
    );
    let unplaced = repo.unplaced_reports(10).await.expect("unplaced");
    assert_eq!(unplaced.len(), 1);
    assert_eq!(unplaced[0].id, old.id);
    assert_eq!(unplaced[0].station, seodaemun.id);
    assert_eq!(
        (unplaced[0].lat, unplaced[0].lon),
        (old.content.location.lat(), old.content.location.lon())
    );

    let other = Placement {
        zones: vec!["elsewhere".to_owned()],
        ..Placement::default()
    };
    let set = repo
        .set_placements(vec![(seodaemun.id, placed.id, other)])
        .await
        .expect("set");
    assert_eq!(set, 0, "a placed report keeps its placement");
    assert_eq!(
        repo.report(seodaemun.id, placed.id)
            .await
            .expect("read")
            .expect("there")
            .placement,
        Some(placement())
    );

    let geography = Geography::seoul();
    assert_eq!(
        backfill::place_unplaced(&repo, &geography)
            .await
            .expect("backfill"),
        1
    );
    let district = Districts::seoul()
        .at(old.content.location.lat(), old.content.location.lon())
        .expect("in Seoul");
    let now_placed = repo
        .report(seodaemun.id, old.id)
        .await
        .expect("read")
        .expect("there")
        .placement
        .expect("placed");
    assert_eq!(
        now_placed.district.map(|d| (d.code, d.name)),
        Some((district.code.clone(), district.name_ko.clone()))
    );
    assert!(now_placed.zones.is_empty(), "the station has no zones");
    assert!(!now_placed.outside_jurisdiction, "nor a jurisdiction");
    assert!(repo.unplaced_reports(10).await.expect("none").is_empty());
    assert_eq!(
        backfill::place_unplaced(&repo, &geography)
            .await
            .expect("again"),
        0
    );
}
