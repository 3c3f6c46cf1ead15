//! [`ZoneStore`]: a zone code is used once; each change writes the whole list
//! to the feed (for phones, not supervisors) and an audit row without
//! coordinates, in one transaction with the change: a write that fails leaves
//! nothing behind. Retired zones are kept and cannot change.

use postcso_model::ZoneArea;
use postcso_station::repo::{
    Actor, Audience, ChangeBody, DeviceStore, FeedStore, NewZone, RepoError, StationStore,
    ZoneStore, ZoneUpdate,
};
use uuid::Uuid;

use crate::{audit, audit_of, device, feed_for, now, station};

contract_tests!(
    zones_are_added_changed_and_retired_with_the_whole_list_in_the_feed,
    a_failed_zone_write_leaves_no_zone_feed_entry_or_audit_row,
);

fn market_square() -> ZoneArea {
    ZoneArea::Polygon {
        coordinates: vec![vec![
            [126.93, 37.57],
            [126.94, 37.57],
            [126.94, 37.58],
            [126.93, 37.57],
        ]],
    }
}

fn new_zone(code: &str, devices: Vec<Uuid>) -> NewZone {
    NewZone {
        code: code.to_owned(),
        name: format!("Route {code}"),
        area: Some(market_square()),
        devices,
    }
}

/// The zone lists the feed carried, oldest first.
fn zone_lists(changes: &[postcso_station::repo::Change]) -> Vec<serde_json::Value> {
    changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Zones(json) => Some(json.clone()),
            _ => None,
        })
        .collect()
}

async fn zones_are_added_changed_and_retired_with_the_whole_list_in_the_feed<
    R: StationStore + DeviceStore + ZoneStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let (b, _) = device(repo, &mapo, "carrier-002").await;
    let admin = Actor::console();
    let at = now();
    let first = repo
        .add_zone(
            mapo.id,
            new_zone("r12", vec![b.id, a.id, b.id]),
            admin.clone(),
            at,
        )
        .await
        .expect("add");
    let mut both = vec![a.id, b.id];
    both.sort();
    assert_eq!(first.devices, both, "in id order, once each");
    assert_eq!(
        (first.created_at, first.updated_at, first.retired_at),
        (at, at, None)
    );
    assert_eq!(first.area, Some(market_square()));
    let second = repo
        .add_zone(mapo.id, new_zone("r07", vec![]), admin.clone(), now())
        .await
        .expect("add another");
    assert_eq!(
        repo.zones(mapo.id).await.expect("zones"),
        [first.clone(), second.clone()],
        "in the order added"
    );
    assert!(matches!(
        repo.add_zone(mapo.id, new_zone("r12", vec![]), admin.clone(), now())
            .await,
        Err(RepoError::Conflict(_))
    ));

    let renamed = ZoneUpdate {
        name: Some("Market route".to_owned()),
        ..ZoneUpdate::default()
    };
    let later = now();
    let (changed, did) = repo
        .update_zone(mapo.id, "r12", renamed.clone(), admin.clone(), later)
        .await
        .expect("update");
    assert!(did);
    assert_eq!(changed.name, "Market route");
    assert_eq!(changed.devices, both, "unnamed fields stay");
    assert_eq!(changed.updated_at, later);
    let (same, did_again) = repo
        .update_zone(mapo.id, "r12", renamed, admin.clone(), now())
        .await
        .expect("same update");
    assert!(!did_again, "nothing to change");
    assert_eq!(same, changed);

    let (retired, newly) = repo
        .retire_zone(mapo.id, "r07", admin.clone(), now())
        .await
        .expect("retire");
    assert!(newly && retired.retired_at.is_some());
    let (_, newly_again) = repo
        .retire_zone(mapo.id, "r07", admin.clone(), now())
        .await
        .expect("retire again");
    assert!(!newly_again);
    let rename_retired = ZoneUpdate {
        name: Some("Gone".to_owned()),
        ..ZoneUpdate::default()
    };
    assert!(matches!(
        repo.update_zone(mapo.id, "r07", rename_retired, admin.clone(), now())
            .await,
        Err(RepoError::Conflict(_))
    ));
    assert!(matches!(
        repo.retire_zone(mapo.id, "r99", admin, now()).await,
        Err(RepoError::NotFound("zone"))
    ));
    assert_eq!(
        repo.zones(mapo.id).await.expect("zones").len(),
        2,
        "retired zones are kept"
    );

    let actions: Vec<String> = audit(repo, &mapo)
        .await
        .into_iter()
        .map(|e| e.action)
        .filter(|a| a.starts_with("zone."))
        .collect();
    assert_eq!(
        actions,
        ["zone.add", "zone.add", "zone.update", "zone.retire"]
    );
    let update = &audit_of(repo, &mapo, "zone.update").await[0];
    assert_eq!(
        update.before.as_ref().map(|b| &b["name"]),
        Some(&"Route r12".into())
    );
    assert_eq!(
        update.after.as_ref().map(|a| &a["area_points"]),
        Some(&4.into())
    );
    let logged = serde_json::to_string(&update.after).expect("json");
    assert!(
        !logged.contains("126.93"),
        "no coordinates in the audit log: {logged}"
    );

    let lists = zone_lists(&feed_for(repo, &mapo, Audience::Device(a.id)).await);
    assert_eq!(lists.len(), 4, "one whole list per change");
    let last = &lists[3];
    assert_eq!(last.as_array().map(Vec::len), Some(2));
    assert_eq!(last[0]["name"], "Market route");
    assert!(last[1]["retired_at"].is_string());
    assert!(
        zone_lists(&feed_for(repo, &mapo, Audience::Station).await).is_empty(),
        "zone lists are for phones"
    );
}

async fn a_failed_zone_write_leaves_no_zone_feed_entry_or_audit_row<
    R: StationStore + DeviceStore + ZoneStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let (own, _) = device(repo, &mapo, "carrier-001").await;
    let (foreign, _) = device(repo, &dongjak, "carrier-001").await;
    let admin = Actor::console();
    for devices in [vec![Uuid::new_v4()], vec![own.id, foreign.id]] {
        assert!(matches!(
            repo.add_zone(mapo.id, new_zone("r12", devices), admin.clone(), now())
                .await,
            Err(RepoError::NotFound("device"))
        ));
    }
    assert!(
        repo.zones(mapo.id).await.expect("zones").is_empty(),
        "the zone row was rolled back"
    );

    let zone = repo
        .add_zone(mapo.id, new_zone("r12", vec![own.id]), admin.clone(), now())
        .await
        .expect("add");
    let stray = ZoneUpdate {
        name: Some("Renamed".to_owned()),
        devices: Some(vec![foreign.id]),
        ..ZoneUpdate::default()
    };
    assert!(matches!(
        repo.update_zone(mapo.id, "r12", stray, admin.clone(), now())
            .await,
        Err(RepoError::NotFound("device"))
    ));
    assert_eq!(
        repo.zones(mapo.id).await.expect("zones"),
        [zone],
        "the rename was rolled back"
    );
    assert!(matches!(
        repo.update_zone(mapo.id, "r99", ZoneUpdate::default(), admin, now())
            .await,
        Err(RepoError::NotFound("zone"))
    ));

    let zone_rows = audit(repo, &mapo)
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("zone."))
        .count();
    assert_eq!(zone_rows, 1, "only the zone that was added");
    assert_eq!(
        zone_lists(&feed_for(repo, &mapo, Audience::Device(own.id)).await).len(),
        1
    );
}
