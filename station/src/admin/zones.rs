//! `zone add|list|retire|import|export` and a new station's jurisdiction:
//! managing the station's zones from the console, through the same checks
//! (`crate::zones`) and repository calls (feed entries, audit rows) as the API.

use std::io::{Read, Write};
use std::path::Path;

use chrono::Utc;
use uuid::Uuid;

use super::{find_station, open_existing, print};
use crate::cli::DataDir;
use crate::exit::{CliError, Exit};
use crate::repo::{Actor, RepoError, Repository, Station};
use crate::zones::Fault;
use crate::zones::export::feature_collection;
use crate::zones::fields::{Places, ZoneDraft, check_area};
use crate::zones::geojson::{GeoJsonError, read_outline};
use crate::zones::import::{ImportReport, MAX_IMPORT_BYTES, check_against, prepare};
use crate::zones::jurisdiction::{Jurisdiction, from_district, from_outline};

/// Resolves `--device` values (ids or enrolment labels) to the station's device ids.
async fn resolve_devices(
    repo: &dyn Repository,
    station: crate::repo::StationId,
    keys: &[String],
) -> Result<Vec<Uuid>, CliError> {
    let devices = repo.list_devices(station).await?;
    let mut ids = Vec::with_capacity(keys.len());
    for key in keys {
        let matches: Vec<_> = devices
            .iter()
            .filter(|d| d.id.to_string() == *key || d.label == *key)
            .collect();
        match matches.as_slice() {
            [one] => ids.push(one.id),
            [] => {
                return Err(CliError::new(
                    Exit::NotFound,
                    format!("no device `{key}` in this station"),
                ));
            }
            _ => {
                return Err(CliError::new(
                    Exit::Usage,
                    format!("{} devices match `{key}`; use the device id", matches.len()),
                ));
            }
        }
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Reads a GeoJSON file of at most [`MAX_IMPORT_BYTES`], refusing a larger
/// one by its size before reading it (and reading no more than the limit
/// should it grow meanwhile).
fn read_geojson_file(path: &Path) -> Result<String, CliError> {
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
fn refused(path: &Path, what: &str, faults: &[Fault]) -> CliError {
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
fn geojson_refused(path: &Path, what: &str, e: GeoJsonError) -> CliError {
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

/// What `zone add` is given: the fields as typed, checked like the API's.
pub struct ZoneAddArgs<'a> {
    /// Station slug.
    pub station: &'a str,
    /// Zone code.
    pub code: &'a str,
    /// `beat`, `watch_area` or `jurisdiction`.
    pub kind: Option<&'a str>,
    /// A watch area's theme.
    pub theme: Option<&'a str>,
    /// Korean name.
    pub name: &'a str,
    /// English name.
    pub name_en: Option<&'a str>,
    /// Guidance for carriers.
    pub guidance: Option<&'a str>,
    /// Start of validity, RFC 3339.
    pub valid_from: Option<&'a str>,
    /// End of validity, RFC 3339.
    pub valid_until: Option<&'a str>,
    /// File with the outline (a GeoJSON geometry, feature, or collection of one).
    pub area_file: Option<&'a Path>,
    /// Device ids or labels.
    pub devices: &'a [String],
}

/// `zone add`
pub async fn zone_add(data: &DataDir, args: ZoneAddArgs<'_>) -> Result<(), CliError> {
    // The outline is checked on its own first, so its faults name the file
    // (and its rewound rings are counted before the zone's check sees it
    // already wound right).
    let (area, rings_rewound) = match args.area_file {
        None => (None, 0),
        Some(path) => {
            let text = read_geojson_file(path)?;
            let (area, at) =
                read_outline(&text).map_err(|e| geojson_refused(path, "not a zone outline", e))?;
            let (area, repairs) = check_area(area, &at)
                .map_err(|fault| refused(path, "not a valid outline", &[fault]))?;
            (Some(area), repairs.rings_rewound)
        }
    };
    let owned = |v: Option<&str>| v.map(str::to_owned);
    let draft = ZoneDraft {
        code: Some(args.code.to_owned()),
        kind: owned(args.kind),
        theme: owned(args.theme),
        name: Some(args.name.to_owned()),
        name_en: owned(args.name_en),
        guidance: owned(args.guidance),
        valid_from: owned(args.valid_from),
        valid_until: owned(args.valid_until),
    };
    let places = Places {
        fields: "",
        area: "/area-file",
    };
    let (mut zone, _) = draft.check(area, places).map_err(|faults| {
        let lines: Vec<String> = faults
            .iter()
            .map(|f| {
                let flag = f.pointer.trim_start_matches('/').replace('_', "-");
                format!("--{flag}: {}", f.detail)
            })
            .collect();
        CliError::new(Exit::Usage, lines.join("\n"))
    })?;
    let repo = open_existing(data).await?;
    let station = find_station(&repo, args.station).await?;
    zone.devices = resolve_devices(&*repo, station.id, args.devices).await?;
    let zone = repo
        .add_zone(station.id, zone, Actor::console(), Utc::now())
        .await?;
    print(format_args!(
        "added zone {} ({}, {}) to station {} with {} device(s)",
        zone.code,
        zone.name,
        zone.kind.as_str(),
        station.slug,
        zone.devices.len()
    ))?;
    if rings_rewound > 0 {
        print(format_args!(
            "{rings_rewound} ring(s) of the outline were rewound to RFC 7946 winding"
        ))?;
    }
    Ok(())
}

/// `zone list`: code, name, devices, outline, state, kind (the kind last, so
/// scripts reading the older columns keep working).
pub async fn zone_list(data: &DataDir, station: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    for zone in repo.zones(station.id).await? {
        let state = match zone.retired_at {
            Some(at) => format!("retired {}", at.format("%Y-%m-%d %H:%M")),
            None => "active".to_owned(),
        };
        print(format_args!(
            "{}\t{}\t{} device(s)\t{}\t{}\t{}",
            zone.code,
            zone.name,
            zone.devices.len(),
            if zone.area.is_some() {
                "area"
            } else {
                "no area"
            },
            state,
            zone.kind.as_str()
        ))?;
    }
    Ok(())
}

/// `zone retire`
pub async fn zone_retire(data: &DataDir, station: &str, code: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (zone, newly) = repo
        .retire_zone(station.id, code, Actor::console(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::NotFound(_) => CliError::new(
                Exit::NotFound,
                format!("no zone `{code}` in station {}", station.slug),
            ),
            other => other.into(),
        })?;
    if newly {
        print(format_args!("retired zone {}", zone.code))
    } else {
        print(format_args!("zone {} was already retired", zone.code))
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
                crate::zones::jurisdiction::JurisdictionError::File(e) => {
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
