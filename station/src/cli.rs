//! Command-line interface: argument definitions and dispatch.
//!
//! The admin commands work on the data dir directly (not over HTTP), so a
//! station can be set up before the server first starts.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::exit::{CliError, EXIT_CODES_HELP};

/// The `postcso-station` command line.
#[derive(Debug, Parser)]
#[command(
    name = "postcso-station",
    version,
    about = "POST-CSO station server: carriers' phones sync safety reports to it",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// Write logs to stderr as JSON lines.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The data directory every command works on, and the database if it is not
/// the data dir's embedded SQLite file.
#[derive(Debug, Clone, Args)]
pub struct DataDir {
    /// Directory holding station.db (unless --database-url is given), photo
    /// blobs and unfinished uploads.
    #[arg(long, env = "POSTCSO_DATA_DIR", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Use this PostgreSQL database instead of the embedded SQLite file, e.g.
    /// `postgres://postcso@127.0.0.1:5432/postcso`. The schema is created or
    /// migrated on start. `pool_max_size=N` in the query sets the pool size.
    #[arg(long, env = "POSTCSO_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API until SIGTERM or Ctrl-C.
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(ServeArgs),
    /// Create and list stations (tenants).
    #[command(subcommand)]
    Station(StationCommand),
    /// Manage staff users.
    #[command(subcommand)]
    User(UserCommand),
    /// Make one-time device enrolment codes: a CSV plus one printable QR PNG per code.
    #[command(after_help = EXIT_CODES_HELP)]
    Enrol(EnrolArgs),
    /// List and revoke enrolled devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Add, list, retire, import and export the zones of a station's district
    /// (beats, watch areas, its jurisdiction).
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Add, list, update, retire and import the agencies fixes are referred
    /// to, and the routing rules that propose one for a report.
    #[command(subcommand)]
    Agency(crate::admin::AgencyCommand),
}

/// `serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The data directory to work on.
    #[command(flatten)]
    pub data: DataDir,
    /// Address to listen on; port 0 picks a free port (printed on stdout).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Do not mark the session cookie Secure (only for plain-HTTP test setups).
    #[arg(long)]
    pub cookie_insecure: bool,
    /// Enrolment attempts allowed per client address per minute (also the burst).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub enrol_rate_per_minute: u32,
    /// Sign-in attempts allowed per client address per minute (also the burst).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub sign_in_rate_per_minute: u32,
    /// Lifetime of staff sessions, in hours.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub session_hours: u32,
    /// Minutes a staff session may go unused before it stops working (API and console).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub session_idle_minutes: u32,
    /// Map tiles for the review console, e.g.
    /// `https://tiles.example/{z}/{x}/{y}.png` (a server on your network or one
    /// your licence allows). Without it the console's maps show reports and
    /// zone outlines on a plain background, and no request leaves the station.
    #[arg(long, env = "POSTCSO_CONSOLE_TILE_URL", value_name = "URL")]
    pub console_tile_url: Option<String>,
    /// Attribution the tile provider requires, shown on the console's maps.
    #[arg(long, value_name = "TEXT")]
    pub console_tile_attribution: Option<String>,
    /// Days after which an untriaged report is marked overdue in the console.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub overdue_untriaged_days: u32,
    /// Days after which an unresolved report is marked overdue in the console.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=365))]
    pub overdue_unresolved_days: u32,
    /// Largest photo, in bytes: the most a manifest may list and a tus upload
    /// may carry (advertised as Tus-Max-Size).
    #[arg(long, default_value_t = 25 * 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1..=1024 * 1024 * 1024))]
    pub max_upload_size: u64,
    /// Hours an unfinished upload stays resumable (and a finished one answers HEAD).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=720))]
    pub upload_expiry_hours: u32,
    /// Where verified photos are kept: `s3://bucket/prefix` (S3-compatible
    /// object storage; credentials from AWS_ACCESS_KEY_ID /
    /// AWS_SECRET_ACCESS_KEY), a directory, or by default DIR/blobs.
    #[arg(long, env = "POSTCSO_BLOB_STORE", value_name = "URL")]
    pub blob_store: Option<crate::blob::BlobLocation>,
    /// S3-compatible endpoint, e.g. `https://s3.example.net` (also AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// The bucket's region (also AWS_REGION).
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// Allow a plain-http S3 endpoint (only for a test server on loopback).
    #[arg(long)]
    pub s3_allow_http: bool,
}

/// `station …`
#[derive(Debug, Subcommand)]
pub enum StationCommand {
    /// Create a station and seed its six built-in report categories.
    #[command(after_help = EXIT_CODES_HELP)]
    Create {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Short name used on the command line and at sign-in, e.g. `seodaemun`.
        #[arg(long, value_parser = parse_slug)]
        slug: String,
        /// Display name, e.g. "Seodaemun Police Station".
        #[arg(long)]
        name: String,
        /// Make the station's jurisdiction zone from an embedded Seoul district,
        /// by its 5-digit 시군구 code, e.g. 11410 (서대문구); the zone is
        /// coded `district-11410`.
        #[arg(long, value_name = "CODE", conflicts_with = "jurisdiction_file")]
        jurisdiction: Option<String>,
        /// Make the station's jurisdiction zone from a GeoJSON file: a Polygon
        /// or MultiPolygon geometry, a Feature, or a collection of one feature,
        /// in WGS84; the zone is coded `jurisdiction`.
        #[arg(long, value_name = "FILE")]
        jurisdiction_file: Option<PathBuf>,
    },
    /// List the stations of the data dir.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
    },
}

/// `user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a staff user. Without --password-stdin a random password is made and
    /// printed once; passwords are never taken as arguments (they would show in `ps`).
    #[command(after_help = EXIT_CODES_HELP)]
    Add {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// Sign-in name, unique within the station.
        #[arg(long, value_parser = parse_username)]
        username: String,
        /// Role within the station.
        #[arg(long, value_enum)]
        role: Role,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List a station's staff users: username, role, added, and whether they
    /// may still sign in.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
    },
    /// Disable a staff user (someone who left, or whose password leaked): they
    /// can no longer sign in, and their sessions end on their next request.
    /// What they did stays in the audit log under their name.
    #[command(after_help = EXIT_CODES_HELP)]
    Disable {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The user's sign-in name.
        #[arg(long, value_parser = parse_username)]
        username: String,
    },
}

/// `enrol`
#[derive(Debug, Args)]
pub struct EnrolArgs {
    /// The data directory to work on.
    #[command(flatten)]
    pub data: DataDir,
    /// Station slug.
    #[arg(long)]
    pub station: String,
    /// How many codes to make (one per carrier's phone).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub count: u32,
    /// CSV file to write; QR PNGs go into a folder beside it named `<stem>-qr`.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Days until unused codes expire.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=90))]
    pub expires_days: u32,
    /// Prefix of the printed labels; numbers continue after earlier batches.
    #[arg(long, default_value = "carrier", value_parser = parse_slug)]
    pub label_prefix: String,
    /// Station URL to put in the QR codes with the code, so the phone knows where to enrol.
    #[arg(long, value_name = "URL")]
    pub server_url: Option<String>,
}

/// `device …`
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// List a station's devices.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
    },
    /// Revoke a device (lost or replaced phone). It is refused from its next
    /// request; reports it already delivered stay.
    #[command(after_help = EXIT_CODES_HELP)]
    Revoke {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// Device id, or the label printed with its enrolment code.
        #[arg(long, value_name = "ID_OR_LABEL")]
        device: String,
    },
}

/// `zone …`
#[derive(Debug, Subcommand)]
pub enum ZoneCommand {
    /// Add a zone. Carriers' phones receive it with their next sync.
    #[command(after_help = EXIT_CODES_HELP)]
    Add(Box<ZoneAddCommand>),
    /// List a station's zones, retired ones included.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
    },
    /// Retire a zone: it is kept (never deleted) and phones see it retired.
    #[command(after_help = EXIT_CODES_HELP)]
    Retire {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// Zone code.
        #[arg(long)]
        code: String,
    },
    /// Import zones from a GeoJSON FeatureCollection (WGS84), all or nothing:
    /// each feature's properties are `code`, `kind`, `theme`, `name_ko`,
    /// `name_en`, `guidance`, `valid_from`, `valid_until`; its geometry a
    /// Polygon or MultiPolygon. Existing codes are updated (devices kept),
    /// new ones added; one bad feature refuses the file and changes nothing.
    #[command(after_help = EXIT_CODES_HELP)]
    Import {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The GeoJSON file (at most 16 MiB).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Export the station's zones (not retired ones) as a GeoJSON
    /// FeatureCollection that `zone import` takes back unchanged.
    #[command(after_help = EXIT_CODES_HELP)]
    Export {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// File to write (must not exist); standard output when absent.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `zone add`: a zone's fields as typed, checked as the API checks them.
#[derive(Debug, Args)]
pub struct ZoneAddCommand {
    /// The data directory to work on.
    #[command(flatten)]
    pub data: DataDir,
    /// Station slug.
    #[arg(long)]
    pub station: String,
    /// Zone code, unique in the station forever, e.g. `route-12`.
    #[arg(long, value_parser = parse_slug)]
    pub code: String,
    /// `beat` (default), `watch_area` or `jurisdiction`.
    #[arg(long)]
    pub kind: Option<String>,
    /// Watch areas: why it is watched, e.g. `women_living_alone`,
    /// `parcel_theft_hotspot`, `school_route`, `dark_alley`.
    #[arg(long)]
    pub theme: Option<String>,
    /// Display name in Korean.
    #[arg(long, alias = "name-ko")]
    pub name: String,
    /// Display name in English.
    #[arg(long)]
    pub name_en: Option<String>,
    /// What carriers should look for there (at most 500 characters).
    #[arg(long)]
    pub guidance: Option<String>,
    /// When the zone comes into force, RFC 3339 (e.g. 2026-12-01T00:00:00+09:00).
    #[arg(long, value_name = "TIME")]
    pub valid_from: Option<String>,
    /// When it stops being in force, RFC 3339; after --valid-from.
    #[arg(long, value_name = "TIME")]
    pub valid_until: Option<String>,
    /// File holding the outline: a GeoJSON Polygon or MultiPolygon geometry
    /// (or a Feature, or a collection of one) in WGS84. Clockwise rings are
    /// rewound to RFC 7946 winding.
    #[arg(long, value_name = "FILE")]
    pub area_file: Option<PathBuf>,
    /// A carrier device to assign (id or label); repeat for more.
    #[arg(long = "device", value_name = "ID_OR_LABEL")]
    pub devices: Vec<String>,
}

/// Slugs and label prefixes: lowercase ASCII letters, digits, `-` and `_`, 1–40 long.
fn parse_slug(s: &str) -> Result<String, String> {
    let ok = (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1-40 lowercase letters, digits, '-' or '_'".to_owned())
    }
}

/// Usernames: printable, no spaces, 1–64 characters.
fn parse_username(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.chars().count())
        && s.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1-64 characters without spaces".to_owned())
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => crate::admin::serve(args).await,
        Command::Station(StationCommand::Create {
            data,
            slug,
            name,
            jurisdiction,
            jurisdiction_file,
        }) => {
            let source = match (&jurisdiction, &jurisdiction_file) {
                (Some(code), _) => crate::admin::JurisdictionSource::District(code),
                (None, Some(file)) => crate::admin::JurisdictionSource::File(file),
                (None, None) => crate::admin::JurisdictionSource::None,
            };
            crate::admin::station_create(&data, &slug, &name, source).await
        }
        Command::Station(StationCommand::List { data }) => crate::admin::station_list(&data).await,
        Command::User(UserCommand::Add {
            data,
            station,
            username,
            role,
            password_stdin,
        }) => crate::admin::user_add(&data, &station, &username, role, password_stdin).await,
        Command::User(UserCommand::List { data, station }) => {
            crate::admin::user_list(&data, &station).await
        }
        Command::User(UserCommand::Disable {
            data,
            station,
            username,
        }) => crate::admin::user_disable(&data, &station, &username).await,
        Command::Enrol(args) => crate::admin::enrol(args).await,
        Command::Device(DeviceCommand::List { data, station }) => {
            crate::admin::device_list(&data, &station).await
        }
        Command::Device(DeviceCommand::Revoke {
            data,
            station,
            device,
        }) => crate::admin::device_revoke(&data, &station, &device).await,
        Command::Zone(ZoneCommand::Add(add)) => {
            crate::admin::zone_add(
                &add.data,
                crate::admin::ZoneAddArgs {
                    station: &add.station,
                    code: &add.code,
                    kind: add.kind.as_deref(),
                    theme: add.theme.as_deref(),
                    name: &add.name,
                    name_en: add.name_en.as_deref(),
                    guidance: add.guidance.as_deref(),
                    valid_from: add.valid_from.as_deref(),
                    valid_until: add.valid_until.as_deref(),
                    area_file: add.area_file.as_deref(),
                    devices: &add.devices,
                },
            )
            .await
        }
        Command::Zone(ZoneCommand::List { data, station }) => {
            crate::admin::zone_list(&data, &station).await
        }
        Command::Zone(ZoneCommand::Retire {
            data,
            station,
            code,
        }) => crate::admin::zone_retire(&data, &station, &code).await,
        Command::Zone(ZoneCommand::Import {
            data,
            station,
            file,
        }) => crate::admin::zone_import(&data, &station, &file).await,
        Command::Zone(ZoneCommand::Export {
            data,
            station,
            file,
        }) => crate::admin::zone_export(&data, &station, file.as_deref()).await,
        Command::Agency(command) => crate::admin::agencies::run(command).await,
    }
}
