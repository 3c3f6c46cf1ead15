//! [`ZoneStore`]: a zone code is used once; each change writes one `zone`
//! feed entry with the zone after it (for phones, not supervisors) and an
//! audit row without coordinates, in one transaction with the change: a
//! write that fails leaves nothing behind. Retired zones are kept and cannot
//! change. An import is all or nothing: existing codes updated (devices
//! kept), new ones added, unchanged ones untouched.

use chrono::Duration;
use postcso_model::{ZoneArea, ZoneKind};
use postcso_station::repo::{
    Actor, Audience, ChangeBody, DeviceStore, FeedStore, ImportOutcome, NewZone, RepoError,
    StationStore, ZoneStore, ZoneUpdate,
};
use uuid::Uuid;

use crate::{audit, audit_of, device, feed_for, now, station};

contract_tests!(
    zones_are_added_changed_and_retired_with_one_delta_per_change,
    a_failed_zone_write_leaves_no_zone_feed_entry_or_audit_row,
    an_update_that_contradicts_the_stored_fields_is_refused,
    an_import_adds_updates_and_keeps_in_one_transaction,
    a_refused_import_changes_nothing,
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
        ..NewZone::default()
    }
}

fn watch_area(code: &str) -> NewZone {
    NewZone {
        kind: ZoneKind::WatchArea,
        theme: Some("dark_alley".to_owned()),
        name_en: Some("Dark alley".to_owned()),
        guidance: Some("Broken lights, blind corners".to_owned()),
        valid_from: Some(now()),
        valid_until: Some(now() + Duration::days(90)),
        ..new_zone(code, Vec::new())
    }
}

/// The zone deltas the feed carried, oldest first.
fn deltas(changes: &[postcso_station::repo::Change]) -> Vec<serde_json::Value> {
    changes
        .iter()
        .filter_map(|c| match &c.body {
            ChangeBody::Zone(json) => Some(json.clone()),
            _ => None,
        })
        .collect()
}

/// The codes of the zone deltas, oldest first.
fn delta_codes(changes: &[postcso_station::repo::Change]) -> Vec<String> {
    deltas(changes)
        .iter()
        .map(|z| z["code"].as_str().expect("code").to_owned())
        .collect()
}

async fn zones_are_added_changed_and_retired_with_one_delta_per_change<
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
    assert_eq!(first.kind, ZoneKind::Beat);
    let given = watch_area("r07");
    let second = repo
        .add_zone(mapo.id, given.clone(), admin.clone(), now())
        .await
        .expect("add another");
    assert_eq!(
        (
            second.kind,
            &second.theme,
            &second.name_en,
            &second.guidance,
            second.valid_from,
            second.valid_until
        ),
        (
            ZoneKind::WatchArea,
            &given.theme,
            &given.name_en,
            &given.guidance,
            given.valid_from,
            given.valid_until
        ),
        "every field kept"
    );
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
        guidance: Some(Some("Parcels left at doors".to_owned())),
        ..ZoneUpdate::default()
    };
    let later = now();
    let (changed, did) = repo
        .update_zone(mapo.id, "r12", renamed.clone(), admin.clone(), later)
        .await
        .expect("update");
    assert!(did);
    assert_eq!(changed.name, "Market route");
    assert_eq!(changed.guidance.as_deref(), Some("Parcels left at doors"));
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
    let logged = serde_json::to_string(&audit(repo, &mapo).await).expect("json");
    assert!(
        !logged.contains("126.93"),
        "no coordinates in the audit log: {logged}"
    );

    let phone = feed_for(repo, &mapo, Audience::Device(a.id)).await;
    assert_eq!(
        delta_codes(&phone),
        ["r12", "r07", "r12", "r07"],
        "one delta per change, with only the zone that changed"
    );
    let last = deltas(&phone);
    assert_eq!(last[2]["name"], "Market route");
    assert_eq!(last[1]["theme"], "dark_alley");
    assert!(last[3]["retired_at"].is_string());
    assert!(
        deltas(&feed_for(repo, &mapo, Audience::Station).await).is_empty(),
        "zone deltas are for phones"
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
        deltas(&feed_for(repo, &mapo, Audience::Device(own.id)).await).len(),
        1
    );
}

async fn an_update_that_contradicts_the_stored_fields_is_refused<
    R: StationStore + ZoneStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let admin = Actor::console();
    let zone = repo
        .add_zone(mapo.id, watch_area("alley"), admin.clone(), now())
        .await
        .expect("add");
    let from = zone.valid_from.expect("from");
    for update in [
        ZoneUpdate {
            valid_until: Some(Some(from - Duration::days(1))),
            ..ZoneUpdate::default()
        },
        ZoneUpdate {
            kind: Some(ZoneKind::Beat),
            ..ZoneUpdate::default()
        },
        ZoneUpdate {
            area: Some(None),
            ..ZoneUpdate::default()
        },
    ] {
        assert!(
            matches!(
                repo.update_zone(mapo.id, "alley", update.clone(), admin.clone(), now())
                    .await,
                Err(RepoError::Conflict(_))
            ),
            "{update:?}"
        );
    }
    let to_beat = ZoneUpdate {
        kind: Some(ZoneKind::Beat),
        theme: Some(None),
        ..ZoneUpdate::default()
    };
    let (beat, changed) = repo
        .update_zone(mapo.id, "alley", to_beat, admin, now())
        .await
        .expect("a beat without theme");
    assert!(changed);
    assert_eq!((beat.kind, beat.theme), (ZoneKind::Beat, None));
    assert_eq!(audit_of(repo, &mapo, "zone.update").await.len(), 1);
}

async fn an_import_adds_updates_and_keeps_in_one_transaction<
    R: StationStore + DeviceStore + ZoneStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let admin = Actor::console();
    let kept = repo
        .add_zone(mapo.id, new_zone("same", vec![]), admin.clone(), now())
        .await
        .expect("add");
    let changing = repo
        .add_zone(
            mapo.id,
            new_zone("changing", vec![carrier.id]),
            admin.clone(),
            now(),
        )
        .await
        .expect("add");
    let before = feed_for(repo, &mapo, Audience::Device(carrier.id)).await;
    let at = now();
    let file = vec![
        NewZone {
            devices: Vec::new(),
            ..new_zone("same", vec![])
        },
        NewZone {
            name: "Renamed".to_owned(),
            ..new_zone("changing", vec![])
        },
        watch_area("fresh"),
    ];
    let imported = repo
        .import_zones(mapo.id, file, admin.clone(), at)
        .await
        .expect("import");
    let outcomes: Vec<(&str, ImportOutcome)> = imported
        .iter()
        .map(|z| (z.zone.code.as_str(), z.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("same", ImportOutcome::Unchanged),
            ("changing", ImportOutcome::Updated),
            ("fresh", ImportOutcome::Added)
        ]
    );
    assert_eq!(imported[0].zone, kept, "untouched");
    assert_eq!(imported[1].zone.name, "Renamed");
    assert_eq!(imported[1].zone.devices, changing.devices, "devices kept");
    assert_eq!(imported[1].zone.updated_at, at);
    assert_eq!(imported[2].zone.kind, ZoneKind::WatchArea);
    let zones = repo.zones(mapo.id).await.expect("zones");
    assert_eq!(
        zones.iter().map(|z| z.code.as_str()).collect::<Vec<_>>(),
        ["same", "changing", "fresh"]
    );

    let after = feed_for(repo, &mapo, Audience::Device(carrier.id)).await;
    assert_eq!(
        delta_codes(&after[before.len()..]),
        ["changing", "fresh"],
        "one delta per changed zone, none for the unchanged one"
    );
    assert_eq!(deltas(&after).last().expect("delta")["name"], "Route fresh");
    let actions: Vec<String> = audit(repo, &mapo)
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("zone."))
        .map(|e| format!("{} {}", e.action, e.target_id))
        .collect();
    assert_eq!(
        actions,
        [
            "zone.add same",
            "zone.add changing",
            "zone.update changing",
            "zone.add fresh"
        ]
    );

    // Importing the same file again changes nothing.
    let again = repo
        .import_zones(
            mapo.id,
            vec![
                new_zone("same", vec![]),
                NewZone {
                    name: "Renamed".to_owned(),
                    ..new_zone("changing", vec![])
                },
                watch_area("fresh"),
            ],
            admin,
            now(),
        )
        .await
        .expect("import again");
    // `watch_area` is dated by the clock: only it may differ.
    assert_eq!(again[0].outcome, ImportOutcome::Unchanged);
    assert_eq!(again[1].outcome, ImportOutcome::Unchanged);
}

async fn a_refused_import_changes_nothing<
    R: StationStore + DeviceStore + ZoneStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let admin = Actor::console();
    repo.add_zone(mapo.id, new_zone("old", vec![]), admin.clone(), now())
        .await
        .expect("add");
    repo.retire_zone(mapo.id, "old", admin.clone(), now())
        .await
        .expect("retire");
    repo.add_zone(mapo.id, new_zone("live", vec![]), admin.clone(), now())
        .await
        .expect("add");
    let zones_before = repo.zones(mapo.id).await.expect("zones");
    let feed_before = feed_for(repo, &mapo, Audience::Station).await.len();
    let all_before = repo
        .changes(mapo.id, Audience::Device(Uuid::new_v4()), 0, 1000)
        .await
        .expect("feed")
        .len();
    let audit_before = audit(repo, &mapo).await.len();
    let renamed_live = NewZone {
        name: "Renamed".to_owned(),
        ..new_zone("live", vec![])
    };
    let reversed = NewZone {
        valid_from: Some(now()),
        valid_until: Some(now() - Duration::days(1)),
        ..new_zone("reversed", vec![])
    };
    let refusals: Vec<(Vec<NewZone>, &str)> = vec![
        (
            vec![
                new_zone("added-first", vec![]),
                renamed_live.clone(),
                new_zone("old", vec![]),
            ],
            "retired",
        ),
        (
            vec![
                renamed_live.clone(),
                new_zone("twice", vec![]),
                new_zone("twice", vec![]),
            ],
            "twice",
        ),
        (
            vec![renamed_live.clone(), new_zone("fine", vec![]), reversed],
            "valid_until",
        ),
    ];
    for (file, why) in refusals {
        match repo.import_zones(mapo.id, file, admin.clone(), now()).await {
            Err(RepoError::Conflict(message)) => {
                assert!(message.contains(why), "{message}");
                assert!(message.contains("zone 2 of the import"), "{message}");
            }
            other => panic!("expected a conflict about {why}, got {other:?}"),
        }
    }
    let foreign = NewZone {
        devices: vec![Uuid::new_v4()],
        ..new_zone("with-device", vec![])
    };
    assert!(matches!(
        repo.import_zones(mapo.id, vec![renamed_live, foreign], admin, now())
            .await,
        Err(RepoError::NotFound("device"))
    ));
    assert_eq!(repo.zones(mapo.id).await.expect("zones"), zones_before);
    assert_eq!(
        feed_for(repo, &mapo, Audience::Station).await.len(),
        feed_before
    );
    assert_eq!(
        repo.changes(mapo.id, Audience::Device(Uuid::new_v4()), 0, 1000)
            .await
            .expect("feed")
            .len(),
        all_before,
        "no feed entry of a refused import"
    );
    assert_eq!(audit(repo, &mapo).await.len(), audit_before);
}
