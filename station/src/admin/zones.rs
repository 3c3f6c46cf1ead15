//! `zone add|list|retire`: managing the station's zones from the console,
//! through the same checks (`crate::zones`) and repository calls (feed
//! entries, audit rows) as the API. Files (import, export, a jurisdiction's
//! outline) are `zone_files.rs`'s.

use std::path::Path;

use chrono::Utc;
use uuid::Uuid;

use super::zone_files::{geojson_refused, read_geojson_file, refused};
use super::{find_station, open_existing, print};
use crate::cli::args::DataDir;
use crate::exit::{CliError, Exit};
use crate::repo::{Actor, RepoError, Repository};
use crate::zones::fields::{Places, ZoneDraft, check_area};
use crate::zones::geojson::read_outline;

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
