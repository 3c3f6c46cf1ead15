//! [`ReferralStore`]: a referral moves the report to `referred` with the
//! carrier's line in the same transaction as its audit rows and feed entry;
//! answers are recorded once each, `fixed` closes the report, `declined`
//! sends it back to the queue; stale versions, retired agencies, closed
//! reports and second open referrals are refused and write nothing.

use chrono::NaiveDate;
use postcso_model::ReviewStatus;
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, AgencyKind, AgencyStore, AnswerKind, AnswerOutcome, Audience, ChangeBody,
    Delivery, DeviceStore, FeedStore, NewAnswer, NewReferral, QueueQuery, ReferOutcome,
    ReferralStore, RepoError, ReportStore, ReviewStore, StationStore,
};

use crate::agencies::{manual_agency, open311_agency};
use crate::{acting, audit, audit_of, delivered, device, feed_for, now, station, user};

contract_tests!(
    a_referral_and_its_answers_reach_the_carrier_and_the_audit_log,
    refusals_write_nothing,
);

fn referral(report: postcso_model::ReportId, agency: &str, version: Option<u64>) -> NewReferral {
    NewReferral {
        report,
        agency_code: agency.to_owned(),
        proposed: None,
        text: "보안등이 꺼져 있습니다. 교체를 요청합니다.".to_owned(),
        if_version: version,
    }
}

fn answer(kind: AnswerKind, note: Option<&str>) -> NewAnswer {
    NewAnswer {
        answer: kind,
        note: note.map(str::to_owned),
        answered_on: NaiveDate::from_ymd_opt(2026, 12, 12).expect("date"),
        if_version: None,
    }
}

/// The carrier's feed as `(status, reason)` pairs.
async fn carrier_lines<R: FeedStore + ?Sized>(
    repo: &R,
    station: &postcso_station::repo::Station,
    device: uuid::Uuid,
) -> Vec<(String, Option<String>)> {
    feed_for(repo, station, Audience::Device(device))
        .await
        .into_iter()
        .filter_map(|c| match c.body {
            ChangeBody::Report { status, reason, .. } => Some((status.as_str().to_owned(), reason)),
            _ => None,
        })
        .collect()
}

async fn a_referral_and_its_answers_reach_the_carrier_and_the_audit_log<
    R: StationStore
        + AccountStore
        + DeviceStore
        + ReportStore
        + AgencyStore
        + ReferralStore
        + FeedStore
        + ReviewStore
        + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    let kim = user(repo, &s, "kim", Role::Supervisor).await;
    let (phone, _) = device(repo, &s, "carrier-001").await;
    let report = delivered(repo, &s, &phone, 0).await;
    let gu = repo
        .add_agency(s.id, open311_agency("gu"), acting(&kim), now())
        .await
        .expect("gu");
    let police = repo
        .add_agency(
            s.id,
            manual_agency("station", "서대문경찰서", AgencyKind::Police),
            acting(&kim),
            now(),
        )
        .await
        .expect("station");
    let mut new = referral(report.id, "gu", Some(report.version));
    new.proposed = Some(police.id);
    let ReferOutcome::Referred {
        referral,
        report: after,
    } = repo
        .refer_report(s.id, new, acting(&kim), now())
        .await
        .expect("refer")
    else {
        panic!("not referred");
    };
    assert_eq!(after.status, ReviewStatus::Referred);
    assert_eq!(
        after.status_reason.as_deref(),
        Some("서대문구청에 이관되었습니다")
    );
    assert!(after.version > report.version);
    assert_eq!(referral.agency.id, gu.id);
    assert_eq!(
        referral.delivery,
        Delivery::Waiting,
        "open311 is not sent yet"
    );
    assert!(referral.overridden, "another agency than the proposed one");
    assert_eq!(referral.proposed_agency.as_deref(), Some("station"));
    assert_eq!(referral.created_by, "kim");
    let created = audit_of(repo, &s, "referral.create").await;
    let row = created[0].after.as_ref().expect("after");
    assert_eq!(row["override"], true);
    assert_eq!(row["agency"], "gu");
    assert!(!row.to_string().contains("보안등"), "never the text: {row}");

    for (kind, note) in [
        (AnswerKind::Accepted, None),
        (AnswerKind::Fixed, Some("보안등 교체")),
    ] {
        let outcome = repo
            .record_answer(s.id, referral.id, answer(kind, note), acting(&kim), now())
            .await
            .expect("answer");
        assert!(
            matches!(outcome, AnswerOutcome::Recorded { .. }),
            "{outcome:?}"
        );
    }
    let stored = repo
        .referral(s.id, referral.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored.answers.len(), 2);
    assert!(!stored.is_open());
    let fixed = repo
        .report(s.id, report.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(fixed.status, ReviewStatus::Fixed);
    assert_eq!(
        carrier_lines(repo, &s, phone.id).await,
        [
            (
                "referred".to_owned(),
                Some("서대문구청에 이관되었습니다".to_owned())
            ),
            (
                "referred".to_owned(),
                Some("서대문구청에서 접수했습니다".to_owned())
            ),
            (
                "fixed".to_owned(),
                Some("12월 12일 조치 완료: 보안등 교체".to_owned())
            ),
        ]
    );
    assert_eq!(audit_of(repo, &s, "referral.answer").await.len(), 2);
    assert!(matches!(
        repo.record_answer(
            s.id,
            referral.id,
            answer(AnswerKind::InProgress, None),
            acting(&kim),
            now()
        )
        .await
        .expect("closed"),
        AnswerOutcome::Closed
    ));

    // A declined referral sends the report back, and it can be referred again.
    let second = delivered(repo, &s, &phone, 0).await;
    let ReferOutcome::Referred { referral: r2, .. } = repo
        .refer_report(
            s.id,
            referral_for(second.id, "station"),
            acting(&kim),
            now(),
        )
        .await
        .expect("refer")
    else {
        panic!("not referred");
    };
    assert_eq!(r2.delivery, Delivery::Manual);
    assert!(!r2.overridden, "no proposal, no override");
    repo.record_answer(
        s.id,
        r2.id,
        answer(AnswerKind::Declined, Some("구청 소관")),
        acting(&kim),
        now(),
    )
    .await
    .expect("declined");
    let back = repo
        .report(s.id, second.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(back.status, ReviewStatus::Accepted);
    let all = repo.referrals(s.id, second.id).await.expect("list");
    assert!(all[0].declined() && !all[0].is_open());
    assert_eq!(
        flagged(repo, s.id).await,
        [second.id],
        "flagged in the queue"
    );
    assert!(matches!(
        repo.refer_report(s.id, referral_for(second.id, "gu"), acting(&kim), now())
            .await
            .expect("again"),
        ReferOutcome::Referred { .. }
    ));
    assert_eq!(
        repo.referrals(s.id, second.id).await.expect("list").len(),
        2
    );
}

fn referral_for(report: postcso_model::ReportId, agency: &str) -> NewReferral {
    referral(report, agency, None)
}

async fn refusals_write_nothing<
    R: StationStore
        + AccountStore
        + DeviceStore
        + ReportStore
        + AgencyStore
        + ReferralStore
        + FeedStore
        + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    let other = station(repo, "mapo").await;
    let kim = user(repo, &s, "kim", Role::Supervisor).await;
    let (phone, _) = device(repo, &s, "carrier-001").await;
    let report = delivered(repo, &s, &phone, 0).await;
    repo.add_agency(
        s.id,
        manual_agency("gu", "서대문구청", AgencyKind::DistrictOffice),
        acting(&kim),
        now(),
    )
    .await
    .expect("gu");
    repo.add_agency(
        s.id,
        manual_agency("old", "옛 기관", AgencyKind::Other),
        acting(&kim),
        now(),
    )
    .await
    .expect("old");
    repo.retire_agency(s.id, "old", acting(&kim), now())
        .await
        .expect("retire");
    let rows = audit(repo, &s).await.len();
    let refer = |new: NewReferral| repo.refer_report(s.id, new, acting(&kim), now());
    assert_eq!(
        refer(referral(report.id, "gu", Some(report.version + 5))).await,
        Err(RepoError::Stale {
            current: report.version
        })
    );
    assert_eq!(
        refer(referral(report.id, "old", None)).await,
        Ok(ReferOutcome::AgencyRetired)
    );
    assert_eq!(
        refer(referral(report.id, "nobody", None)).await,
        Ok(ReferOutcome::NoAgency)
    );
    assert_eq!(
        repo.refer_report(
            other.id,
            referral(report.id, "gu", None),
            acting(&kim),
            now()
        )
        .await,
        Ok(ReferOutcome::NoReport),
        "another station's report"
    );
    repo.set_report_status(
        s.id,
        report.id,
        ReviewStatus::Rejected,
        Some("중복".into()),
        None,
        acting(&kim),
        now(),
    )
    .await
    .expect("reject");
    let rows = rows + 1;
    assert_eq!(
        refer(referral(report.id, "gu", None)).await,
        Ok(ReferOutcome::NotReferable(ReviewStatus::Rejected))
    );
    assert_eq!(audit(repo, &s).await.len(), rows, "nothing written");

    let open = delivered(repo, &s, &phone, 0).await;
    let rows = audit(repo, &s).await.len();
    let ReferOutcome::Referred {
        referral: first, ..
    } = refer(referral(open.id, "gu", None)).await.expect("refer")
    else {
        panic!("not referred");
    };
    assert!(matches!(
        refer(referral(open.id, "gu", None)).await,
        Ok(ReferOutcome::AlreadyReferred(r)) if r.id == first.id
    ));
    let mut stale = answer(AnswerKind::Accepted, None);
    stale.if_version = Some(1);
    assert!(matches!(
        repo.record_answer(s.id, first.id, stale, acting(&kim), now())
            .await,
        Err(RepoError::Stale { .. })
    ));
    repo.record_answer(
        s.id,
        first.id,
        answer(AnswerKind::Accepted, None),
        acting(&kim),
        now(),
    )
    .await
    .expect("accepted");
    assert_eq!(
        repo.record_answer(
            s.id,
            first.id,
            answer(AnswerKind::Accepted, None),
            acting(&kim),
            now()
        )
        .await,
        Ok(AnswerOutcome::AlreadyAnswered),
        "each answer once"
    );
    assert_eq!(
        repo.record_answer(
            other.id,
            first.id,
            answer(AnswerKind::Fixed, None),
            acting(&kim),
            now()
        )
        .await,
        Ok(AnswerOutcome::NoReferral)
    );
    // referral.create + report.status, then referral.answer + report.status.
    assert_eq!(audit(repo, &s).await.len(), rows + 4);
}

/// The reports the review queue flags as declined by their agency.
async fn flagged<R: ReviewStore + ?Sized>(
    repo: &R,
    station: postcso_station::repo::StationId,
) -> Vec<postcso_model::ReportId> {
    let query = QueueQuery {
        limit: 50,
        ..QueueQuery::default()
    };
    let page = repo.review_queue(station, &query).await.expect("queue");
    page.rows
        .iter()
        .filter(|r| r.referral_declined)
        .map(|r| r.id)
        .collect()
}
