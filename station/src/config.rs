//! Server settings that are not about where to listen or store: limits and
//! lifetimes, with the defaults the station runs with.

use std::num::NonZeroU32;

use chrono::Duration;
use postcso_model::MAX_PHOTOS_DEFAULT;

use crate::upload::UploadConfig;

/// A token-bucket rate: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Sustained attempts per minute per client.
    pub per_minute: NonZeroU32,
    /// Attempts allowed at once.
    pub burst: NonZeroU32,
}

impl RateLimit {
    /// A rate from plain numbers; zero is raised to one.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            per_minute: NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN),
            burst: NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Tunable limits of the HTTP API.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// How long a staff session lasts.
    pub session_ttl: Duration,
    /// How long a staff session may go unused before it stops working (a
    /// tablet left on a desk): the API and the review console alike.
    pub session_idle_timeout: Duration,
    /// Whether the session cookie is marked `Secure` (off only for plain-HTTP labs).
    pub cookie_secure: bool,
    /// Enrolment attempts per client address. Generous by default: a whole
    /// station may enrol at once from behind one Wi-Fi NAT, and a 100-bit code
    /// cannot be guessed anyway.
    pub enrol_rate: RateLimit,
    /// Sign-in attempts per client address; argon2 is deliberately expensive.
    pub sign_in_rate: RateLimit,
    /// Most photos a report may list.
    pub max_photos: usize,
    /// Largest photo a manifest may announce, in bytes; also the largest
    /// upload (`Tus-Max-Size`), so every listed photo can be uploaded.
    pub max_photo_bytes: u64,
    /// Upload lifetimes and streaming limits.
    pub upload: UploadConfig,
    /// How often expired uploads are swept away.
    pub upload_sweep_interval: std::time::Duration,
    /// The review console's settings.
    pub console: ConsoleConfig,
}

/// Settings of the review console (`/console/`).
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    /// Leaflet tile URL template (`{z}/{x}/{y}`); `None`: a plain background,
    /// so a station with no tile server makes no outside request.
    pub tile_url: Option<String>,
    /// Attribution the tile provider requires.
    pub tile_attribution: Option<String>,
    /// A report still `received` this long after arrival is overdue for triage.
    pub untriaged_after: Duration,
    /// A report not yet closed (fixed, rejected, merged) this long after
    /// arrival is overdue.
    pub unresolved_after: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            tile_url: None,
            tile_attribution: None,
            untriaged_after: Duration::days(2),
            unresolved_after: Duration::days(7),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            session_ttl: Duration::hours(12),
            session_idle_timeout: Duration::minutes(30),
            cookie_secure: true,
            enrol_rate: RateLimit::new(60, 100),
            sign_in_rate: RateLimit::new(10, 10),
            max_photos: MAX_PHOTOS_DEFAULT,
            max_photo_bytes: 25 * 1024 * 1024,
            upload: UploadConfig::default(),
            upload_sweep_interval: std::time::Duration::from_secs(60),
            console: ConsoleConfig::default(),
        }
    }
}
