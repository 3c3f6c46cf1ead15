//! [`DeviceStore`]: an enrolment code enrols one device, once, before it
//! expires; a batch of codes is stored whole or not at all; revocation finds
//! exactly one device and happens once.

use chrono::Duration;
use postcso_station::repo::{
    DeviceStore, FeedStore, NewEnrolmentCode, RedeemOutcome, RepoError, StationStore,
};

use crate::{audit, audit_of, device, now, station};

contract_tests!(
    a_code_enrols_one_device_once_before_it_expires,
    a_batch_of_codes_with_a_taken_label_stores_nothing,
    revoking_finds_one_device_by_id_or_label_and_happens_once,
);

fn code(hash: &str, label: &str, expires_in: Duration) -> NewEnrolmentCode {
    NewEnrolmentCode {
        code_hash: hash.to_owned(),
        label: label.to_owned(),
        expires_at: now() + expires_in,
    }
}

async fn a_code_enrols_one_device_once_before_it_expires<
    R: StationStore + DeviceStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let codes = vec![
        code("fresh", "carrier-001", Duration::hours(1)),
        code("stale", "carrier-002", Duration::seconds(-1)),
    ];
    repo.add_enrolment_codes(mapo.id, codes).await.expect("add");
    assert_eq!(repo.count_enrolment_codes(mapo.id).await.expect("count"), 2);

    let at = now();
    let (device, with_station) = match repo
        .redeem_enrolment_code("fresh", "token-1", at)
        .await
        .expect("redeem")
    {
        RedeemOutcome::Enrolled(device, station) => (device, station),
        other => panic!("not enrolled: {other:?}"),
    };
    assert_eq!(with_station, mapo);
    assert_eq!(device.station_id, mapo.id);
    assert_eq!(device.label, "carrier-001", "the code's label");
    assert_eq!(device.enrolled_at, at);
    assert_eq!(device.revoked_at, None);
    assert_eq!(
        repo.device_by_token_hash("token-1").await.expect("lookup"),
        Some(device.clone())
    );

    assert_eq!(
        repo.redeem_enrolment_code("fresh", "token-2", now())
            .await
            .expect("again"),
        RedeemOutcome::AlreadyUsed
    );
    assert_eq!(
        repo.redeem_enrolment_code("stale", "token-3", now())
            .await
            .expect("stale"),
        RedeemOutcome::Expired
    );
    assert_eq!(
        repo.redeem_enrolment_code("never-made", "token-4", now())
            .await
            .expect("unknown"),
        RedeemOutcome::Unknown
    );
    for refused in ["token-2", "token-3", "token-4"] {
        assert_eq!(
            repo.device_by_token_hash(refused).await.expect("lookup"),
            None
        );
    }
    assert_eq!(
        repo.list_devices(mapo.id).await.expect("list"),
        std::slice::from_ref(&device)
    );

    let redeemed = audit_of(repo, &mapo, "enrolment_code.redeem").await;
    assert_eq!(redeemed.len(), 1);
    assert_eq!(
        redeemed[0].actor_device_id,
        Some(device.id),
        "the new device acted"
    );
    let created = audit_of(repo, &mapo, "enrolment_code.create").await;
    assert_eq!(created.len(), 2);
    let logged = serde_json::to_string(
        &audit(repo, &mapo)
            .await
            .iter()
            .map(|e| (&e.before, &e.after))
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(
        !logged.contains("fresh") && !logged.contains("token-1"),
        "no secret is logged: {logged}"
    );
}

async fn a_batch_of_codes_with_a_taken_label_stores_nothing<
    R: StationStore + DeviceStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    repo.add_enrolment_codes(mapo.id, vec![code("a", "carrier-001", Duration::hours(1))])
        .await
        .expect("first batch");
    let batch = vec![
        code("b", "carrier-002", Duration::hours(1)),
        code("c", "carrier-001", Duration::hours(1)),
    ];
    match repo.add_enrolment_codes(mapo.id, batch).await {
        Err(RepoError::Conflict(message)) => assert!(message.contains("carrier-001"), "{message}"),
        other => panic!("a taken label was not refused: {other:?}"),
    }
    assert_eq!(
        repo.count_enrolment_codes(mapo.id).await.expect("count"),
        1,
        "none of the batch"
    );
    assert_eq!(
        repo.redeem_enrolment_code("b", "token", now())
            .await
            .expect("redeem"),
        RedeemOutcome::Unknown,
        "the batch's first code was rolled back with the rest"
    );
    assert_eq!(
        audit_of(repo, &mapo, "enrolment_code.create").await.len(),
        1
    );
}

async fn revoking_finds_one_device_by_id_or_label_and_happens_once<
    R: StationStore + DeviceStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let (first, first_token) = device(repo, &mapo, "carrier-001").await;
    let (second, _) = device(repo, &mapo, "carrier-002").await;
    // A label that spells another device's id: the key matches both.
    let (lookalike, _) = device(repo, &mapo, &second.id.to_string()).await;
    device(repo, &dongjak, "carrier-009").await;

    let at = now();
    let (revoked, newly) = repo
        .revoke_device(mapo.id, "carrier-001", at)
        .await
        .expect("revoke by label");
    assert!(newly);
    assert_eq!(revoked.id, first.id);
    assert_eq!(revoked.revoked_at, Some(at));
    let stored = repo
        .device_by_token_hash(&first_token)
        .await
        .expect("lookup")
        .expect("kept");
    assert_eq!(stored.revoked_at, Some(at), "kept, revoked");

    let (again, newly_again) = repo
        .revoke_device(mapo.id, &first.id.to_string(), now())
        .await
        .expect("revoke by id");
    assert!(!newly_again, "already revoked");
    assert_eq!(again.revoked_at, Some(at), "the first revocation stands");
    assert_eq!(audit_of(repo, &mapo, "device.revoke").await.len(), 1);

    match repo
        .revoke_device(mapo.id, &second.id.to_string(), now())
        .await
    {
        Err(RepoError::Conflict(message)) => assert!(message.contains("2 devices"), "{message}"),
        other => panic!("an ambiguous key was not refused: {other:?}"),
    }
    let (by_own_id, _) = repo
        .revoke_device(mapo.id, &lookalike.id.to_string(), now())
        .await
        .expect("revoke the lookalike by its id");
    assert_eq!(by_own_id.id, lookalike.id);
    assert!(
        matches!(
            repo.revoke_device(mapo.id, "carrier-009", now()).await,
            Err(RepoError::NotFound("device"))
        ),
        "another station's device is not found"
    );
    let listed: Vec<(String, bool)> = repo
        .list_devices(mapo.id)
        .await
        .expect("list")
        .into_iter()
        .map(|d| (d.label, d.revoked_at.is_some()))
        .collect();
    let mut expected = vec![
        ("carrier-001".to_owned(), true),
        ("carrier-002".to_owned(), false),
        (second.id.to_string(), true),
    ];
    expected.sort();
    assert_eq!(
        listed, expected,
        "by label, the other station's device left out"
    );
}
