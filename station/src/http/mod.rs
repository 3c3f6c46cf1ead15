//! The HTTP API: one module per resource, assembled into one router here.

pub(crate) mod access;
mod agencies;
mod audit;
pub mod body;
mod categories;
mod category_admin;
mod changes;
mod devices;
pub(crate) mod exports;
mod health;
pub(crate) mod inspections;
pub(crate) mod merges;
pub mod metrics;
mod nearby;
pub mod openapi;
mod photos;
pub mod problem;
pub mod ratelimit;
pub(crate) mod referrals;
mod report_geography;
mod reports;
pub(crate) mod sessions;
pub(crate) mod triage;
pub mod tus;
mod uploads;
pub mod versions;
mod zone_files;
mod zones;

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::blob::{BlobStore, FsBlobStore};
use crate::config::ServerConfig;
use crate::geo::Geography;
use crate::repo::Repository;
use crate::thumbs::Thumbnails;
use crate::upload::Uploads;
pub use changes::{decode_cursor, encode_cursor};
use problem::Problem;
use ratelimit::IpRateLimiter;

/// Everything a handler needs, cloned cheaply into each request.
#[derive(Clone)]
pub struct AppState {
    /// Storage backend.
    pub repo: Arc<dyn Repository>,
    /// Limits and lifetimes.
    pub config: Arc<ServerConfig>,
    /// Rate limit of `POST /v1/devices/enrol`.
    pub enrol_limiter: Arc<IpRateLimiter>,
    /// Rate limit of `POST /v1/sessions`.
    pub sign_in_limiter: Arc<IpRateLimiter>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// Verified photo bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// Resumable uploads.
    pub uploads: Arc<Uploads>,
    /// Thumbnail cache.
    pub thumbs: Arc<Thumbnails>,
    /// Places reports on arrival (districts, each station's zones, cached).
    pub geography: Arc<Geography>,
}

impl AppState {
    /// Builds the state for a repository and configuration, with photo
    /// files under `data_dir`: `blobs/`, `uploads/` (part files), `thumbs/`.
    pub fn new(
        repo: Arc<dyn Repository>,
        config: ServerConfig,
        data_dir: &std::path::Path,
    ) -> std::io::Result<Self> {
        let blobs: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(&data_dir.join("blobs"))?);
        Self::with_blob_store(repo, config, data_dir, blobs)
    }

    /// Like [`AppState::new`] with another blob store (a directory elsewhere, or object storage).
    pub fn with_blob_store(
        repo: Arc<dyn Repository>,
        config: ServerConfig,
        data_dir: &std::path::Path,
        blobs: Arc<dyn BlobStore>,
    ) -> std::io::Result<Self> {
        let enrol = config.enrol_rate;
        let sign_in = config.sign_in_rate;
        let uploads = Uploads::new(
            Arc::clone(&repo),
            Arc::clone(&blobs),
            &data_dir.join("uploads"),
            config.max_photo_bytes,
            config.upload.clone(),
        )?;
        let thumbs = Thumbnails::open(&data_dir.join("thumbs"), Arc::clone(&blobs))?;
        Ok(Self {
            repo,
            config: Arc::new(config),
            enrol_limiter: Arc::new(IpRateLimiter::new(enrol.per_minute, enrol.burst)),
            sign_in_limiter: Arc::new(IpRateLimiter::new(sign_in.per_minute, sign_in.burst)),
            metrics: metrics::handle(),
            blobs,
            uploads: Arc::new(uploads),
            thumbs: Arc::new(thumbs),
            geography: Arc::new(Geography::seoul()),
        })
    }
}

/// The API routes with their OpenAPI description, before state is attached.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(
            reports::put_report,
            reports::get_report,
            triage::triage
        ))
        .routes(routes!(merges::merge_report))
        .routes(routes!(exports::csv))
        .routes(routes!(exports::geojson))
        .routes(routes!(nearby::nearby))
        .routes(routes!(photos::get_photo))
        .routes(routes!(changes::list))
        .routes(routes!(audit::list))
        .routes(routes!(devices::enrol))
        .routes(routes!(sessions::sign_in))
        .routes(routes!(sessions::current, sessions::sign_out))
        .routes(routes!(categories::list, category_admin::add))
        .routes(routes!(category_admin::retire))
        .routes(routes!(zones::list, zones::add))
        .routes(routes!(zones::update))
        .routes(routes!(zones::retire))
        .routes(routes!(zone_files::import))
        .routes(routes!(zone_files::export))
        .routes(routes!(inspections::assign))
        .routes(routes!(inspections::list))
        .routes(routes!(inspections::get))
        .routes(routes!(inspections::record))
        .routes(routes!(agencies::list, agencies::add))
        .routes(routes!(agencies::get, agencies::update))
        .routes(routes!(agencies::retire))
        .routes(routes!(agencies::list_rules, agencies::add_rule))
        .routes(routes!(agencies::remove_rule))
        .routes(routes!(referrals::create, referrals::list))
        .routes(routes!(referrals::record))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(uploads::discover, uploads::create))
                .routes(routes!(uploads::head, uploads::patch, uploads::terminate))
                .layer(axum::middleware::from_fn(tus::protocol)),
        )
}

/// The OpenAPI document, as served at `/v1/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    api().split_for_parts().1
}

async fn not_found() -> Problem {
    Problem::not_found("no such resource")
}

async fn method_not_allowed() -> Problem {
    Problem::method_not_allowed()
}

/// The complete application: API, OpenAPI document, metrics, fallbacks,
/// and `pages` (the review console), which share the API's fallbacks and
/// metrics. The pages are passed in rather than named here, so the API does
/// not depend on the console that is built on it.
pub fn router(state: AppState, pages: Router<AppState>) -> Router {
    let (api, doc) = api().split_for_parts();
    let doc = Arc::new(doc.to_json().unwrap_or_default());
    api.route(
        "/v1/openapi.json",
        get(move || {
            let doc = Arc::clone(&doc);
            async move { ([(CONTENT_TYPE, "application/json")], doc.as_ref().clone()).into_response() }
        }),
    )
    .route("/metrics", get(metrics::render))
    .merge(pages)
    .fallback(not_found)
    .method_not_allowed_fallback(method_not_allowed)
    .layer(axum::middleware::from_fn(metrics::track))
    .with_state(state)
}
