//! One report: photos large, position with its accuracy, the note, the
//! filing device, zones, the history from the audit log; and the decisions.
//!
//! The message the carrier reads (the status reason, which reaches the phone
//! through the changes feed) and the internal notes (staff only) are shown
//! and written apart, and the page says which is which. Every decision names
//! the version it was made on; when the report changed meanwhile the page
//! comes back with `412`, what changed, and the decision to make again.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use postcso_model::{ReportId, ReviewStatus, ZoneIndex};
use serde::Deserialize;
use uuid::Uuid;

use super::duplicates::DuplicatesView;
use super::i18n::{Catalogue, Lang};
use super::lookup::{parse_id, posted_report, readable, seen_version};
use super::views::{self, Chrome, PhotoView, photo_views};
use super::{ConsoleSession, csrf, error_page, is_htmx, message_page, redirect};
use crate::auth::policy::{
    may_assign_inspections, may_keep_internal_notes, may_read_report_history, may_triage,
    may_use_review_queue,
};
use crate::http::AppState;
use crate::http::triage::{TriageRequest, check, decide as triage_decide};
use crate::repo::notes::clean_note;
use crate::repo::{AuditEntry, InternalNote, Session, StoredReport};

/// The reasons a supervisor can pick when rejecting; each is `reason.<key>`
/// in both catalogues. The carrier is sent the Korean wording (carriers'
/// phones are Korean); an English-speaking supervisor sees the English one.
pub const REASONS: [&str; 6] = [
    "duplicate",
    "not_police",
    "photo_unclear",
    "location_unclear",
    "already_fixed",
    "outside_area",
];

/// A photo of a report merged into this one.
pub struct RelatedView {
    label: String,
    url: Option<String>,
    from_href: String,
}

/// A history row.
pub struct HistoryView {
    when: String,
    who: String,
    what: String,
    detail: String,
}

/// An internal note.
pub struct NoteView {
    when: String,
    who: String,
    body: String,
}

/// A reason template as the form offers it.
pub struct ReasonChoice {
    key: &'static str,
    label: String,
    checked: bool,
}

/// An inspector the assignment form offers.
pub struct InspectorChoice {
    name: String,
    checked: bool,
}

/// The decision that was refused because the report changed first.
pub struct ConflictView {
    you_saw: String,
    now: String,
    changes: Vec<HistoryView>,
    your_decision: String,
}

/// The notes section (also the part htmx swaps after adding one).
#[derive(Template)]
#[template(path = "notes.html")]
pub struct NotesView {
    chrome: Chrome,
    action: String,
    notes: Vec<NoteView>,
    error: Option<String>,
}

/// The report page.
#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    chrome: Chrome,
    id: String,
    category: String,
    status_label: String,
    status_class: &'static str,
    version: u64,
    version_label: String,
    received: String,
    created: String,
    note: Option<String>,
    device: String,
    lat: String,
    lon: String,
    accuracy: String,
    accuracy_m: String,
    photos: Vec<PhotoView>,
    zones_phone: Vec<String>,
    zones_station: Vec<String>,
    district: Option<String>,
    carrier_message: Option<String>,
    can_decide: bool,
    reasons: Vec<ReasonChoice>,
    reason_text: String,
    decision_error: Option<String>,
    done: bool,
    conflict: Option<ConflictView>,
    history: Option<Vec<HistoryView>>,
    seen_seq: u64,
    notes: Option<NotesView>,
    tile_url: String,
    tile_attribution: String,
    zones_json: String,
    duplicates: Option<DuplicatesView>,
    related: Vec<RelatedView>,
    merged_into: Option<String>,
    merged_done: bool,
    /// Inspectors the report can be sent to (supervisors only), and the
    /// current assignment in words.
    inspectors: Vec<InspectorChoice>,
    inspection: Option<String>,
}

fn status_text(t: &Catalogue, status: &str, reason: Option<&str>) -> String {
    let label = t.get(views::status_key(&ReviewStatus::from(status.to_owned())));
    match reason {
        Some(reason) => format!("{label} — “{reason}”"),
        None => label.to_owned(),
    }
}

fn state_of(value: Option<&serde_json::Value>) -> (String, Option<String>) {
    let status = value
        .and_then(|v| v.get("status"))
        .and_then(|s| s.as_str())
        .unwrap_or("received")
        .to_owned();
    let reason = value
        .and_then(|v| v.get("reason"))
        .and_then(|r| r.as_str())
        .map(str::to_owned);
    (status, reason)
}

fn history_view(t: &Catalogue, entry: &AuditEntry, labels: &[(Uuid, String)]) -> HistoryView {
    let who = match (&entry.actor_username, entry.actor_device_id) {
        (Some(name), _) => name.clone(),
        (None, Some(device)) => {
            let label = labels
                .iter()
                .find(|(id, _)| *id == device)
                .map_or("?", |(_, l)| l.as_str());
            format!("{} {label}", t.get("history.by_device"))
        }
        (None, None) => t.get("history.by_system").to_owned(),
    };
    let key = match entry.action.as_str() {
        "report.create" => "history.report_create",
        "report.photo_received" => "history.report_photo_received",
        "report.status" => "history.report_status",
        "report.note" => "history.report_note",
        "inspection.assign" => "history.inspection_assign",
        "inspection.record" => "history.inspection_record",
        "referral.create" => "referral.history_create",
        "referral.answer" => "referral.history_answer",
        "report.merge" => "merge.history_merge",
        "report.merged_in" => "merge.history_merged_in",
        _ => "history.other",
    };
    let merged = |key: &str| {
        entry
            .after
            .as_ref()
            .and_then(|a| a.get(key))
            .and_then(|v| v.as_str())
            .and_then(|v| ReportId::parse(v).ok())
            .map(|id| format!("#{}", super::duplicates::short_id(id)))
    };
    let detail = if entry.action == "report.merged_in" {
        merged("merged").unwrap_or_default()
    } else if entry.action == "report.merge" {
        let (after, reason) = state_of(entry.after.as_ref());
        format!(
            "→ {} {}",
            merged("merged_into").unwrap_or_default(),
            status_text(t, &after, reason.as_deref())
        )
    } else if entry.action == "report.status" {
        let (before, _) = state_of(entry.before.as_ref());
        let (after, reason) = state_of(entry.after.as_ref());
        format!(
            "{} → {}",
            t.get(views::status_key(&ReviewStatus::from(before))),
            status_text(t, &after, reason.as_deref())
        )
    } else {
        String::new()
    };
    HistoryView {
        when: views::local(entry.at),
        who,
        what: t.get(key).to_owned(),
        detail,
    }
}

fn notes_view(
    chrome: Chrome,
    id: ReportId,
    notes: &[InternalNote],
    error: Option<String>,
) -> NotesView {
    NotesView {
        action: format!("/console/reports/{id}/notes"),
        notes: notes
            .iter()
            .map(|n| NoteView {
                when: views::local(n.at),
                who: n.author_username.clone(),
                body: n.body.clone(),
            })
            .collect(),
        error,
        chrome,
    }
}

/// What a decision form said, to show it again (after a refusal or a conflict).
#[derive(Default)]
pub(super) struct Draft {
    pub(super) template: Option<String>,
    pub(super) reason_text: String,
    pub(super) error: Option<String>,
    pub(super) done: bool,
    pub(super) merged: bool,
    pub(super) conflict: Option<(u64, String)>,
    /// The inspector the assignment form had chosen.
    pub(super) inspector: Option<String>,
}

/// Builds the page for `report` as `session` may see it.
pub(super) async fn render(
    state: &AppState,
    headers: &HeaderMap,
    session: &Session,
    report: StoredReport,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let id = report.id;
    let chrome = Chrome::signed_in(headers, session, format!("/console/reports/{id}"));
    let station = session.user.station_id;
    let role = session.user.role;
    let loaded = tokio::try_join!(
        state.repo.categories(station),
        state.repo.zones(station),
        state.repo.list_devices(station),
        async {
            if may_read_report_history(role) {
                state.repo.report_history(station, id).await.map(Some)
            } else {
                Ok(None)
            }
        },
        async {
            if may_keep_internal_notes(role) {
                state.repo.notes(station, id).await.map(Some)
            } else {
                Ok(None)
            }
        },
        state.repo.related_photos(station, id),
        async {
            if may_assign_inspections(role) {
                let users = state.repo.list_users(station).await?;
                let current = state.repo.inspection(station, id).await?;
                Ok(Some((users, current)))
            } else {
                Ok(None)
            }
        },
    );
    let (categories, zones, devices, history, notes, related, assignable) = match loaded {
        Ok(all) => all,
        Err(e) => return error_page(chrome, &e.into()),
    };
    let t = chrome.t;
    let labels: Vec<(Uuid, String)> = devices.into_iter().map(|d| (d.id, d.label)).collect();
    let duplicates = if may_use_review_queue(role) {
        match super::duplicates::for_report(state, t, &report, &categories, &labels).await {
            Ok(found) => Some(found),
            Err(problem) => return error_page(chrome, &problem),
        }
    } else {
        None
    };
    let (inspectors, inspection) = match assignable {
        Some((users, current)) => {
            let chosen = draft
                .inspector
                .clone()
                .or_else(|| current.as_ref().map(|i| i.inspector.clone()));
            let inspectors = users
                .into_iter()
                .filter(|u| u.user.role == crate::auth::Role::Inspector && u.disabled_at.is_none())
                .map(|u| InspectorChoice {
                    checked: chosen.as_deref() == Some(u.user.username.as_str()),
                    name: u.user.username,
                })
                .collect();
            let inspection = current.map(|i| {
                t.fill(
                    "inspect.current",
                    format!("{} · {}", i.inspector, views::local(i.assigned_at)),
                )
            });
            (inspectors, inspection)
        }
        None => (Vec::new(), None),
    };
    let related = related
        .into_iter()
        .map(|r| RelatedView {
            label: t.fill("merge.related_from", super::duplicates::short_id(r.from)),
            url: r
                .photo
                .received
                .then(|| format!("/v1/reports/{}/photos/{}", r.from, r.photo.position)),
            from_href: format!("/console/reports/{}", r.from),
        })
        .collect();
    let location = report.content.location;
    let index = ZoneIndex::new(
        zones
            .iter()
            .filter(|z| z.retired_at.is_none())
            .filter_map(|z| z.area.as_ref().map(|a| (z.name.clone(), a))),
    );
    let zones_station: Vec<String> = index
        .containing(location.lat(), location.lon())
        .into_iter()
        .cloned()
        .collect();
    let zone_name = |code: &String| {
        zones
            .iter()
            .find(|z| &z.code == code)
            .map_or_else(|| code.clone(), |z| format!("{} ({code})", z.name))
    };
    let seen_seq = history.as_ref().and_then(|h| h.last()).map_or(0, |e| e.seq);
    let conflict = draft.conflict.as_ref().map(|(seen, decision)| {
        let entries = history.as_deref().unwrap_or_default();
        let saw = entries
            .iter()
            .rfind(|e| {
                e.seq <= *seen && matches!(e.action.as_str(), "report.status" | "report.merge")
            })
            .map(|e| state_of(e.after.as_ref()))
            .unwrap_or(("received".to_owned(), None));
        ConflictView {
            you_saw: status_text(t, &saw.0, saw.1.as_deref()),
            now: status_text(t, report.status.as_str(), report.status_reason.as_deref()),
            changes: entries
                .iter()
                .filter(|e| e.seq > *seen)
                .map(|e| history_view(t, e, &labels))
                .collect(),
            your_decision: decision.clone(),
        }
    });
    let page = ReportPage {
        id: id.to_string(),
        category: views::category_name(&categories, report.content.category.as_str(), t.lang()),
        status_label: t.get(views::status_key(&report.status)).to_owned(),
        status_class: views::status_class(&report.status),
        version: report.version,
        version_label: t.fill("report.version", report.version),
        received: views::local(report.received_at),
        created: report
            .content
            .created_at
            .format("%Y-%m-%d %H:%M %:z")
            .to_string(),
        note: report.content.note.as_ref().map(|n| n.as_str().to_owned()),
        device: labels
            .iter()
            .find(|(d, _)| *d == report.device_id)
            .map_or_else(|| report.device_id.to_string(), |(_, l)| l.clone()),
        lat: format!("{:.6}", location.lat()),
        lon: format!("{:.6}", location.lon()),
        accuracy: t.fill("report.accuracy", format!("{:.0}", location.accuracy_m())),
        accuracy_m: format!("{:.1}", location.accuracy_m()),
        photos: photo_views(t, &report),
        zones_phone: report.content.zones.iter().map(zone_name).collect(),
        zones_station,
        district: report.content.district.clone(),
        carrier_message: report.status_reason.clone(),
        can_decide: may_triage(role),
        reasons: REASONS
            .iter()
            .map(|key| ReasonChoice {
                key,
                label: t.get(&format!("reason.{key}")).to_owned(),
                checked: draft.template.as_deref() == Some(*key),
            })
            .collect(),
        reason_text: draft.reason_text,
        decision_error: draft.error,
        done: draft.done,
        conflict,
        history: history
            .as_ref()
            .map(|h| h.iter().map(|e| history_view(t, e, &labels)).collect()),
        seen_seq,
        notes: notes.map(|n| {
            notes_view(
                Chrome::signed_in(headers, session, String::new()),
                id,
                &n,
                None,
            )
        }),
        tile_url: state.config.console.tile_url.clone().unwrap_or_default(),
        tile_attribution: state
            .config
            .console
            .tile_attribution
            .clone()
            .unwrap_or_default(),
        zones_json: super::queue::zones_json(&zones),
        duplicates,
        related,
        merged_into: report.merged_into.map(|m| format!("/console/reports/{m}")),
        merged_done: draft.merged,
        inspectors,
        inspection,
        chrome,
    };
    views::page(status, &page)
}

/// Flags of the report page's address.
#[derive(Debug, Default, Deserialize)]
pub struct ReportFlags {
    done: Option<String>,
    merged: Option<String>,
}

/// `GET /console/reports/{id}`
pub async fn page(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Query(flags): Query<ReportFlags>,
) -> Response {
    let loaded = match parse_id(&raw_id) {
        Ok(id) => readable(&state, &session, id).await,
        Err(problem) => Err(problem),
    };
    match loaded {
        Ok(report) => {
            let draft = Draft {
                done: flags.done.is_some(),
                merged: flags.merged.is_some(),
                ..Draft::default()
            };
            render(&state, &headers, &session, report, draft, StatusCode::OK).await
        }
        Err(problem) => error_page(Chrome::signed_in(&headers, &session, "/console/"), &problem),
    }
}

/// The decision form's fields.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    /// The version the page showed.
    version: String,
    /// The last history entry the page showed (to list what changed since).
    #[serde(default)]
    seen_seq: Option<String>,
    /// `accept` or `reject`.
    action: String,
    /// A key of [`REASONS`].
    #[serde(default)]
    template: Option<String>,
    /// A reason in the supervisor's own words (wins over the template).
    #[serde(default)]
    reason_text: Option<String>,
}

/// `POST /console/reports/{id}/decision`
pub async fn decide(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    let report = match posted_report(&state, &headers, &session, &form.csrf, &raw_id).await {
        Ok(report) => report,
        Err(page) => return page,
    };
    let id = report.id;
    let t = Lang::of_request(&headers).catalogue();
    let template = form.template.filter(|k| REASONS.contains(&k.as_str()));
    let reason_text = form.reason_text.unwrap_or_default();
    let free = Some(reason_text.trim()).filter(|r| !r.is_empty());
    let (status, reason, decision) = match form.action.as_str() {
        "accept" => ("accepted", None, t.get("decision.accept").to_owned()),
        // The carrier hears that the fix is done (in Korean, as every
        // message to the phone), the reason carriers keep reporting.
        "fixed" => (
            "fixed",
            Some(Lang::Ko.catalogue().get("fixed.carrier_message").to_owned()),
            t.get("fixed.mark").to_owned(),
        ),
        "reject" => {
            let reason = free.map(str::to_owned).or_else(|| {
                template
                    .as_ref()
                    .map(|k| Lang::Ko.catalogue().get(&format!("reason.{k}")).to_owned())
            });
            let shown = free.map(str::to_owned).or_else(|| {
                template
                    .as_ref()
                    .map(|k| t.get(&format!("reason.{k}")).to_owned())
            });
            let summary = match &shown {
                Some(r) => format!("{} — “{r}”", t.get("decision.reject")),
                None => t.get("decision.reject").to_owned(),
            };
            ("rejected", reason, summary)
        }
        _ => return message_page(chrome(), StatusCode::BAD_REQUEST, "error.generic"),
    };
    let mut draft = Draft {
        template: template.clone(),
        reason_text: reason_text.clone(),
        ..Draft::default()
    };
    if status == "rejected" && reason.is_none() {
        draft.error = Some(t.get("decision.reason_required").to_owned());
        return render(
            &state,
            &headers,
            &session,
            report,
            draft,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let request = TriageRequest {
        status: status.to_owned(),
        reason,
    };
    let (status, reason) = match check(request) {
        Ok(checked) => checked,
        Err(problem) => {
            let detail = problem
                .errors
                .iter()
                .map(|e| e.detail.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            draft.error = Some(t.fill("decision.invalid", detail));
            return render(
                &state,
                &headers,
                &session,
                report,
                draft,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let seen = match seen_version(chrome(), &form.version) {
        Ok(seen) => seen,
        Err(page) => return *page,
    };
    match triage_decide(&state, &session, id, status, reason, Some(seen)).await {
        Ok(_) => redirect(&format!("/console/reports/{id}?done=1")),
        Err(problem) if problem.status == 412 => {
            // Someone decided first: show what changed, ask again on the
            // version as it is now.
            let current = match readable(&state, &session, id).await {
                Ok(report) => report,
                Err(problem) => return error_page(chrome(), &problem),
            };
            let seen_seq = form
                .seen_seq
                .and_then(|s| s.trim().parse::<u64>().ok())
                .unwrap_or(0);
            draft.conflict = Some((seen_seq, decision));
            render(
                &state,
                &headers,
                &session,
                current,
                draft,
                StatusCode::PRECONDITION_FAILED,
            )
            .await
        }
        Err(problem) => error_page(chrome(), &problem),
    }
}

/// The internal-note form's fields.
#[derive(Debug, Deserialize)]
pub struct NoteForm {
    csrf: String,
    body: String,
}

/// `POST /console/reports/{id}/notes`: htmx swaps the notes section; without
/// JavaScript the browser is sent back to the page.
pub async fn add_note(
    State(state): State<AppState>,
    ConsoleSession(session): ConsoleSession,
    headers: HeaderMap,
    Path(raw_id): Path<String>,
    Form(form): Form<NoteForm>,
) -> Response {
    let chrome = || Chrome::signed_in(&headers, &session, "/console/");
    if csrf::check(&headers, &session, &form.csrf).is_err() {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.csrf");
    }
    if !may_keep_internal_notes(session.user.role) {
        return message_page(chrome(), StatusCode::FORBIDDEN, "error.forbidden");
    }
    let id = match parse_id(&raw_id) {
        Ok(id) => id,
        Err(problem) => return error_page(chrome(), &problem),
    };
    if let Err(problem) = readable(&state, &session, id).await {
        return error_page(chrome(), &problem);
    }
    let station = session.user.station_id;
    let t = Lang::of_request(&headers).catalogue();
    let (error, status) = match clean_note(&form.body) {
        Ok(body) => match state
            .repo
            .add_note(station, id, &session.user, body, Utc::now())
            .await
        {
            Ok(note) => {
                tracing::info!(report_id = %id, note_id = %note.id, "internal note added");
                (None, StatusCode::OK)
            }
            Err(e) => return error_page(chrome(), &e.into()),
        },
        Err(e) => (
            Some(t.fill("notes.invalid", e)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    };
    if !is_htmx(&headers) && error.is_none() {
        return redirect(&format!("/console/reports/{id}#notes"));
    }
    let notes = match state.repo.notes(station, id).await {
        Ok(notes) => notes,
        Err(e) => return error_page(chrome(), &e.into()),
    };
    // htmx swaps only successful answers by default: a refused note comes
    // back as 200 for htmx with the message in the section.
    let status = if is_htmx(&headers) {
        StatusCode::OK
    } else {
        status
    };
    views::page(status, &notes_view(chrome(), id, &notes, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_template_is_in_both_catalogues() {
        for key in REASONS {
            let key = format!("reason.{key}");
            for lang in [Lang::Ko, Lang::En] {
                let text = lang.catalogue().get(&key);
                assert_ne!(text, key, "{key} missing in {lang:?}");
                assert!(text.chars().count() <= crate::http::triage::MAX_REASON_CHARS);
            }
        }
    }
}
