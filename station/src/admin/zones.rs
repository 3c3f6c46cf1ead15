//! `zone add|list|retire`: managing the station's zones from the console,
//! through the same repository calls (feed entry, audit row) as the API.

use std::path::Path;

use chrono::Utc;
use postcso_model::ZoneArea;
use uuid::Uuid;

use super::{find_station, open_existing, print};
use crate::cli::DataDir;
use crate::exit::{CliError, Exit};
use crate::repo::{Actor, NewZone, RepoError, Repository};

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

fn read_area(path: &Path) -> Result<ZoneArea, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::new(Exit::Io, format!("cannot read {}: {e}", path.display())))?;
    let area: ZoneArea = serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            Exit::Usage,
            format!("{} is not a GeoJSON Polygon geometry: {e}", path.display()),
        )
    })?;
    area.validate()
        .map_err(|e| CliError::new(Exit::Usage, format!("{}: {e}", path.display())))?;
    Ok(area)
}

/// What `zone add` is given.
pub struct ZoneAddArgs<'a> {
    /// Station slug.
    pub station: &'a str,
    /// Zone code.
    pub code: &'a str,
    /// Display name.
    pub name: &'a str,
    /// File with a GeoJSON Polygon geometry.
    pub area_file: Option<&'a Path>,
    /// Device ids or labels.
    pub devices: &'a [String],
}

/// `zone add`
pub async fn zone_add(data: &DataDir, args: ZoneAddArgs<'_>) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, args.station).await?;
    let area = args.area_file.map(read_area).transpose()?;
    let devices = resolve_devices(&*repo, station.id, args.devices).await?;
    let zone = repo
        .add_zone(
            station.id,
            NewZone {
                code: args.code.to_owned(),
                name: args.name.to_owned(),
                area,
                devices,
            },
            Actor::console(),
            Utc::now(),
        )
        .await?;
    print(format_args!(
        "added zone {} ({}) to station {} with {} device(s)",
        zone.code,
        zone.name,
        station.slug,
        zone.devices.len()
    ))
}

/// `zone list`
pub async fn zone_list(data: &DataDir, station: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    for zone in repo.zones(station.id).await? {
        let state = match zone.retired_at {
            Some(at) => format!("retired {}", at.format("%Y-%m-%d %H:%M")),
            None => "active".to_owned(),
        };
        print(format_args!(
            "{}\t{}\t{} device(s)\t{}\t{}",
            zone.code,
            zone.name,
            zone.devices.len(),
            if zone.area.is_some() {
                "area"
            } else {
                "no area"
            },
            state
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
