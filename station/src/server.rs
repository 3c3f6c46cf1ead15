//! Running the HTTP server: bind, serve with client addresses, shut down
//! gracefully on SIGTERM or Ctrl-C.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::blob::BlobStore;
use crate::config::ServerConfig;
use crate::exit::{CliError, Exit};
use crate::http::{AppState, router};
use crate::repo::Repository;
use crate::repo::postgres::PgRepository;
use crate::repo::sqlite::SqliteRepository;

/// The database file inside a data dir.
pub const DB_FILE: &str = "station.db";

/// Creates the data dir if needed and opens (creating and migrating) its
/// SQLite database.
pub async fn open_repo(data_dir: &Path) -> Result<SqliteRepository, CliError> {
    std::fs::create_dir_all(data_dir).map_err(|e| {
        CliError::new(
            Exit::Io,
            format!("cannot create data dir {}: {e}", data_dir.display()),
        )
    })?;
    Ok(SqliteRepository::open(&data_dir.join(DB_FILE)).await?)
}

/// Opens the station's database: PostgreSQL when `database_url` is given,
/// else the data dir's SQLite file (created if needed). Either is migrated.
pub async fn open_backend(
    data_dir: &Path,
    database_url: Option<&str>,
) -> Result<Arc<dyn Repository>, CliError> {
    match database_url {
        Some(url) => Ok(Arc::new(PgRepository::connect(url).await?)),
        None => Ok(Arc::new(open_repo(data_dir).await?)),
    }
}

/// Opens (creating and migrating) the data dir's SQLite database and builds
/// the application state around it.
pub async fn open_state(data_dir: &Path, config: ServerConfig) -> Result<AppState, CliError> {
    open_state_with(data_dir, None, config).await
}

/// Like [`open_state`], on PostgreSQL when `database_url` is given; photo
/// blobs and upload parts stay in the data dir either way.
pub async fn open_state_with(
    data_dir: &Path,
    database_url: Option<&str>,
    config: ServerConfig,
) -> Result<AppState, CliError> {
    let repo = open_backend(data_dir, database_url).await?;
    std::fs::create_dir_all(data_dir).map_err(|e| {
        CliError::new(
            Exit::Io,
            format!("cannot create data dir {}: {e}", data_dir.display()),
        )
    })?;
    AppState::new(repo, config, data_dir).map_err(|e| {
        CliError::new(
            Exit::Io,
            format!(
                "cannot prepare photo storage in {}: {e}",
                data_dir.display()
            ),
        )
    })
}

/// Like [`open_state_with`], with photo blobs kept in `blobs` instead of the
/// data dir (part files and thumbnails stay in the data dir).
pub async fn open_state_with_blobs(
    data_dir: &Path,
    database_url: Option<&str>,
    config: ServerConfig,
    blobs: Arc<dyn BlobStore>,
) -> Result<AppState, CliError> {
    let repo = open_backend(data_dir, database_url).await?;
    std::fs::create_dir_all(data_dir).map_err(|e| {
        CliError::new(
            Exit::Io,
            format!("cannot create data dir {}: {e}", data_dir.display()),
        )
    })?;
    AppState::with_blob_store(repo, config, data_dir, blobs).map_err(|e| {
        CliError::new(
            Exit::Io,
            format!(
                "cannot prepare photo storage in {}: {e}",
                data_dir.display()
            ),
        )
    })
}

/// Serves `state` on `listener` until `shutdown` completes, then lets requests
/// in flight finish. Each request runs to completion inside its transaction, so
/// nothing is left half-written.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Recovery before the first request: expired uploads go, and uploads a
    // crash left between their last byte and completion are finished.
    if let Err(e) = state.uploads.recover(chrono::Utc::now()).await {
        tracing::error!(error = %e, "upload recovery failed; continuing");
    }
    let housekeeping = tokio::spawn(housekeeping(state.clone()));
    // Reports stored before placement existed are placed in the background,
    // in batches; new ones are placed on arrival meanwhile.
    let backfill = tokio::spawn(place_unplaced_reports(state.clone()));
    let pages = crate::console::router(&state);
    let app = router(state, pages).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    housekeeping.abort();
    backfill.abort();
    result
}

/// Places the reports stored before the station placed reports on arrival
/// (see [`crate::geo::backfill`]); a failure is logged and left for the next start.
async fn place_unplaced_reports(state: AppState) {
    if let Err(e) = crate::geo::backfill::place_unplaced(&state.repo, &state.geography).await {
        tracing::warn!(error = %e, "placing earlier reports failed; retried at the next start");
    }
}

/// Periodic chores: forget idle rate-limit buckets, keep histograms fresh,
/// sweep expired uploads.
async fn housekeeping(state: AppState) {
    let period = state
        .config
        .upload_sweep_interval
        .min(Duration::from_secs(30));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        state.enrol_limiter.forget_idle();
        state.sign_in_limiter.forget_idle();
        state.metrics.run_upkeep();
        if let Err(e) = state.uploads.sweep_expired(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "sweeping expired uploads failed");
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
