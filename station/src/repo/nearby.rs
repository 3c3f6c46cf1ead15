//! Nearby duplicates: other reports of the station about the same place,
//! filed by any carrier, so a supervisor sees that a spot was reported before
//! (or since) before acting on it twice.
//!
//! The rules live here once: within [`NEARBY_RADIUS_M`] metres (measured with
//! `postcso_model::metres_between`), of the same or a related category
//! (`postcso_model::categories_related`), created within [`NEARBY_WINDOW_DAYS`]
//! days before or after the report, closed ones included, nearest first, at
//! most [`NEARBY_LIMIT`]. A backend only selects candidates through its index
//! ([`NearbyStore::nearby_candidates`]: SQLite's R*Tree, PostgreSQL's grid
//! cells) by the box and time window of a [`NearbySearch`]; [`nearby_from`]
//! decides exactly.

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use postcso_model::{
    ReportId, ReviewStatus, categories_related, metres_between, related_categories,
};

use super::columns::Columns;
use super::places::round_decimetre;
use super::{RepoError, StationId, StoredReport};

/// How far apart two reports of one place may be, in metres.
pub const NEARBY_RADIUS_M: f64 = 50.0;
/// How many days apart two reports of one place may have been created.
pub const NEARBY_WINDOW_DAYS: i64 = 30;
/// Most nearby reports listed.
pub const NEARBY_LIMIT: usize = 50;

/// Margin added to the search box, so that candidates the exact distance
/// (which takes the cosine at the two points' mean latitude) would keep are
/// never cut by the box (which takes it at the report's): 1 % and about 0.1 m.
const BOX_MARGIN: f64 = 1.01;
const BOX_MARGIN_DEG: f64 = 1e-6;

/// What candidates are selected by, around one report.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbySearch {
    /// The report itself, never listed.
    pub exclude: ReportId,
    /// Its latitude.
    pub lat: f64,
    /// Its longitude.
    pub lon: f64,
    /// South edge of the box that holds every point within the radius.
    pub south: f64,
    /// North edge of the box.
    pub north: f64,
    /// West edge of the box.
    pub west: f64,
    /// East edge of the box.
    pub east: f64,
    /// Earliest `created_at` (inclusive).
    pub from: DateTime<Utc>,
    /// Latest `created_at` (inclusive).
    pub until: DateTime<Utc>,
    /// The report's category and the related ones.
    pub categories: Vec<String>,
}

impl NearbySearch {
    /// The search around `report`: its position, time and category.
    pub fn around(report: &StoredReport) -> Self {
        let content = &report.content;
        let (lat, lon) = (content.location.lat(), content.location.lon());
        let at = content.created_at.with_timezone(&Utc);
        let window = Duration::days(NEARBY_WINDOW_DAYS);
        // Metres per degree at this latitude, on the same projection as
        // `metres_between`: one degree north, and one degree east.
        let per_lat = metres_between((lat, lon), (lat + 1.0, lon));
        let per_lon = metres_between((lat, lon), (lat, lon + 1.0)).max(1e-6);
        let dlat = NEARBY_RADIUS_M * BOX_MARGIN / per_lat + BOX_MARGIN_DEG;
        let dlon = NEARBY_RADIUS_M * BOX_MARGIN / per_lon + BOX_MARGIN_DEG;
        Self {
            exclude: report.id,
            lat,
            lon,
            south: lat - dlat,
            north: lat + dlat,
            west: lon - dlon,
            east: lon + dlon,
            from: at - window,
            until: at + window,
            categories: related_categories(content.category.as_str())
                .into_iter()
                .map(str::to_owned)
                .collect(),
        }
    }
}

/// A report a backend selected as a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyCandidate {
    /// The report.
    pub id: ReportId,
    /// Its category code.
    pub category: String,
    /// Its review status.
    pub status: ReviewStatus,
    /// Its `created_at`, in UTC.
    pub created_at: DateTime<Utc>,
    /// Its latitude.
    pub lat: f64,
    /// Its longitude.
    pub lon: f64,
    /// Photos in its manifest.
    pub photos: u32,
}

/// A report found near another.
#[derive(Debug, Clone, PartialEq)]
pub struct NearbyReport {
    /// The report.
    pub id: ReportId,
    /// Metres from the report searched around, to 0.1 m.
    pub distance_m: f64,
    /// Its category code.
    pub category: String,
    /// Its review status (closed ones included).
    pub status: ReviewStatus,
    /// Its `created_at`, in UTC.
    pub created_at: DateTime<Utc>,
    /// Photos in its manifest.
    pub photos: u32,
}

/// A candidate read back: `id, category, status, created_at, lat, lon, photos`.
pub(crate) fn candidate_from(row: &impl Columns) -> Result<NearbyCandidate, RepoError> {
    Ok(NearbyCandidate {
        id: row.report_id(0)?,
        category: row.text(1)?,
        status: ReviewStatus::from(row.text(2)?),
        created_at: row.time(3)?,
        lat: row.float(4)?,
        lon: row.float(5)?,
        photos: u32::try_from(row.count(6)?).unwrap_or(u32::MAX),
    })
}

/// The nearby reports among `candidates`, by the rules of this module:
/// whatever a backend's index let through, only these are listed.
pub fn nearby_from(search: &NearbySearch, candidates: Vec<NearbyCandidate>) -> Vec<NearbyReport> {
    let category = search.categories.first().map(String::as_str).unwrap_or("");
    let mut found: Vec<NearbyReport> = candidates
        .into_iter()
        .filter(|c| c.id != search.exclude)
        .filter(|c| c.created_at >= search.from && c.created_at <= search.until)
        .filter(|c| categories_related(category, &c.category))
        .filter_map(|c| {
            let distance = metres_between((search.lat, search.lon), (c.lat, c.lon));
            (distance <= NEARBY_RADIUS_M).then_some(NearbyReport {
                id: c.id,
                distance_m: distance,
                category: c.category,
                status: c.status,
                created_at: c.created_at,
                photos: c.photos,
            })
        })
        .collect();
    found.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(a.created_at.cmp(&b.created_at))
            .then(a.id.cmp(&b.id))
    });
    found.truncate(NEARBY_LIMIT);
    for report in &mut found {
        report.distance_m = round_decimetre(report.distance_m);
    }
    found
}

/// Candidate selection for nearby duplicates, through each backend's index.
#[async_trait]
pub trait NearbyStore: Send + Sync {
    /// Reports of the station whose position is in the search's box, whose
    /// `created_at` is in its window and whose category is one of its
    /// categories. May return more (never fewer): [`nearby_from`] decides.
    async fn nearby_candidates(
        &self,
        station: StationId,
        search: &NearbySearch,
    ) -> Result<Vec<NearbyCandidate>, RepoError>;
}

/// The reports near `report`, by the rules of this module, through the
/// backend's index.
pub async fn nearby<R: NearbyStore + ?Sized>(
    repo: &R,
    report: &StoredReport,
) -> Result<Vec<NearbyReport>, RepoError> {
    let search = NearbySearch::around(report);
    let candidates = repo.nearby_candidates(report.station_id, &search).await?;
    Ok(nearby_from(&search, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search() -> NearbySearch {
        let at = DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        NearbySearch {
            exclude: ReportId::new(),
            lat: 37.5600,
            lon: 126.9300,
            south: 0.0,
            north: 0.0,
            west: 0.0,
            east: 0.0,
            from: at - Duration::days(NEARBY_WINDOW_DAYS),
            until: at + Duration::days(NEARBY_WINDOW_DAYS),
            categories: vec!["crime_risk".into(), "resident_anxiety".into()],
        }
    }

    fn candidate(north_m: f64, category: &str, days: i64) -> NearbyCandidate {
        let s = search();
        NearbyCandidate {
            id: ReportId::new(),
            category: category.into(),
            status: ReviewStatus::Fixed,
            created_at: s.from + Duration::days(NEARBY_WINDOW_DAYS + days),
            lat: s.lat + north_m / 110_574.0,
            lon: s.lon,
            photos: 2,
        }
    }

    #[test]
    fn only_near_related_and_recent_reports_are_kept_nearest_first() {
        let s = search();
        let far = candidate(50.5, "crime_risk", 0);
        let near = candidate(10.04, "resident_anxiety", -30);
        let nearer = candidate(3.0, "crime_risk", 30);
        let unrelated = candidate(1.0, "traffic_risk", 0);
        let too_old = candidate(1.0, "crime_risk", -31);
        let mut itself = candidate(0.0, "crime_risk", 0);
        itself.id = s.exclude;
        let found = nearby_from(
            &s,
            vec![
                far,
                near.clone(),
                unrelated,
                nearer.clone(),
                too_old,
                itself,
            ],
        );
        let ids: Vec<ReportId> = found.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![nearer.id, near.id]);
        assert_eq!(found[0].distance_m, 3.0);
        assert_eq!(found[1].distance_m, 10.0, "rounded to 0.1 m");
        assert_eq!(found[1].status, ReviewStatus::Fixed, "closed ones count");
    }

    #[test]
    fn at_most_the_limit_is_listed() {
        let s = search();
        let many = (0..NEARBY_LIMIT + 10)
            .map(|i| candidate(i as f64 * 0.5, "crime_risk", 0))
            .collect();
        assert_eq!(nearby_from(&s, many).len(), NEARBY_LIMIT);
    }
}
