//! [`InspectionStore`]: assigning an inspector moves the report to
//! `inspecting` once and writes nothing when repeated; only the assigned
//! inspector records findings, which the audit log keeps without their text.

use chrono::Duration;
use postcso_model::{ReportId, ReviewStatus};
use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, Actor, AssignOutcome, Audience, DeviceStore, FeedStore, Inspection,
    InspectionOutcome, InspectionStore, NewFindings, RepoError, ReportStore, StationStore,
    StoredReport,
};

use crate::{acting, audit_of, delivered, device, feed_for, now, report_events, station, user};

contract_tests!(
    assigning_moves_the_report_to_inspecting_once,
    only_the_assigned_inspector_records_findings,
);

/// The inspection and report of an assignment that was made.
fn assigned(outcome: AssignOutcome) -> (Inspection, StoredReport, bool) {
    match outcome {
        AssignOutcome::Assigned {
            inspection,
            report,
            changed,
        } => (inspection, *report, changed),
        other => panic!("not assigned: {other:?}"),
    }
}

fn findings(text: &str, outcome: InspectionOutcome) -> NewFindings {
    NewFindings {
        text: text.to_owned(),
        outcome,
        observed_at: now() - Duration::hours(1),
    }
}

async fn assigning_moves_the_report_to_inspecting_once<
    R: StationStore + AccountStore + DeviceStore + ReportStore + InspectionStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let ahn = user(repo, &mapo, "ahn", Role::Inspector).await;
    let cho = user(repo, &mapo, "cho", Role::Inspector).await;
    user(repo, &mapo, "dan", Role::Inspector).await;
    repo.disable_user(mapo.id, "dan", now())
        .await
        .expect("disable");
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &carrier, 0).await;

    let at = now();
    let (inspection, moved, changed) = assigned(
        repo.assign_inspection(mapo.id, report.id, "ahn", None, acting(&kim), at)
            .await
            .expect("assign"),
    );
    assert!(changed);
    assert_eq!(
        (
            inspection.report_id,
            inspection.inspector_id,
            inspection.inspector.as_str()
        ),
        (report.id, ahn.id, "ahn")
    );
    assert_eq!(
        (inspection.assigned_by, inspection.assigned_at),
        (kim.id, at)
    );
    assert_eq!(inspection.findings, None);
    assert_eq!(moved.status, ReviewStatus::Inspecting);
    assert_eq!(
        repo.inspection(mapo.id, report.id).await.expect("read"),
        Some(inspection.clone())
    );

    let (same, _, changed_again) = assigned(
        repo.assign_inspection(mapo.id, report.id, "ahn", None, acting(&kim), now())
            .await
            .expect("again"),
    );
    assert!(!changed_again, "the same inspector again writes nothing");
    assert_eq!(same, inspection);

    for not_an_inspector in ["kim", "dan", "nobody"] {
        assert_eq!(
            repo.assign_inspection(
                mapo.id,
                report.id,
                not_an_inspector,
                None,
                acting(&kim),
                now()
            )
            .await
            .expect("assign"),
            AssignOutcome::NotAnInspector,
            "{not_an_inspector}"
        );
    }
    assert_eq!(
        repo.assign_inspection(mapo.id, ReportId::new(), "ahn", None, acting(&kim), now())
            .await
            .expect("assign"),
        AssignOutcome::NoReport
    );

    let (moved_on, _, reassigned) = assigned(
        repo.assign_inspection(mapo.id, report.id, "cho", None, acting(&kim), now())
            .await
            .expect("reassign"),
    );
    assert!(reassigned);
    assert_eq!(moved_on.inspector_id, cho.id);

    let assigns = audit_of(repo, &mapo, "inspection.assign").await;
    assert_eq!(assigns.len(), 2);
    assert_eq!(
        assigns[1].before.as_ref().map(|b| &b["inspector"]),
        Some(&"ahn".into())
    );
    assert_eq!(
        audit_of(repo, &mapo, "report.status").await.len(),
        1,
        "the status changed once"
    );
    let events = report_events(&feed_for(repo, &mapo, Audience::Device(carrier.id)).await);
    assert_eq!(
        events,
        [("status".to_owned(), report.id.to_string())],
        "the carrier sees `inspecting`"
    );

    let other = delivered(repo, &mapo, &carrier, 0).await;
    assert!(
        matches!(
            repo.assign_inspection(mapo.id, other.id, "ahn", None, Actor::console(), now())
                .await,
            Err(RepoError::Storage(_))
        ),
        "only a signed-in user assigns"
    );
    assert_eq!(
        repo.inspection(mapo.id, other.id).await.expect("read"),
        None
    );
    let untouched = repo
        .report(mapo.id, other.id)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(untouched.status, ReviewStatus::Received);
}

async fn only_the_assigned_inspector_records_findings<
    R: StationStore + AccountStore + DeviceStore + ReportStore + InspectionStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let ahn = user(repo, &mapo, "ahn", Role::Inspector).await;
    let cho = user(repo, &mapo, "cho", Role::Inspector).await;
    let (carrier, _) = device(repo, &mapo, "carrier-001").await;
    let first = delivered(repo, &mapo, &carrier, 0).await;
    let second = delivered(repo, &mapo, &carrier, 0).await;
    let unassigned = delivered(repo, &mapo, &carrier, 0).await;
    let t0 = now();
    repo.assign_inspection(mapo.id, first.id, "ahn", None, acting(&kim), t0)
        .await
        .expect("assign");
    repo.assign_inspection(
        mapo.id,
        second.id,
        "cho",
        None,
        acting(&kim),
        t0 + Duration::seconds(1),
    )
    .await
    .expect("assign");

    let seen = findings(
        "The lamp at the crossing is dark; resident Mr. Park says so too.",
        InspectionOutcome::Confirmed,
    );
    assert_eq!(
        repo.record_inspection(mapo.id, first.id, cho.id, seen.clone(), acting(&cho), now())
            .await
            .expect("record"),
        None,
        "not cho's inspection"
    );
    assert_eq!(
        repo.record_inspection(
            mapo.id,
            unassigned.id,
            ahn.id,
            seen.clone(),
            acting(&ahn),
            now()
        )
        .await
        .expect("record"),
        None
    );
    let at = now();
    let recorded = repo
        .record_inspection(mapo.id, first.id, ahn.id, seen.clone(), acting(&ahn), at)
        .await
        .expect("record")
        .expect("ahn's");
    let stored = recorded.findings.clone().expect("findings");
    assert_eq!(
        (stored.text, stored.outcome),
        (seen.text.clone(), InspectionOutcome::Confirmed)
    );
    assert_eq!(
        (stored.observed_at, stored.recorded_at),
        (seen.observed_at, at)
    );
    let fixed = findings("Repaired.", InspectionOutcome::Resolved);
    let replaced = repo
        .record_inspection(mapo.id, first.id, ahn.id, fixed, acting(&ahn), now())
        .await
        .expect("record again")
        .expect("ahn's");
    assert_eq!(
        replaced.findings.map(|f| f.outcome),
        Some(InspectionOutcome::Resolved)
    );

    let all: Vec<ReportId> = repo
        .inspections(mapo.id, None)
        .await
        .expect("list")
        .iter()
        .map(|i| i.report_id)
        .collect();
    assert_eq!(all, [second.id, first.id], "newest assignment first");
    let ahns: Vec<ReportId> = repo
        .inspections(mapo.id, Some(ahn.id))
        .await
        .expect("list")
        .iter()
        .map(|i| i.report_id)
        .collect();
    assert_eq!(ahns, [first.id]);

    let records = audit_of(repo, &mapo, "inspection.record").await;
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[1].before.as_ref().map(|b| &b["outcome"]),
        Some(&"confirmed".into())
    );
    assert_eq!(
        records[0].after.as_ref().map(|a| &a["findings_chars"]),
        Some(&seen.text.chars().count().into())
    );
    let logged = serde_json::to_string(
        &records
            .iter()
            .map(|r| (&r.before, &r.after))
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(
        !logged.contains("Park"),
        "the findings text stays out of the audit log: {logged}"
    );

    let inspected = |events: Vec<(String, String)>| {
        events.into_iter().filter(|(e, _)| e == "inspected").count()
    };
    assert_eq!(
        inspected(report_events(
            &feed_for(repo, &mapo, Audience::Station).await
        )),
        2
    );
    assert_eq!(
        inspected(report_events(
            &feed_for(repo, &mapo, Audience::Device(carrier.id)).await
        )),
        0,
        "findings are for supervisors"
    );

    repo.assign_inspection(mapo.id, first.id, "cho", None, acting(&kim), now())
        .await
        .expect("reassign");
    let moved = repo
        .inspection(mapo.id, first.id)
        .await
        .expect("read")
        .expect("assigned");
    assert_eq!(
        (moved.inspector_id, moved.findings),
        (cho.id, None),
        "re-assigning clears findings"
    );
}
