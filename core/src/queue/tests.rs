//! State-machine property tests: random sequences of operations on a real queue
//! (real SQLite file, real photo files, reopened at random) must agree with a
//! simple model of the lifecycle at every step.

use crate::secrets::FileSecretStore;
use std::path::Path;

use chrono::Utc;
use proptest::prelude::*;

use super::*;
use crate::model::ReportState as S;

#[derive(Debug, Clone)]
enum Op {
    Create,
    SetCategory(usize, bool),
    SetNote(usize),
    SetLocation(usize),
    AttachPhoto(usize, u8),
    RemovePhoto(usize),
    Submit(usize),
    Withdraw(usize),
    DeleteDraft(usize),
    Engine(usize, ReportEvent),
    RetryRejected(usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0usize..6;
    prop_oneof![
        3 => Just(Op::Create),
        2 => (i.clone(), any::<bool>()).prop_map(|(i, ok)| Op::SetCategory(i, ok)),
        1 => i.clone().prop_map(Op::SetNote),
        2 => i.clone().prop_map(Op::SetLocation),
        2 => (i.clone(), 0u8..6).prop_map(|(i, s)| Op::AttachPhoto(i, s)),
        1 => i.clone().prop_map(Op::RemovePhoto),
        3 => i.clone().prop_map(Op::Submit),
        1 => i.clone().prop_map(Op::Withdraw),
        1 => i.clone().prop_map(Op::DeleteDraft),
        3 => (i, prop_oneof![
            Just(ReportEvent::StartSending),
            Just(ReportEvent::SendFailed),
            Just(ReportEvent::Acknowledged),
            Just(ReportEvent::Rejected),
        ]).prop_map(|(i, e)| Op::Engine(i, e)),
        2 => (0usize..6).prop_map(Op::RetryRejected),
        1 => Just(Op::Reopen),
    ]
}

/// What the model expects of one report.
#[derive(Debug, Clone)]
struct Model {
    id: ReportId,
    state: S,
    category: bool,
    location: bool,
    photos: Vec<u8>,
    deleted: bool,
}

fn tiny_png(seed: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 4, 4);
    enc.set_color(png::ColorType::Grayscale);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[seed.wrapping_mul(40); 16])
        .expect("data");
    drop(w);
    out
}

fn open(dir: &Path) -> ReportQueue {
    ReportQueue::open(QueueConfig::new(dir), FileSecretStore::in_data_dir(dir)).expect("open")
}

/// Applies `op` to the model and returns whether the real queue must accept it.
fn expect(models: &mut Vec<Model>, op: &Op, created: Option<ReportId>) -> bool {
    let pick = |models: &mut Vec<Model>, i: usize| -> Option<usize> {
        if models.is_empty() {
            None
        } else {
            Some(i % models.len())
        }
    };
    match *op {
        Op::Create => {
            models.push(Model {
                id: created.expect("id"),
                state: S::Draft,
                category: false,
                location: false,
                photos: vec![],
                deleted: false,
            });
            true
        }
        Op::Reopen => {
            for m in models.iter_mut().filter(|m| m.state == S::Sending) {
                m.state = S::Queued;
            }
            true
        }
        Op::SetCategory(i, valid) => match pick(models, i) {
            Some(k) if valid && models[k].state == S::Draft && !models[k].deleted => {
                models[k].category = true;
                true
            }
            _ => false,
        },
        Op::SetNote(i) | Op::SetLocation(i) => match pick(models, i) {
            Some(k) if models[k].state == S::Draft && !models[k].deleted => {
                if matches!(op, Op::SetLocation(_)) {
                    models[k].location = true;
                }
                true
            }
            _ => false,
        },
        Op::AttachPhoto(i, seed) => match pick(models, i) {
            Some(k) if models[k].state == S::Draft && !models[k].deleted => {
                let m = &mut models[k];
                if m.photos.contains(&seed) {
                    true
                } else if m.photos.len() < MAX_PHOTOS_DEFAULT {
                    m.photos.push(seed);
                    true
                } else {
                    false
                }
            }
            _ => false,
        },
        Op::RemovePhoto(i) => match pick(models, i) {
            Some(k)
                if models[k].state == S::Draft
                    && !models[k].deleted
                    && !models[k].photos.is_empty() =>
            {
                models[k].photos.remove(0);
                true
            }
            _ => false,
        },
        Op::Submit(i) => match pick(models, i) {
            Some(k)
                if models[k].state == S::Draft
                    && !models[k].deleted
                    && models[k].category
                    && models[k].location =>
            {
                models[k].state = S::Queued;
                true
            }
            _ => false,
        },
        Op::DeleteDraft(i) => match pick(models, i) {
            Some(k) if models[k].state == S::Draft && !models[k].deleted => {
                models[k].deleted = true;
                true
            }
            _ => false,
        },
        // The station never stored these (no delivery was acknowledged), so a
        // refused report comes back as a draft for the carrier to correct.
        Op::RetryRejected(i) => match pick(models, i) {
            Some(k) if models[k].state == S::RejectedByServer && !models[k].deleted => {
                models[k].state = S::Draft;
                true
            }
            _ => false,
        },
        Op::Withdraw(i) => apply_event(models, i, ReportEvent::Withdraw),
        Op::Engine(i, event) => apply_event(models, i, event),
    }
}

fn apply_event(models: &mut [Model], i: usize, event: ReportEvent) -> bool {
    if models.is_empty() {
        return false;
    }
    let k = i % models.len();
    if models[k].deleted {
        return false;
    }
    match models[k].state.apply(event) {
        Ok(next) => {
            models[k].state = next;
            true
        }
        Err(_) => false,
    }
}

fn run(queue: &ReportQueue, models: &[Model], op: &Op) -> Result<Option<ReportId>, QueueError> {
    let target = |i: usize| {
        models
            .get(i % models.len().max(1))
            .map(|m| m.id)
            .unwrap_or_default()
    };
    match *op {
        Op::Create => queue.create_draft().map(Some),
        Op::Reopen => Ok(None),
        Op::SetCategory(i, valid) => queue
            .set_category(target(i), if valid { "crime_risk" } else { "no_such_code" })
            .map(|_| None),
        Op::SetNote(i) => queue.set_note(target(i), "어두운 골목").map(|_| None),
        Op::SetLocation(i) => {
            let fix = GeoPoint::new(
                37.56,
                126.94,
                Some(5.0),
                None,
                Utc::now(),
                LocationSource::Gps,
            )?;
            queue.set_location(target(i), fix).map(|_| None)
        }
        Op::AttachPhoto(i, seed) => queue
            .attach_photo(target(i), PhotoInput::Bytes(&tiny_png(seed)))
            .map(|_| None),
        Op::RemovePhoto(i) => queue.remove_photo(target(i), 0).map(|_| None),
        Op::Submit(i) => queue.submit(target(i)).map(|_| None),
        Op::Withdraw(i) => queue.withdraw(target(i)).map(|_| None),
        Op::DeleteDraft(i) => queue.delete_draft(target(i)).map(|_| None),
        Op::Engine(i, ReportEvent::Rejected) => queue
            .mark_rejected(target(i), "category retired")
            .map(|_| None),
        Op::Engine(i, event) => queue.transition(target(i), event).map(|_| None),
        Op::RetryRejected(i) => queue.retry_rejected(target(i)).map(|_| None),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_follows_the_lifecycle_model(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut queue = open(dir.path());
        let mut models: Vec<Model> = Vec::new();
        for op in &ops {
            if matches!(op, Op::Reopen) {
                drop(queue);
                queue = open(dir.path());
            }
            let outcome = run(&queue, &models, op);
            let created = outcome.as_ref().ok().copied().flatten();
            let should_succeed = expect(&mut models, op, created);
            prop_assert_eq!(outcome.is_ok(), should_succeed, "{:?} gave {:?}", op, outcome);
            for m in &models {
                match queue.get(m.id) {
                    Ok(r) => {
                        prop_assert!(!m.deleted, "deleted draft {} still there", m.id);
                        prop_assert_eq!(r.state, m.state, "{:?}", op);
                        prop_assert_eq!(r.photos.len(), m.photos.len());
                        prop_assert_eq!(r.content_hash.is_some(), m.state.is_sealed());
                        if m.state == S::RejectedByServer {
                            prop_assert_eq!(r.server_message.as_deref(), Some("category retired"));
                        }
                        if m.state == S::Queued {
                            // Re-sealing clears an earlier refusal.
                            prop_assert_eq!(r.server_message, None);
                        }
                    }
                    Err(QueueError::NotFound(_)) => prop_assert!(m.deleted),
                    Err(e) => prop_assert!(false, "get failed: {}", e),
                }
            }
            let stats = queue.stats().expect("stats");
            let live = models.iter().filter(|m| !m.deleted);
            prop_assert_eq!(stats.queued, live.clone().filter(|m| m.state == S::Queued).count() as u64);
            prop_assert_eq!(stats.drafts, live.filter(|m| m.state == S::Draft).count() as u64);
        }
    }
}

#[test]
fn a_report_interrupted_mid_send_is_queued_again_on_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let id = located_draft(&queue, "other");
    queue.submit(id).expect("submit");
    let sealed = queue.sealed_content(id).expect("sealed");
    queue
        .transition(id, ReportEvent::StartSending)
        .expect("sending");
    drop(queue);
    let queue = open(dir.path());
    assert_eq!(queue.get(id).expect("get").state, S::Queued);
    assert_eq!(
        queue.sealed_content(id).expect("sealed"),
        sealed,
        "the seal survives the interruption"
    );
    queue
        .transition(id, ReportEvent::StartSending)
        .expect("sending");
    queue
        .transition(id, ReportEvent::Acknowledged)
        .expect("sent");
    queue
        .set_review_status(id, &ReviewStatus::Fixed, None)
        .expect("review");
    assert_eq!(
        queue.get(id).expect("get").review_status,
        Some(ReviewStatus::Fixed)
    );
}

/// A draft with a category, a position and one photo, submitted; returns its id.
fn queued_report(queue: &ReportQueue) -> ReportId {
    let id = located_draft(queue, "crime_risk");
    queue
        .attach_photo(id, PhotoInput::Bytes(&tiny_png(1)))
        .expect("photo");
    queue.submit(id).expect("submit");
    id
}

/// A draft with `category` and a good GPS fix, ready to submit; returns its id.
fn located_draft(queue: &ReportQueue, category: &str) -> ReportId {
    let id = queue.create_draft().expect("draft");
    queue.set_category(id, category).expect("category");
    let fix = GeoPoint::new(
        37.56,
        126.94,
        Some(5.0),
        None,
        Utc::now(),
        LocationSource::Gps,
    )
    .expect("fix");
    queue.set_location(id, fix).expect("location");
    id
}

/// Opens a second connection to the queue's database, as another process would.
fn side_connection(dir: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("queue.db")).expect("side connection")
}

#[test]
fn a_refused_report_reopens_as_a_draft_and_is_sealed_again_under_its_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let id = queued_report(&queue);
    let first_hash = queue.get(id).expect("get").content_hash.expect("sealed");
    queue.begin_delivery(id).expect("sending");
    queue
        .mark_rejected(id, "/category: the category is retired")
        .expect("refused");

    assert_eq!(queue.retry_rejected(id).expect("retry"), S::Draft);
    let reopened = queue.get(id).expect("get");
    assert_eq!(reopened.state, S::Draft);
    assert_eq!(reopened.content_hash, None, "the seal is broken");
    assert_eq!(
        reopened.server_message.as_deref(),
        Some("/category: the category is retired"),
        "the carrier still reads what to correct"
    );
    assert_eq!(reopened.photos.len(), 1, "the content is kept for editing");
    assert!(
        !queue.metadata_acked(id).expect("acked"),
        "no delivery progress survives"
    );
    assert!(queue.queued_in_order().expect("queued").is_empty());

    // Corrected like any draft, then sealed again under the same id.
    queue.set_category(id, "other").expect("category");
    queue.remove_photo(id, 0).expect("remove photo");
    let receipt = queue.submit(id).expect("submit again");
    assert_ne!(receipt.content_hash, first_hash);
    let resealed = queue.get(id).expect("get");
    assert_eq!(resealed.state, S::Queued);
    assert_eq!(resealed.server_message, None);
    let content = queue.sealed_content(id).expect("sealed");
    assert_eq!(content.id, id);
    assert_eq!(content.category.as_str(), "other");
    assert!(content.photos.is_empty());
    assert_eq!(queue.queued_in_order().expect("queued"), vec![id]);
    let delivery = queue.begin_delivery(id).expect("sending again");
    assert!(!delivery.metadata_acked);
    assert!(delivery.photos.is_empty());
}

#[test]
fn a_refused_report_the_station_already_stored_goes_again_as_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let id = queued_report(&queue);
    let hash = queue.get(id).expect("get").content_hash;
    queue.begin_delivery(id).expect("sending");
    queue.record_metadata_acked(id).expect("acked");
    queue
        .mark_rejected(id, "/photos/0: refused")
        .expect("refused");

    assert_eq!(queue.retry_rejected(id).expect("retry"), S::Queued);
    let report = queue.get(id).expect("get");
    assert_eq!(report.state, S::Queued);
    assert_eq!(report.content_hash, hash, "the seal is kept");
    assert!(matches!(
        queue.set_note(id, "changed"),
        Err(QueueError::IllegalTransition(_))
    ));
    assert!(
        queue.metadata_acked(id).expect("acked"),
        "progress is kept: the metadata is not sent again"
    );
}

#[test]
fn only_a_refused_report_can_be_retried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let draft = queue.create_draft().expect("draft");
    let queued = queued_report(&queue);
    for id in [draft, queued] {
        let before = queue.get(id).expect("get");
        assert!(
            matches!(
                queue.retry_rejected(id),
                Err(QueueError::IllegalTransition(t))
                    if matches!(t.event, ReportEvent::Retry | ReportEvent::Reopen)
            ),
            "{:?}",
            before.state
        );
        assert_eq!(queue.get(id).expect("get"), before, "left as it was");
    }
    assert!(matches!(
        queue.retry_rejected(ReportId::new()),
        Err(QueueError::NotFound(_))
    ));
}

#[test]
fn a_refusal_is_recorded_whole_or_not_at_all() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let id = queued_report(&queue);
    queue.begin_delivery(id).expect("sending");

    // The message cannot be written: the refusal must not be half recorded.
    let side = side_connection(dir.path());
    side.execute_batch(
        "CREATE TRIGGER test_no_message BEFORE UPDATE OF server_message ON reports \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
    )
    .expect("inject");
    assert!(queue.mark_rejected(id, "refused").is_err());
    let report = queue.get(id).expect("get");
    assert_eq!(report.state, S::Sending, "the state change was rolled back");
    assert_eq!(report.server_message, None);

    side.execute_batch("DROP TRIGGER test_no_message;")
        .expect("heal");
    queue.mark_rejected(id, "refused").expect("refused");
    let report = queue.get(id).expect("get");
    assert_eq!(report.state, S::RejectedByServer);
    assert_eq!(report.server_message.as_deref(), Some("refused"));
}

#[test]
fn a_draft_is_refused_while_the_clock_reads_before_2020_and_re_dated_once_it_is_right() {
    let dir = tempfile::tempdir().expect("tempdir");
    let queue = open(dir.path());
    let id = located_draft(&queue, "other");
    // create_draft stamped the draft with this (right) clock; the clock is now
    // reset to 1970, so the stamp looks years ahead and `now` is implausible.
    let reset: DateTime<Utc> = "1970-01-01T00:00:00Z".parse().expect("time");
    let before = queue.get(id).expect("get");
    assert!(matches!(
        queue.submit_at(id, reset),
        Err(QueueError::CreatedAt(
            crate::model::CreatedAtError::TooFarAhead
        ))
    ));
    assert_eq!(
        queue.get(id).expect("get"),
        before,
        "the draft is kept as it was"
    );

    // A year later by a right clock, the stamp is plausible and kept.
    let later = before.created_at.with_timezone(&Utc) + chrono::Duration::days(365);
    queue.submit_at(id, later).expect("submit");
    let sealed = queue.sealed_content(id).expect("sealed");
    assert_eq!(sealed.created_at, before.created_at);

    // A draft stamped by a reset clock is sealed with the submit time instead.
    let stale = located_draft(&queue, "other");
    side_connection(dir.path())
        .execute(
            "UPDATE reports SET created_at = '1970-01-01T09:00:00+09:00', created_at_ms = 0 \
             WHERE id = ?1",
            [stale.to_string()],
        )
        .expect("stamp");
    queue.submit_at(stale, later).expect("submit");
    let sealed = queue.sealed_content(stale).expect("sealed");
    assert_eq!(sealed.created_at.with_timezone(&Utc), later);
    assert_eq!(sealed.created_at.offset().local_minus_utc(), 9 * 3600);
    assert_eq!(queue.get(stale).expect("get").created_at, sealed.created_at);
}
