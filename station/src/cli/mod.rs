//! Command-line interface: argument definitions and dispatch.
//!
//! The admin commands work on the data dir directly (not over HTTP), so a
//! station can be set up before the server first starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::auth::Role;
use crate::exit::{CliError, EXIT_CODES_HELP};

pub mod args;

use args::{DataDir, EnrolArgs, ServeArgs};
use args::{parse_slug, parse_username};

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
