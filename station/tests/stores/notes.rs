//! [`NoteStore`]: internal notes are kept per report and station, oldest
//! first, each with an audit row that never holds the text; a note on a
//! report of another station is refused and writes nothing.

use postcso_station::auth::Role;
use postcso_station::repo::{
    AccountStore, DeviceStore, FeedStore, NoteStore, RepoError, ReportStore, StationStore,
};

use crate::{audit_of, delivered, device, now, station, user};

contract_tests!(notes_are_kept_per_report_with_an_audit_row_without_their_text);

async fn notes_are_kept_per_report_with_an_audit_row_without_their_text<
    R: StationStore + AccountStore + DeviceStore + ReportStore + NoteStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = station(repo, "mapo").await;
    let dongjak = station(repo, "dongjak").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let park = user(repo, &dongjak, "park", Role::Supervisor).await;
    let (a, _) = device(repo, &mapo, "carrier-001").await;
    let report = delivered(repo, &mapo, &a, 0).await;
    let first = repo
        .add_note(mapo.id, report.id, &kim, "주민 민원 다수".into(), now())
        .await
        .expect("first");
    let second = repo
        .add_note(mapo.id, report.id, &kim, "second".into(), now())
        .await
        .expect("second");
    assert_eq!(first.author_username, "kim");
    let notes = repo.notes(mapo.id, report.id).await.expect("notes");
    assert_eq!(notes, [first.clone(), second]);
    assert!(
        repo.notes(dongjak.id, report.id)
            .await
            .expect("foreign")
            .is_empty()
    );

    let foreign = repo
        .add_note(dongjak.id, report.id, &park, "x".into(), now())
        .await;
    assert_eq!(foreign, Err(RepoError::NotFound("report")));
    let rows = audit_of(repo, &mapo, "report.note").await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].target_id, report.id.to_string());
    assert_eq!(rows[0].actor_username.as_deref(), Some("kim"));
    let after = rows[0].after.as_ref().expect("after").to_string();
    assert!(
        after.contains(&first.id.to_string()) && !after.contains("민원"),
        "{after}"
    );
    assert!(audit_of(repo, &dongjak, "report.note").await.is_empty());
    let version = repo
        .report(mapo.id, report.id)
        .await
        .expect("read")
        .expect("stored")
        .version;
    assert_eq!(
        version, report.version,
        "a note is not a change of the report"
    );
}
