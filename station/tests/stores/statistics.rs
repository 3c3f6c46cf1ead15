//! [`StatisticsStore`]: known reports and decisions at known times, and the
//! exact figures expected of them: counts by category, status, period
//! (weeks and months in Korean time, empty ones included), district, zone
//! and device; reports triaged, referred and fixed in a window; medians of an
//! even and an odd count; an empty month; nothing from another station.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use postcso_model::{CategoryCode, ReviewStatus, content_hash};
use postcso_station::auth::Role;
use postcso_station::repo::statistics::{MedianDays, Period, Window};
use postcso_station::repo::{
    AccountStore, Device, DeviceStore, PlacedDistrict, Placement, PutOutcome, ReportStore,
    StationStore, StatisticsQuery, StatisticsStore, StoredReport, User,
};

use crate::{Station, acting, content, device, station, user};

contract_tests!(
    figures_follow_the_reports_and_decisions_of_the_window,
    an_empty_month_has_zeros_and_no_medians,
);

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .expect("time")
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("day")
}

/// A report of `category` filed by `device`, received at `received`, placed
/// in `district` (`None`: outside every district) and `zones`.
#[allow(clippy::too_many_arguments)]
async fn filed<R: ReportStore + ?Sized>(
    repo: &R,
    station: &Station,
    device: &Device,
    category: &str,
    district: Option<(&str, &str)>,
    zones: &[&str],
    received: DateTime<Utc>,
) -> StoredReport {
    let (mut c, _) = content(0);
    c.category = CategoryCode::parse(category).expect("category");
    let hash = content_hash(&c);
    let placement = Placement {
        district: district.map(|(code, name)| PlacedDistrict {
            code: code.to_owned(),
            name: name.to_owned(),
        }),
        zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        outside_jurisdiction: district.is_none_or(|(code, _)| code != "11410"),
        boundary_distance_m: None,
    };
    match repo
        .put_report(station.id, device.id, c, hash, placement, received)
        .await
        .expect("put")
    {
        PutOutcome::Created(r) => r,
        other => panic!("not created: {other:?}"),
    }
}

async fn decide<R: ReportStore + ?Sized>(
    repo: &R,
    station: &Station,
    by: &User,
    report: &StoredReport,
    status: ReviewStatus,
    when: DateTime<Utc>,
) {
    repo.set_report_status(station.id, report.id, status, None, None, acting(by), when)
        .await
        .expect("decide")
        .expect("found");
}

fn october() -> StatisticsQuery {
    StatisticsQuery {
        window: Window::month(2026, 10).expect("month"),
        period: Period::Month,
    }
}

/// The station of both contracts: seven reports around October 2026 (KST),
/// decisions on them, and a report of another station decided in October.
async fn seeded<R: StationStore + AccountStore + DeviceStore + ReportStore + ?Sized>(
    repo: &R,
) -> Station {
    use ReviewStatus::{Accepted, Fixed, Referred, Rejected};
    let mapo = station(repo, "mapo").await;
    let kim = user(repo, &mapo, "kim", Role::Supervisor).await;
    let (one, _) = device(repo, &mapo, "carrier-001").await;
    let (two, _) = device(repo, &mapo, "carrier-002").await;
    let _idle = device(repo, &mapo, "carrier-003").await;
    let (four, _) = device(repo, &mapo, "carrier-004").await;
    let _gone = device(repo, &mapo, "carrier-005").await;
    let sdm = Some(("11410", "서대문구"));
    let mapo_gu = Some(("11440", "마포구"));

    // A: accepted after 1 day, referred, fixed after 4 days.
    let a = filed(
        repo,
        &mapo,
        &one,
        "crime_risk",
        sdm,
        &["alley"],
        at(2026, 10, 1, 1, 0),
    )
    .await;
    decide(repo, &mapo, &kim, &a, Accepted, at(2026, 10, 2, 1, 0)).await;
    decide(repo, &mapo, &kim, &a, Referred, at(2026, 10, 3, 1, 0)).await;
    decide(repo, &mapo, &kim, &a, Fixed, at(2026, 10, 5, 1, 0)).await;
    // B: in two zones; accepted after 2 days, fixed after 6.
    let b = filed(
        repo,
        &mapo,
        &one,
        "crime_risk",
        sdm,
        &["alley", "school"],
        at(2026, 10, 3, 1, 0),
    )
    .await;
    decide(repo, &mapo, &kim, &b, Accepted, at(2026, 10, 5, 1, 0)).await;
    decide(repo, &mapo, &kim, &b, Fixed, at(2026, 10, 9, 1, 0)).await;
    // C: across the line in 마포구, rejected after 3.5 days.
    let c = filed(
        repo,
        &mapo,
        &two,
        "parcel_theft",
        mapo_gu,
        &[],
        at(2026, 10, 10, 1, 0),
    )
    .await;
    decide(repo, &mapo, &kim, &c, Rejected, at(2026, 10, 13, 13, 0)).await;
    // D: 00:30 on 1 October in Korea (15:30 UTC the day before), in no
    // district; accepted after half a day.
    let d = filed(
        repo,
        &mapo,
        &two,
        "safety_facility",
        None,
        &["school"],
        at(2026, 9, 30, 15, 30),
    )
    .await;
    decide(repo, &mapo, &kim, &d, Accepted, at(2026, 10, 1, 3, 30)).await;
    // E: 23:30 on 30 September in Korea: a September report, triaged (2.5
    // days) and fixed (11 days) in October.
    let e = filed(
        repo,
        &mapo,
        &one,
        "crime_risk",
        sdm,
        &[],
        at(2026, 9, 30, 14, 30),
    )
    .await;
    decide(repo, &mapo, &kim, &e, Accepted, at(2026, 10, 3, 2, 30)).await;
    decide(repo, &mapo, &kim, &e, Fixed, at(2026, 10, 11, 14, 30)).await;
    // F: by a device revoked since; marked fixed after 4 days, then reopened:
    // triaged, but not fixed.
    let f = filed(
        repo,
        &mapo,
        &four,
        "traffic_risk",
        sdm,
        &[],
        at(2026, 10, 4, 1, 0),
    )
    .await;
    decide(repo, &mapo, &kim, &f, Fixed, at(2026, 10, 8, 1, 0)).await;
    decide(repo, &mapo, &kim, &f, Accepted, at(2026, 10, 9, 1, 0)).await;
    repo.revoke_device(mapo.id, "carrier-004", at(2026, 10, 20, 0, 0))
        .await
        .expect("revoke");
    repo.revoke_device(mapo.id, "carrier-005", at(2026, 10, 20, 0, 0))
        .await
        .expect("revoke");
    // G: in December, untouched.
    filed(
        repo,
        &mapo,
        &two,
        "crime_risk",
        sdm,
        &[],
        at(2026, 12, 2, 1, 0),
    )
    .await;

    // Another station's report, decided in October: never counted here.
    let dongjak = station(repo, "dongjak").await;
    let lee = user(repo, &dongjak, "lee", Role::Supervisor).await;
    let (theirs, _) = device(repo, &dongjak, "carrier-001").await;
    let x = filed(
        repo,
        &dongjak,
        &theirs,
        "crime_risk",
        sdm,
        &["alley"],
        at(2026, 10, 2, 1, 0),
    )
    .await;
    decide(repo, &dongjak, &lee, &x, Fixed, at(2026, 10, 3, 1, 0)).await;
    mapo
}

fn pairs(list: &[(String, u64)]) -> Vec<(&str, u64)> {
    list.iter().map(|(k, n)| (k.as_str(), *n)).collect()
}

async fn figures_follow_the_reports_and_decisions_of_the_window<
    R: StationStore + AccountStore + DeviceStore + ReportStore + StatisticsStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = seeded(repo).await;
    let s = repo.statistics(mapo.id, &october()).await.expect("stats");
    // A, B, C, D (1 October in Korea) and F; not E (September in Korea), not G.
    assert_eq!(s.received, 5);
    assert_eq!(
        pairs(&s.by_category),
        [
            ("crime_risk", 2),
            ("parcel_theft", 1),
            ("safety_facility", 1),
            ("traffic_risk", 1)
        ]
    );
    let statuses: Vec<(&str, u64)> = s
        .by_status
        .iter()
        .map(|(st, n)| (st.as_str(), *n))
        .collect();
    assert_eq!(statuses, [("accepted", 2), ("fixed", 2), ("rejected", 1)]);
    assert_eq!(s.by_period, [(day(2026, 10, 1), 5)]);
    let districts: Vec<(Option<&str>, Option<&str>, u64)> = s
        .by_district
        .iter()
        .map(|d| (d.code.as_deref(), d.name.as_deref(), d.count))
        .collect();
    assert_eq!(
        districts,
        [
            (Some("11410"), Some("서대문구"), 3),
            (None, None, 1),
            (Some("11440"), Some("마포구"), 1)
        ]
    );
    assert_eq!(pairs(&s.by_zone), [("alley", 2), ("school", 2)]);
    // Every device enrolled now, and the revoked one that filed; not the
    // revoked one that never did.
    assert_eq!(
        pairs(&s.by_device),
        [
            ("carrier-001", 2),
            ("carrier-002", 2),
            ("carrier-004", 1),
            ("carrier-003", 0)
        ]
    );
    assert_eq!(s.active_devices(), 3);
    // Triaged in October: A 1, B 2, C 3.5, D 0.5, E 2.5 and F 4 days: an even
    // count, so the mean of 2 and 2.5.
    assert_eq!(s.triaged, 6);
    assert_eq!(
        s.days_to_triage,
        MedianDays {
            days: Some(2.25),
            count: 6
        }
    );
    assert_eq!(s.referred, 1);
    // Fixed in October and fixed now: A 4, B 6, E 11 days (not F, reopened).
    assert_eq!(s.fixed, 3);
    assert_eq!(
        s.days_to_fix,
        MedianDays {
            days: Some(6.0),
            count: 3
        }
    );

    // Three months by month: November is there, with nothing.
    let quarter = StatisticsQuery {
        window: Window::days(day(2026, 10, 1), day(2027, 1, 1)),
        period: Period::Month,
    };
    let s = repo.statistics(mapo.id, &quarter).await.expect("stats");
    assert_eq!(
        s.by_period,
        [
            (day(2026, 10, 1), 5),
            (day(2026, 11, 1), 0),
            (day(2026, 12, 1), 1)
        ]
    );
    // Two weeks from Monday 28 September: E (30 September in Korea) counts.
    let weeks = StatisticsQuery {
        window: Window::days(day(2026, 9, 28), day(2026, 10, 12)),
        period: Period::Week,
    };
    let s = repo.statistics(mapo.id, &weeks).await.expect("stats");
    assert_eq!(s.by_period, [(day(2026, 9, 28), 5), (day(2026, 10, 5), 1)]);
    assert_eq!(s.received, 6);
}

async fn an_empty_month_has_zeros_and_no_medians<
    R: StationStore + AccountStore + DeviceStore + ReportStore + StatisticsStore + ?Sized,
>(
    repo: &R,
) {
    let mapo = seeded(repo).await;
    let november = StatisticsQuery {
        window: Window::month(2026, 11).expect("month"),
        period: Period::Week,
    };
    let s = repo.statistics(mapo.id, &november).await.expect("stats");
    assert_eq!(s.received, 0);
    assert!(s.by_category.is_empty() && s.by_status.is_empty() && s.by_zone.is_empty());
    // The weeks touching November, from Monday 26 October, all empty.
    assert_eq!(s.by_period.len(), 6);
    assert_eq!(s.by_period[0], (day(2026, 10, 26), 0));
    assert!(s.by_period.iter().all(|(_, n)| *n == 0));
    assert_eq!((s.triaged, s.referred, s.fixed), (0, 0, 0));
    assert_eq!(s.days_to_triage, MedianDays::default());
    assert_eq!(s.days_to_fix, MedianDays::default());
    assert_eq!(
        pairs(&s.by_device),
        [("carrier-001", 0), ("carrier-002", 0), ("carrier-003", 0)]
    );
    assert_eq!(s.active_devices(), 0);
}
