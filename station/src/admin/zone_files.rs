//! Zones as files on the console: `zone import` (a GeoJSON FeatureCollection,
//! all or nothing), `zone export`, and the jurisdiction zone `station create`
//! makes from an embedded district or an outline file. Files are read with the
//! same size limit as the API's, and checked by `crate::zones` as the API
//! checks them.

use std::io::{Read, Write};
use std::path::Path;

use chrono::Utc;

use super::{find_station, open_existing, print};
use crate::cli::args::DataDir;
use crate::exit::{CliError, Exit};
use crate::repo::{Actor, Repository, Station};
use crate::zones::Fault;
use crate::zones::export::feature_collection;
use crate::zones::geojson::GeoJsonError;
use crate::zones::import::{ImportReport, MAX_IMPORT_BYTES, check_against, prepare};
use crate::zones::jurisdiction::{Jurisdiction, JurisdictionError, from_district, from_outline};

/// Reads a GeoJSON file of at most [`MAX_IMPORT_BYTES`], refusing a larger
/// one by its size before reading it (and reading no more than the limit
/// should it grow meanwhile).
pub(super) fn read_geojson_file(path: &Path) -> Result<String, CliError> {
    let io =
        |e: std::io::Error| CliError::new(Exit::Io, format!("cannot read {}: {e}", path.display()));
    let too_large = || {
        CliError::new(
            Exit::Usage,
            format!(
                "{} is larger than {MAX_IMPORT_BYTES} bytes, the most a zone file may hold; \
                 split it or simplify its outlines",
                path.display()
            ),
        )
    };
    let file = std::fs::File::open(path).map_err(io)?;
    if file.metadata().map_err(io)?.len() > MAX_IMPORT_BYTES as u64 {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(MAX_IMPORT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|e| {
        CliError::new(
            Exit::Usage,
            format!(
                "{} is not UTF-8 text (first bad byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// A file's faults as a usage error: a first line, then one line per fault.
pub(super) fn refused(path: &Path, what: &str, faults: &[Fault]) -> CliError {
    let mut message = format!("{}: {what}; nothing was changed:", path.display());
    for fault in faults {
        message.push_str(&format!("\n  {}", fault.detail));
        if !fault.pointer.is_empty() {
            message.push_str(&format!(" (at {})", fault.pointer));
        }
    }
    CliError::new(Exit::Usage, message)
}

/// A GeoJSON error as a usage error.
pub(super) fn geojson_refused(path: &Path, what: &str, e: GeoJsonError) -> CliError {
    match e {
        GeoJsonError::Syntax(detail) => CliError::new(
            Exit::Usage,
            format!(
                "{}: not valid JSON: {detail}; nothing was changed",
                path.display()
            ),
        ),
        GeoJsonError::Invalid(faults) => refused(path, what, &faults),
    }
}

/// `zone import`: a GeoJSON FeatureCollection, all or nothing.
pub async fn zone_import(data: &DataDir, station: &str, file: &Path) -> Result<(), CliError> {
    let text = read_geojson_file(file)?;
    let prepared = tokio::task::spawn_blocking(move || prepare(&text))
        .await
        .map_err(|e| CliError::new(Exit::Failure, format!("checking the file failed: {e}")))?
        .map_err(|e| geojson_refused(file, "the import was refused", e))?;
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let existing = repo.zones(station.id).await?;
    check_against(&existing, &prepared)
        .map_err(|e| geojson_refused(file, "the import was refused", e))?;
    let imported = repo
        .import_zones(
            station.id,
            prepared.zones.clone(),
            Actor::console(),
            Utc::now(),
        )
        .await?;
    let report = ImportReport::new(&imported, &prepared);
    print(format_args!(
        "imported {} into station {}: {}",
        file.display(),
        station.slug,
        report.summary()
    ))?;
    for zone in &report.zones {
        let outcome = serde_json::to_value(zone.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let rewound = match zone.rings_rewound {
            0 => String::new(),
            n => format!(" ({n} ring(s) rewound)"),
        };
        print(format_args!("  {outcome:<9}  {}{rewound}", zone.code))?;
    }
    Ok(())
}

/// `zone export`: the station's zones as GeoJSON, to `file` (which must not
/// exist; written whole or not at all) or stdout.
pub async fn zone_export(
    data: &DataDir,
    station: &str,
    file: Option<&Path>,
) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let zones = repo.zones(station.id).await?;
    let text = feature_collection(&zones)
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot write GeoJSON: {e}")))?;
    let Some(path) = file else {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .map_err(|e| CliError::new(Exit::Io, format!("cannot write to stdout: {e}")));
    };
    write_new_file(path, text.as_bytes())?;
    let exported = zones.iter().filter(|z| z.retired_at.is_none()).count();
    print(format_args!(
        "exported {exported} zone(s) of station {} to {}",
        station.slug,
        path.display()
    ))
}

/// Writes a file that must not exist yet: to a temporary file beside it,
/// synced, then linked into place, so a reader never sees half of it.
fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let io = |e: std::io::Error| {
        CliError::new(Exit::Io, format!("cannot write {}: {e}", path.display()))
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut staged = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    staged.write_all(bytes).map_err(io)?;
    staged.as_file().sync_all().map_err(io)?;
    staged.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::new(
                Exit::Conflict,
                format!("{} already exists; choose another name", path.display()),
            )
        } else {
            io(e.error)
        }
    })?;
    Ok(())
}

/// Where `station create` takes a jurisdiction from.
#[derive(Debug, Clone, Copy)]
pub enum JurisdictionSource<'a> {
    /// No jurisdiction zone.
    None,
    /// An embedded Seoul district, by 시군구 code.
    District(&'a str),
    /// A GeoJSON file holding the outline.
    File(&'a Path),
}

/// The jurisdiction zone to add with a new station, checked before the
/// station is created, so a bad code or file creates nothing.
pub fn jurisdiction(source: JurisdictionSource<'_>) -> Result<Option<Jurisdiction>, CliError> {
    match source {
        JurisdictionSource::None => Ok(None),
        JurisdictionSource::District(code) => from_district(code)
            .map(Some)
            .map_err(|e| CliError::new(Exit::Usage, e.to_string())),
        JurisdictionSource::File(path) => {
            let text = read_geojson_file(path)?;
            from_outline(&text).map(Some).map_err(|e| match e {
                JurisdictionError::File(e) => {
                    geojson_refused(path, "not a jurisdiction outline", e)
                }
                other => CliError::new(Exit::Usage, other.to_string()),
            })
        }
    }
}

/// Adds a new station's jurisdiction zone and says so.
pub async fn add_jurisdiction(
    repo: &dyn Repository,
    station: &Station,
    made: Jurisdiction,
) -> Result<(), CliError> {
    let zone = repo
        .add_zone(station.id, made.zone, Actor::console(), Utc::now())
        .await?;
    print(format_args!(
        "set its jurisdiction: zone {} ({}{})",
        zone.code,
        zone.name,
        zone.name_en
            .as_deref()
            .map(|en| format!(", {en}"))
            .unwrap_or_default()
    ))?;
    if made.rings_rewound > 0 {
        print(format_args!(
            "{} ring(s) of the outline were rewound to RFC 7946 winding",
            made.rings_rewound
        ))?;
    }
    if let Some(credit) = made.attribution {
        print(format_args!("boundary data: {credit}"))?;
    }
    Ok(())
}
