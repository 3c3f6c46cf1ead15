//! The arguments several commands share, and the ones the admin commands
//! take whole: kept apart from the command tree (`cli/mod.rs`) so that the
//! admin commands, which the tree dispatches to, depend only on these.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

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

/// Slugs and label prefixes: lowercase ASCII letters, digits, `-` and `_`, 1–40 long.
pub(crate) fn parse_slug(s: &str) -> Result<String, String> {
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
pub(crate) fn parse_username(s: &str) -> Result<String, String> {
    let ok = (1..=64).contains(&s.chars().count())
        && s.chars().all(|c| !c.is_control() && !c.is_whitespace());
    if ok {
        Ok(s.to_owned())
    } else {
        Err("use 1-64 characters without spaces".to_owned())
    }
}
