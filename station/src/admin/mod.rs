//! The admin commands, working on the data dir's database directly.
//!
//! Each prints its result on stdout and returns a [`CliError`] whose exit code
//! tells scripts what went wrong.

pub mod agencies;
mod sheet;
mod zone_files;
mod zones;

pub use agencies::AgencyCommand;
pub use zone_files::{JurisdictionSource, zone_export, zone_import};
pub use zones::{ZoneAddArgs, zone_add, zone_list, zone_retire};

use std::io::{BufRead, Write};
use std::sync::Arc;

use chrono::{Duration, Utc};
use tokio::net::TcpListener;

use crate::auth::{
    Role, hash_password, hash_secret, new_enrolment_code, new_token, normalise_enrolment_code,
};
use crate::blob::{BlobLocation, S3Options};
use crate::cli::args::{DataDir, EnrolArgs, ServeArgs};
use crate::config::{RateLimit, ServerConfig};
use crate::exit::{CliError, Exit};
use crate::repo::postgres::PgRepository;
use crate::repo::sqlite::SqliteRepository;
use crate::repo::{NewEnrolmentCode, NewUser, Repository, Station};
use crate::server::{
    DB_FILE, open_backend, open_state_with_blobs, serve as serve_http, shutdown_signal,
};

/// The database of an existing station setup: on PostgreSQL the one at the
/// URL, else the data dir's SQLite file, which must exist.
async fn open_existing(data: &DataDir) -> Result<Arc<dyn Repository>, CliError> {
    if let Some(url) = &data.database_url {
        return Ok(Arc::new(PgRepository::connect(url).await?));
    }
    let data_dir = &data.data_dir;
    SqliteRepository::open_existing(&data_dir.join(DB_FILE))
        .await
        .map(|repo| Arc::new(repo) as Arc<dyn Repository>)
        .map_err(|e| match e {
            crate::repo::RepoError::NotFound(_) => CliError::new(
                Exit::NotFound,
                format!(
                    "no station database in {}; run `postcso-station station create` first",
                    data_dir.display()
                ),
            ),
            other => other.into(),
        })
}

async fn find_station(repo: &Arc<dyn Repository>, slug: &str) -> Result<Station, CliError> {
    repo.station_by_slug(slug)
        .await?
        .ok_or_else(|| CliError::new(Exit::NotFound, format!("no station `{slug}`")))
}

fn print(text: impl std::fmt::Display) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(Exit::Io, format!("cannot write to stdout: {e}")))
}

/// `serve`: open the database, bind, print the address, serve until a signal.
pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let config = ServerConfig {
        session_ttl: Duration::hours(i64::from(args.session_hours)),
        session_idle_timeout: Duration::minutes(i64::from(args.session_idle_minutes)),
        console: crate::config::ConsoleConfig {
            tile_url: args.console_tile_url.clone(),
            tile_attribution: args.console_tile_attribution.clone(),
            untriaged_after: Duration::days(i64::from(args.overdue_untriaged_days)),
            unresolved_after: Duration::days(i64::from(args.overdue_unresolved_days)),
        },
        cookie_secure: !args.cookie_insecure,
        enrol_rate: RateLimit::new(args.enrol_rate_per_minute, args.enrol_rate_per_minute),
        sign_in_rate: RateLimit::new(args.sign_in_rate_per_minute, args.sign_in_rate_per_minute),
        max_photo_bytes: args.max_upload_size,
        upload: crate::upload::UploadConfig {
            expiry: Duration::hours(i64::from(args.upload_expiry_hours)),
            ..crate::upload::UploadConfig::default()
        },
        ..ServerConfig::default()
    };
    let location = args
        .blob_store
        .clone()
        .unwrap_or_else(|| BlobLocation::in_data_dir(&args.data.data_dir));
    let s3 = S3Options {
        endpoint: args.s3_endpoint.clone(),
        region: args.s3_region.clone(),
        allow_http: args.s3_allow_http,
        ..S3Options::default()
    };
    let blobs = location.open(&s3).map_err(|e| {
        let code = match e {
            crate::blob::BlobError::Config(_) => Exit::Usage,
            _ => Exit::Io,
        };
        CliError::new(
            code,
            format!("cannot use blob store {}: {e}", location.describe()),
        )
    })?;
    tracing::info!(blob_store = %location.describe(), "photo blobs");
    let state = open_state_with_blobs(
        &args.data.data_dir,
        args.data.database_url.as_deref(),
        config,
        blobs,
    )
    .await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| CliError::new(Exit::Io, format!("cannot listen on {}: {e}", args.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CliError::new(Exit::Io, format!("cannot read the bound address: {e}")))?;
    tracing::info!(%addr, "listening");
    print(format_args!("listening on http://{addr}"))?;
    serve_http(listener, state, shutdown_signal())
        .await
        .map_err(|e| CliError::new(Exit::Io, format!("server failed: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

/// `station create`: the station, its seeded categories and, when asked,
/// its jurisdiction zone (checked before anything is created).
pub async fn station_create(
    data: &DataDir,
    slug: &str,
    name: &str,
    jurisdiction: JurisdictionSource<'_>,
) -> Result<(), CliError> {
    let jurisdiction = zone_files::jurisdiction(jurisdiction)?;
    let repo = open_backend(&data.data_dir, data.database_url.as_deref()).await?;
    let station = repo.create_station(slug, name).await?;
    print(format_args!(
        "created station {} ({}) with {} report categories",
        station.slug,
        station.id,
        repo.categories(station.id).await?.entries().len()
    ))?;
    match jurisdiction {
        Some(made) => zone_files::add_jurisdiction(&*repo, &station, made).await,
        None => Ok(()),
    }
}

/// `station list`
pub async fn station_list(data: &DataDir) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    for station in repo.list_stations().await? {
        print(format_args!(
            "{}\t{}\t{}",
            station.slug, station.id, station.name
        ))?;
    }
    Ok(())
}

/// `user add`
pub async fn user_add(
    data: &DataDir,
    station: &str,
    username: &str,
    role: Role,
    password_stdin: bool,
) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| CliError::new(Exit::Io, format!("cannot read the password: {e}")))?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        // A 256-bit token without its prefix is a fine generated password.
        let token = new_token("");
        (token, true)
    };
    let password_hash =
        tokio::task::spawn_blocking(move || hash_password(&password).map(|h| (h, password)))
            .await
            .map_err(|e| CliError::new(Exit::Failure, format!("hashing failed: {e}")))?
            .map_err(|e| CliError::new(Exit::Usage, e.to_string()))?;
    let (password_hash, password) = password_hash;
    let user = repo
        .add_user(
            station.id,
            NewUser {
                username: username.to_owned(),
                role,
                password_hash,
            },
        )
        .await?;
    print(format_args!(
        "added {} `{}` to station {} ({})",
        user.role, user.username, station.slug, user.id
    ))?;
    if generated {
        print(format_args!("password (shown once): {password}"))?;
    }
    Ok(())
}

/// `user list`
pub async fn user_list(data: &DataDir, station: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    for staff in repo.list_users(station.id).await? {
        let state = match staff.disabled_at {
            Some(at) => format!("disabled {}", at.format("%Y-%m-%d %H:%M")),
            None => "active".to_owned(),
        };
        print(format_args!(
            "{}\t{}\tadded {}\t{}",
            staff.user.username,
            staff.user.role,
            staff.user.created_at.format("%Y-%m-%d %H:%M"),
            state
        ))?;
    }
    Ok(())
}

/// `user disable`
pub async fn user_disable(data: &DataDir, station: &str, username: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let done = repo
        .disable_user(station.id, username, Utc::now())
        .await
        .map_err(|e| match e {
            crate::repo::RepoError::NotFound(_) => CliError::new(
                Exit::NotFound,
                format!("no user `{username}` in station {}", station.slug),
            ),
            other => other.into(),
        })?;
    if done.newly {
        print(format_args!(
            "disabled {} `{}`; {} live session(s) ended",
            done.user.role, done.user.username, done.sessions_ended
        ))
    } else {
        print(format_args!(
            "{} `{}` was already disabled",
            done.user.role, done.user.username
        ))
    }
}

/// `enrol`: make codes, write the CSV and QR PNGs to staging names, store the
/// code hashes, then move the files into place. A failure before the commit
/// leaves no codes in the database; after it, the staging files are kept.
pub async fn enrol(args: EnrolArgs) -> Result<(), CliError> {
    let repo = open_existing(&args.data).await?;
    let station = find_station(&repo, &args.station).await?;
    let plan = sheet::SheetPaths::for_csv(&args.out)?;
    plan.ensure_free()?;
    let first = repo.count_enrolment_codes(station.id).await? + 1;
    let expires_at = Utc::now() + Duration::days(i64::from(args.expires_days));
    let entries: Vec<sheet::SheetEntry> = (0..u64::from(args.count))
        .map(|i| sheet::SheetEntry {
            label: format!("{}-{:03}", args.label_prefix, first + i),
            code: new_enrolment_code(),
            expires_at,
        })
        .collect();
    plan.write_staging(&entries, args.server_url.as_deref())?;
    let codes = entries
        .iter()
        .map(|e| NewEnrolmentCode {
            code_hash: hash_secret(&normalise_enrolment_code(&e.code)),
            label: e.label.clone(),
            expires_at: e.expires_at,
        })
        .collect();
    if let Err(e) = repo.add_enrolment_codes(station.id, codes).await {
        plan.remove_staging();
        return Err(e.into());
    }
    plan.commit()?;
    print(format_args!(
        "wrote {} enrolment codes for station {} to {} and QR codes to {}/ (expire {}); \
         keep them like keys",
        entries.len(),
        station.slug,
        plan.csv.display(),
        plan.qr_dir.display(),
        expires_at.format("%Y-%m-%d %H:%M UTC")
    ))
}

/// `device list`
pub async fn device_list(data: &DataDir, station: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    for device in repo.list_devices(station.id).await? {
        let state = match device.revoked_at {
            Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
            None => "active".to_owned(),
        };
        print(format_args!(
            "{}\t{}\tenrolled {}\t{}",
            device.id,
            device.label,
            device.enrolled_at.format("%Y-%m-%d %H:%M"),
            state
        ))?;
    }
    Ok(())
}

/// `device revoke`
pub async fn device_revoke(data: &DataDir, station: &str, device: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (device, newly) = repo
        .revoke_device(station.id, device, Utc::now())
        .await
        .map_err(|e| match e {
            crate::repo::RepoError::NotFound(_) => CliError::new(
                Exit::NotFound,
                format!("no device `{device}` in station {}", station.slug),
            ),
            other => other.into(),
        })?;
    if newly {
        print(format_args!(
            "revoked device {} ({})",
            device.id, device.label
        ))
    } else {
        print(format_args!(
            "device {} ({}) was already revoked",
            device.id, device.label
        ))
    }
}
