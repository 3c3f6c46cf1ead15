//! Exports of the station's reports, following the queue's filter: CSV
//! (UTF-8 with a byte-order mark, so Excel opens the Korean text correctly;
//! one row per report) and GeoJSON (a FeatureCollection of points with the
//! same properties). Either can leave out the notes and the device labels.
//!
//! Served at `GET /v1/reports/export.csv` and `.geojson` (API clients) and
//! from the console's queue (`POST /console/export`, with its CSRF token, so
//! the free-text filter stays out of addresses). Both go through [`export`]:
//! only roles that may read every report of the station may export (the
//! queue's rule), each export leaves a `report.export` audit row (who, the
//! filter, how many; never the contents), and the answer is an attachment
//! with `Cache-Control: no-store`.

use axum::extract::{Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use postcso_model::CategoryList;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::IntoParams;

use super::AppState;
use super::problem::Problem;
use crate::auth::StaffCaller;
use crate::auth::policy::may_export_reports;
use crate::queue_filter::QueueParams;
use crate::repo::exports::MAX_EXPORT_ROWS;
use crate::repo::review::OverdueRule;
use crate::repo::statistics::kst;
use crate::repo::{Actor, ExportRecord, ExportRow, Session};

/// The byte-order mark that makes Excel read a CSV file as UTF-8.
pub const BOM: &str = "\u{feff}";

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// CSV, one row per report.
    Csv,
    /// A GeoJSON FeatureCollection of points.
    GeoJson,
}

impl ExportFormat {
    /// `csv` or `geojson`, as the audit row and file name spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::GeoJson => "geojson",
        }
    }

    /// The format a name spells.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "csv" => Some(Self::Csv),
            "geojson" => Some(Self::GeoJson),
            _ => None,
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::GeoJson => "application/geo+json",
        }
    }
}

/// What an export includes besides the reports' own facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportOptions {
    /// The carriers' notes.
    pub notes: bool,
    /// The filing devices' labels.
    pub labels: bool,
}

/// A field as a spreadsheet will read it: a leading `=`, `+`, `-` or `@`
/// would make Excel run it as a formula, so such text gets a `'` first.
fn defused(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// A CSV document (RFC 4180, CRLF line ends) of `header` and `rows`, with the
/// BOM, every field defused against spreadsheet formulas.
pub(crate) fn csv_document<R: AsRef<[String]>>(
    header: &[&str],
    rows: &[R],
) -> Result<String, Problem> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BOM.as_bytes().to_vec());
    let failed = |e: csv::Error| {
        tracing::error!(error = %e, "CSV export failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            postcso_model::ProblemType::Internal,
            "Internal error",
            "the export could not be written",
        )
    };
    writer.write_record(header).map_err(failed)?;
    for row in rows {
        writer
            .write_record(row.as_ref().iter().map(|f| defused(f)))
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| failed(csv::Error::from(e.into_error())))?;
    String::from_utf8(bytes).map_err(|_| {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            postcso_model::ProblemType::Internal,
            "Internal error",
            "the export is not valid UTF-8",
        )
    })
}

fn kst_text(at: DateTime<Utc>) -> String {
    at.with_timezone(&kst())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn utc_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The columns of an export, in order: the CSV's header and the GeoJSON's
/// properties (where `lat` and `lon` are the geometry instead).
fn columns(options: ExportOptions) -> Vec<&'static str> {
    let mut names = vec![
        "id",
        "created_kst",
        "created_utc",
        "received_kst",
        "received_utc",
        "category",
        "category_name",
        "status",
        "district_code",
        "district_name",
        "zones",
        "outside_jurisdiction",
        "lat",
        "lon",
        "accuracy_m",
    ];
    if options.labels {
        names.push("device_label");
    }
    if options.notes {
        names.push("note");
    }
    names.push("photos");
    names
}

/// A report's value of `column` as CSV text.
fn value(row: &ExportRow, categories: &CategoryList, column: &str) -> String {
    let created = row.content.created_at.with_timezone(&Utc);
    let placement = row.placement.as_ref();
    let district = placement.and_then(|p| p.district.as_ref());
    let location = &row.content.location;
    let category = row.content.category.as_str();
    match column {
        "id" => row.id.to_string(),
        "created_kst" => kst_text(created),
        "created_utc" => utc_text(created),
        "received_kst" => kst_text(row.received_at),
        "received_utc" => utc_text(row.received_at),
        "category" => category.to_owned(),
        "category_name" => categories
            .get(category)
            .map_or_else(|| category.to_owned(), |c| c.name_ko.clone()),
        "status" => row.status.as_str().to_owned(),
        "district_code" => district.map(|d| d.code.clone()).unwrap_or_default(),
        "district_name" => district.map(|d| d.name.clone()).unwrap_or_default(),
        "zones" => placement.map(|p| p.zones.join(";")).unwrap_or_default(),
        "outside_jurisdiction" => placement
            .map(|p| p.outside_jurisdiction.to_string())
            .unwrap_or_default(),
        "lat" => format!("{:.6}", location.lat()),
        "lon" => format!("{:.6}", location.lon()),
        "accuracy_m" => format!("{:.1}", location.accuracy_m()),
        "device_label" => row.device_label.clone(),
        "note" => row
            .content
            .note
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        "photos" => row.content.photos.len().to_string(),
        _ => String::new(),
    }
}

/// The CSV export of `rows`.
pub(crate) fn to_csv(
    rows: &[ExportRow],
    categories: &CategoryList,
    options: ExportOptions,
) -> Result<String, Problem> {
    let header = columns(options);
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| header.iter().map(|c| value(r, categories, c)).collect())
        .collect();
    csv_document(&header, &lines)
}

/// The GeoJSON export of `rows`: points in WGS84 (`[lon, lat]`) with the
/// CSV's fields as properties (zones as a list, times in RFC 3339).
pub(crate) fn to_geojson(
    rows: &[ExportRow],
    categories: &CategoryList,
    options: ExportOptions,
) -> Result<String, Problem> {
    #[derive(Serialize)]
    struct Feature {
        #[serde(rename = "type")]
        kind: &'static str,
        id: String,
        geometry: serde_json::Value,
        properties: serde_json::Map<String, serde_json::Value>,
    }
    let features: Vec<Feature> = rows
        .iter()
        .map(|row| {
            let mut properties = serde_json::Map::new();
            for name in columns(options) {
                let value = match name {
                    "lat" | "lon" => continue,
                    "zones" => json!(
                        row.placement
                            .as_ref()
                            .map(|p| p.zones.clone())
                            .unwrap_or_default()
                    ),
                    "photos" => json!(row.content.photos.len()),
                    "accuracy_m" => json!(row.content.location.accuracy_m()),
                    "outside_jurisdiction" => {
                        json!(row.placement.as_ref().map(|p| p.outside_jurisdiction))
                    }
                    "created_kst" => {
                        json!(row.content.created_at.with_timezone(&kst()).to_rfc3339())
                    }
                    "received_kst" => json!(row.received_at.with_timezone(&kst()).to_rfc3339()),
                    _ => match value(row, categories, name) {
                        text if text.is_empty() => serde_json::Value::Null,
                        text => json!(text),
                    },
                };
                properties.insert(name.to_owned(), value);
            }
            Feature {
                kind: "Feature",
                id: row.id.to_string(),
                geometry: json!({
                    "type": "Point",
                    "coordinates": [row.content.location.lon(), row.content.location.lat()],
                }),
                properties,
            }
        })
        .collect();
    serde_json::to_string(&json!({ "type": "FeatureCollection", "features": features })).map_err(
        |e| {
            tracing::error!(error = %e, "GeoJSON export failed");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                postcso_model::ProblemType::Internal,
                "Internal error",
                "the export could not be written",
            )
        },
    )
}

/// The filter as the audit row records it: the queue's parameters, and
/// whether there was a text search (never its text).
fn filter_record(params: &QueueParams) -> serde_json::Value {
    let mut filter = serde_json::to_value(params.without_page()).unwrap_or(json!({}));
    if let Some(map) = filter.as_object_mut() {
        map.insert(
            "text".to_owned(),
            json!(params.q.as_deref().is_some_and(|q| !q.trim().is_empty())),
        );
    }
    filter
}

/// Makes an export for `session`: checks the role, reads the reports the
/// queue's parameters match, writes the file, records the export in the
/// audit log, and answers with the file as an attachment.
pub(crate) async fn export(
    state: &AppState,
    session: &Session,
    params: &QueueParams,
    format: ExportFormat,
    options: ExportOptions,
) -> Result<Response, Problem> {
    if !may_export_reports(session.user.role) {
        return Err(Problem::forbidden(
            "only staff who may read every report of the station may export them",
        ));
    }
    let station = session.user.station_id;
    let now = Utc::now();
    let rule = OverdueRule {
        untriaged_after: state.config.console.untriaged_after,
        unresolved_after: state.config.console.unresolved_after,
    };
    let filter = params.filter(rule, now);
    let (rows, categories) = tokio::try_join!(
        state
            .repo
            .export_reports(station, &filter, MAX_EXPORT_ROWS + 1),
        state.repo.categories(station)
    )?;
    if rows.len() > MAX_EXPORT_ROWS as usize {
        return Err(Problem::bad_request(format!(
            "more than {MAX_EXPORT_ROWS} reports match; narrow the filter"
        )));
    }
    let body = match format {
        ExportFormat::Csv => to_csv(&rows, &categories, options)?,
        ExportFormat::GeoJson => to_geojson(&rows, &categories, options)?,
    };
    let record = ExportRecord {
        format: format.as_str(),
        filter: filter_record(params),
        count: rows.len() as u64,
        notes: options.notes,
        labels: options.labels,
    };
    state
        .repo
        .record_export(station, Actor::user(&session.user), &record, now)
        .await?;
    tracing::info!(
        format = format.as_str(),
        count = rows.len(),
        "reports exported"
    );
    let name = format!(
        "postcso-reports-{}.{}",
        now.with_timezone(&kst()).format("%Y%m%d-%H%M"),
        format.as_str()
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The filter and options of an API export: the queue's parameters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `open` (default: received, accepted, inspecting, referred), `all`, or
    /// one status.
    pub status: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// A zone code: reports the station placed in that zone on arrival.
    pub zone: Option<String>,
    /// A 5-digit district (시군구) code: reports the station placed there.
    pub district: Option<String>,
    /// `lt1d`, `lt7d` (younger than), `gt2d`, `gt7d`, `gt30d` (older than).
    pub age: Option<String>,
    /// `1`: only overdue reports.
    pub overdue: Option<String>,
    /// Text in the note or device label, or the start of the report id.
    pub q: Option<String>,
    /// `false` leaves the notes out; default `true`.
    pub notes: Option<bool>,
    /// `false` leaves the device labels out; default `true`.
    pub device_labels: Option<bool>,
}

impl ExportQuery {
    fn split(self) -> (QueueParams, ExportOptions) {
        let options = ExportOptions {
            notes: self.notes.unwrap_or(true),
            labels: self.device_labels.unwrap_or(true),
        };
        let params = QueueParams {
            status: self.status,
            category: self.category,
            zone: self.zone,
            district: self.district,
            age: self.age,
            overdue: self.overdue,
            q: self.q,
            ..QueueParams::default()
        };
        (params, options)
    }
}

/// `GET /v1/reports/export.csv`
#[utoipa::path(get, path = "/v1/reports/export.csv", tag = "reports",
    params(ExportQuery),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The matching reports, oldest first, as CSV: UTF-8 with a \
            byte-order mark, CRLF line ends, one row per report (id, created and received times in \
            KST and UTC, category and its Korean name, status, district, zones, outside_jurisdiction, \
            lat, lon, accuracy_m, device_label, note, photos; the last two-but-one left out on request). \
            An attachment, never cached; the export is recorded in the audit log.",
            body = String, content_type = "text/csv"),
        (status = 400, description = "More reports match than one export holds (100,000)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A role that may not read every report of the station", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn csv(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Query(query): Query<ExportQuery>,
) -> Result<Response, Problem> {
    let (params, options) = query.split();
    export(&state, &session, &params, ExportFormat::Csv, options).await
}

/// `GET /v1/reports/export.geojson`
#[utoipa::path(get, path = "/v1/reports/export.geojson", tag = "reports",
    params(ExportQuery),
    security(("session_token" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The matching reports, oldest first, as a GeoJSON \
            FeatureCollection of points (WGS84, `[lon, lat]`) with the CSV's fields as properties \
            (zones as a list, times in RFC 3339). An attachment, never cached; the export is \
            recorded in the audit log.",
            body = Object, content_type = "application/geo+json"),
        (status = 400, description = "More reports match than one export holds (100,000)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A role that may not read every report of the station", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn geojson(
    State(state): State<AppState>,
    StaffCaller(session): StaffCaller,
    Query(query): Query<ExportQuery>,
) -> Result<Response, Problem> {
    let (params, options) = query.split();
    export(&state, &session, &params, ExportFormat::GeoJson, options).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_bom_quotes_and_defuses_formulas() {
        let rows = vec![vec!["=SUM(A1)".to_owned(), "가, \"나\"".to_owned()]];
        let text = csv_document(&["a", "b"], &rows).expect("csv");
        assert!(text.starts_with(BOM));
        assert_eq!(
            &text[BOM.len()..],
            "a,b\r\n'=SUM(A1),\"가, \"\"나\"\"\"\r\n"
        );
    }
}
