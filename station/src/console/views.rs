//! What every console page shares: the page chrome (language, who is signed
//! in, the CSRF token), how statuses, ages and times read, and turning a
//! template into a response with the right headers.

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, Utc};
use postcso_model::{CategoryList, ReviewStatus};

use super::csrf;
use super::i18n::{Catalogue, LANG_COOKIE, Lang};
use crate::repo::review::Overdue;
use crate::repo::{Session, StoredReport};

/// What the page frame shows: language, the signed-in user, the form token.
pub struct Chrome {
    /// The strings of the page's language.
    pub t: &'static Catalogue,
    /// The signed-in user's name, if any.
    pub username: Option<String>,
    /// The session's CSRF token (empty before sign-in).
    pub csrf: String,
    /// Where the language switch returns to.
    pub here: String,
}

impl Chrome {
    /// The frame of a signed-in page.
    pub fn signed_in(headers: &HeaderMap, session: &Session, here: impl Into<String>) -> Self {
        Self {
            t: Lang::of_request(headers).catalogue(),
            username: Some(session.user.username.clone()),
            csrf: csrf::token(session),
            here: here.into(),
        }
    }

    /// The frame of a page before sign-in.
    pub fn anonymous(headers: &HeaderMap, here: impl Into<String>) -> Self {
        Self {
            t: Lang::of_request(headers).catalogue(),
            username: None,
            csrf: String::new(),
            here: here.into(),
        }
    }

    /// `ko` or `en`.
    pub fn lang(&self) -> &'static str {
        self.t.lang().tag()
    }

    /// The language the switch offers.
    pub fn other_lang(&self) -> &'static str {
        self.t.lang().other().tag()
    }
}

/// The catalogue key of a status's name.
pub fn status_key(status: &ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Received => "status.received",
        ReviewStatus::Accepted => "status.accepted",
        ReviewStatus::Rejected => "status.rejected",
        ReviewStatus::Merged => "status.merged",
        ReviewStatus::Inspecting => "status.inspecting",
        ReviewStatus::Referred => "status.referred",
        ReviewStatus::Fixed => "status.fixed",
        ReviewStatus::Other(_) => "status.other",
    }
}

/// A status's CSS class suffix (a fixed set, never the stored text).
pub fn status_class(status: &ReviewStatus) -> &'static str {
    match status {
        ReviewStatus::Received => "received",
        ReviewStatus::Accepted => "accepted",
        ReviewStatus::Rejected => "rejected",
        ReviewStatus::Merged => "merged",
        ReviewStatus::Inspecting => "inspecting",
        ReviewStatus::Referred => "referred",
        ReviewStatus::Fixed => "fixed",
        ReviewStatus::Other(_) => "other",
    }
}

/// The catalogue key and CSS class of an overdue mark.
pub fn overdue_key(overdue: Overdue) -> (&'static str, &'static str) {
    match overdue {
        Overdue::Untriaged => ("overdue.untriaged", "untriaged"),
        Overdue::Unresolved => ("overdue.unresolved", "unresolved"),
    }
}

/// How long ago `at` was, in the page's language ("3일 전").
pub fn age(t: &Catalogue, at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - at).num_minutes().max(0);
    if minutes < 60 {
        t.fill("age.minutes", minutes)
    } else if minutes < 48 * 60 {
        t.fill("age.hours", minutes / 60)
    } else {
        t.fill("age.days", minutes / (24 * 60))
    }
}

/// The station's local time (Korea Standard Time, UTC+9, no daylight saving).
pub fn local(at: DateTime<Utc>) -> String {
    match FixedOffset::east_opt(9 * 3600) {
        Some(kst) => at.with_timezone(&kst).format("%Y-%m-%d %H:%M").to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

/// A category's name in the page's language (its code when unknown).
pub fn category_name(categories: &CategoryList, code: &str, lang: Lang) -> String {
    categories.get(code).map_or_else(
        || code.to_owned(),
        |c| match lang {
            Lang::Ko => c.name_ko.clone(),
            Lang::En => c.name_en.clone(),
        },
    )
}

/// At most `max` characters of `text`, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let cut: String = chars.by_ref().take(max).collect();
    if chars.next().is_some() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// A rendered page with the console's page headers: HTML, and never stored
/// by a cache (pages hold report data). The security headers are added by
/// the console's middleware.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            status,
            [
                (
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            html,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

/// The `Set-Cookie` of a language choice (a year; not personal data).
pub fn lang_cookie(lang: Lang, secure: bool) -> Option<(axum::http::HeaderName, HeaderValue)> {
    let secure = if secure { "; Secure" } else { "" };
    let value = format!(
        "{LANG_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000{secure}",
        lang.tag()
    );
    HeaderValue::from_str(&value).ok().map(|v| (SET_COOKIE, v))
}

/// A photo of the report.
pub struct PhotoView {
    pub(super) label: String,
    pub(super) url: Option<String>,
}

/// The photos of `report`, as its pages show them (missing ones say so).
pub(super) fn photo_views(t: &Catalogue, report: &StoredReport) -> Vec<PhotoView> {
    let id = report.id;
    report
        .photos
        .iter()
        .map(|p| PhotoView {
            label: t.fill("report.photo_n", p.position + 1),
            url: p
                .received
                .then(|| format!("/v1/reports/{id}/photos/{}", p.position)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn ages_read_in_minutes_hours_then_days() {
        let t = Lang::Ko.catalogue();
        let now = Utc::now();
        assert_eq!(age(t, now - Duration::minutes(5), now), "5분 전");
        assert_eq!(age(t, now - Duration::hours(30), now), "30시간 전");
        assert_eq!(age(t, now - Duration::days(3), now), "3일 전");
        assert_eq!(excerpt("가나다라", 2), "가나…");
        assert_eq!(excerpt("가나", 2), "가나");
        let at = DateTime::parse_from_rfc3339("2026-12-07T15:30:00Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(local(at), "2026-12-08 00:30");
    }
}
