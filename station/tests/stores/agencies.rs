//! [`AgencyStore`]: agencies are added, changed and retired (never deleted)
//! with audit rows that never hold the API key, which no read returns;
//! routing rules are kept in priority order and the proposal takes the first
//! that matches; an import is all or nothing and idempotent.

use std::collections::BTreeMap;

use postcso_station::repo::agencies::propose;
use postcso_station::repo::{
    Actor, AgencyImportOutcome, AgencyKind, AgencyStore, AgencyUpdate, FeedStore, NewAgency,
    NewOpen311, NewRoutingRule, Open311Format, PlacedDistrict, Placement, RepoError, RuleArea,
    SendMethod, StationStore,
};
use secrecy::{ExposeSecret, SecretString};

use crate::{audit, audit_of, now, station};

contract_tests!(
    agencies_are_kept_with_their_secret_never_read_back,
    an_update_changes_what_it_names_and_a_retired_agency_is_kept_but_frozen,
    rules_are_kept_in_priority_order_and_the_first_match_proposes,
    an_import_is_all_or_nothing_and_idempotent,
);

const KEY: &str = "s3cr3t-open311-key-7f2b";

/// 서대문구청 as an Open311 agency with a key.
pub fn open311_agency(code: &str) -> NewAgency {
    NewAgency {
        code: code.to_owned(),
        name_ko: "서대문구청".to_owned(),
        name_en: "Seodaemun-gu Office".to_owned(),
        kind: AgencyKind::DistrictOffice,
        send_method: SendMethod::Open311,
        open311: Some(NewOpen311 {
            endpoint: "https://open311.example/v2".to_owned(),
            jurisdiction_id: Some("seodaemun.go.kr".to_owned()),
            format: Open311Format::Json,
            service_codes: BTreeMap::from([("safety_facility".to_owned(), "101".to_owned())]),
            api_key: Some(SecretString::from(KEY)),
        }),
        emails: Vec::new(),
    }
}

/// A manual agency.
pub fn manual_agency(code: &str, name_ko: &str, kind: AgencyKind) -> NewAgency {
    NewAgency {
        code: code.to_owned(),
        name_ko: name_ko.to_owned(),
        name_en: format!("{code} (en)"),
        kind,
        send_method: SendMethod::Manual,
        open311: None,
        emails: Vec::new(),
    }
}

async fn agencies_are_kept_with_their_secret_never_read_back<
    R: StationStore + AgencyStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    let other = station(repo, "mapo").await;
    let gu = repo
        .add_agency(s.id, open311_agency("gu-office"), Actor::console(), now())
        .await
        .expect("add");
    let open311 = gu.open311.as_ref().expect("open311 settings");
    assert!(open311.api_key_set);
    assert_eq!(open311.format, Open311Format::Json);
    assert_eq!(open311.service_codes["safety_facility"], "101");
    let shown = serde_json::to_string(&repo.agencies(s.id).await.expect("list")).expect("json");
    assert!(
        !shown.contains(KEY),
        "a listed agency holds no key: {shown}"
    );
    assert!(shown.contains("\"api_key_set\":true"), "{shown}");
    let key = repo
        .agency_api_key(s.id, gu.id)
        .await
        .expect("key")
        .expect("set");
    assert_eq!(key.expose_secret(), KEY, "the sender can read it");
    assert!(
        repo.agency_api_key(other.id, gu.id)
            .await
            .expect("other station")
            .is_none(),
        "never across stations"
    );
    assert!(repo.agencies(other.id).await.expect("other").is_empty());

    let again = repo
        .add_agency(s.id, open311_agency("gu-office"), Actor::console(), now())
        .await;
    assert!(matches!(again, Err(RepoError::Conflict(_))), "{again:?}");
    let mut no_address = manual_agency("post", "서대문우체국", AgencyKind::PostOffice);
    no_address.send_method = SendMethod::Email;
    assert!(matches!(
        repo.add_agency(s.id, no_address, Actor::console(), now()).await,
        Err(RepoError::Conflict(m)) if m.contains("address")
    ));

    let log = audit(repo, &s).await;
    let text = serde_json::to_string(&log).expect("json");
    assert!(!text.contains(KEY), "the audit log never holds the key");
    let added = audit_of(repo, &s, "agency.add").await;
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].target_id, "gu-office");
    assert_eq!(added[0].after.as_ref().expect("after")["api_key_set"], true);
}

async fn an_update_changes_what_it_names_and_a_retired_agency_is_kept_but_frozen<
    R: StationStore + AgencyStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    repo.add_agency(s.id, open311_agency("gu"), Actor::console(), now())
        .await
        .expect("add");
    let (same, changed) = repo
        .update_agency(s.id, "gu", AgencyUpdate::default(), Actor::console(), now())
        .await
        .expect("no-op");
    assert!(!changed);
    assert_eq!(same.name_ko, "서대문구청");
    let rekey = AgencyUpdate {
        api_key: Some(Some(SecretString::from("another-key"))),
        name_en: Some("Seodaemun District Office".into()),
        ..AgencyUpdate::default()
    };
    let (after, changed) = repo
        .update_agency(s.id, "gu", rekey, Actor::console(), now())
        .await
        .expect("update");
    assert!(changed);
    assert_eq!(after.name_en, "Seodaemun District Office");
    let key = repo.agency_api_key(s.id, after.id).await.expect("key");
    assert_eq!(
        key.map(|k| k.expose_secret().to_owned()).as_deref(),
        Some("another-key")
    );
    let updated = audit_of(repo, &s, "agency.update").await;
    let row = updated[0].after.as_ref().expect("after");
    assert_eq!(row["api_key_changed"], true);
    assert!(!row.to_string().contains("another-key"));

    let to_email = AgencyUpdate {
        send_method: Some(SendMethod::Email),
        emails: Some(vec!["lights@sdm.example".into()]),
        ..AgencyUpdate::default()
    };
    let (email, _) = repo
        .update_agency(s.id, "gu", to_email, Actor::console(), now())
        .await
        .expect("to email");
    assert_eq!(email.send_method, SendMethod::Email);
    assert!(
        email.open311.is_none(),
        "the old method's settings are dropped"
    );
    assert!(
        repo.agency_api_key(s.id, email.id)
            .await
            .expect("key")
            .is_none()
    );
    let to_manual_without = AgencyUpdate {
        emails: Some(Vec::new()),
        ..AgencyUpdate::default()
    };
    assert!(matches!(
        repo.update_agency(s.id, "gu", to_manual_without, Actor::console(), now())
            .await,
        Err(RepoError::Conflict(_))
    ));

    let (retired, first) = repo
        .retire_agency(s.id, "gu", Actor::console(), now())
        .await
        .expect("retire");
    assert!(first && retired.retired_at.is_some());
    let (_, again) = repo
        .retire_agency(s.id, "gu", Actor::console(), now())
        .await
        .expect("again");
    assert!(!again, "a repeat is a no-op");
    assert_eq!(repo.agencies(s.id).await.expect("list").len(), 1, "kept");
    let rename = AgencyUpdate {
        name_ko: Some("새 이름".into()),
        ..AgencyUpdate::default()
    };
    assert!(matches!(
        repo.update_agency(s.id, "gu", rename, Actor::console(), now())
            .await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(
        repo.update_agency(
            s.id,
            "nope",
            AgencyUpdate::default(),
            Actor::console(),
            now()
        )
        .await
        .map(|_| ()),
        Err(RepoError::NotFound("agency"))
    );
    assert_eq!(audit_of(repo, &s, "agency.retire").await.len(), 1);
}

fn placed(district: &str, zones: &[&str]) -> Placement {
    Placement {
        district: Some(PlacedDistrict {
            code: district.to_owned(),
            name: "서대문구".to_owned(),
        }),
        zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        ..Placement::default()
    }
}

async fn rules_are_kept_in_priority_order_and_the_first_match_proposes<
    R: StationStore + AgencyStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    for agency in [
        manual_agency("gu", "서대문구청", AgencyKind::DistrictOffice),
        manual_agency("post", "서대문우체국", AgencyKind::PostOffice),
        manual_agency("station", "서대문경찰서", AgencyKind::Police),
    ] {
        repo.add_agency(s.id, agency, Actor::console(), now())
            .await
            .expect("agency");
    }
    let rule = |priority: Option<u32>, category: Option<&str>, area: RuleArea, agency: &str| {
        NewRoutingRule {
            priority,
            category: category.map(str::to_owned),
            area,
            agency_code: agency.to_owned(),
        }
    };
    let add = |r: NewRoutingRule| repo.add_routing_rule(s.id, r, Actor::console(), now());
    let catch_all = add(rule(None, None, RuleArea::Any, "station"))
        .await
        .expect("catch-all");
    assert_eq!(catch_all.priority, 10, "the first rule without a priority");
    add(rule(Some(5), Some("parcel_theft"), RuleArea::Any, "post"))
        .await
        .expect("post");
    add(rule(
        Some(1),
        Some("safety_facility"),
        RuleArea::District("11410".into()),
        "gu",
    ))
    .await
    .expect("gu");
    assert!(matches!(
        add(rule(Some(5), None, RuleArea::Any, "gu")).await,
        Err(RepoError::Conflict(_))
    ));
    assert_eq!(
        add(rule(None, None, RuleArea::Any, "nobody"))
            .await
            .map(|_| ()),
        Err(RepoError::NotFound("agency"))
    );
    let rules = repo.routing_rules(s.id).await.expect("rules");
    let order: Vec<_> = rules
        .iter()
        .map(|r| (r.priority, r.agency_code.as_str()))
        .collect();
    assert_eq!(order, [(1, "gu"), (5, "post"), (10, "station")]);
    let agencies = repo.agencies(s.id).await.expect("agencies");
    let pick = |category: &str, p: &Placement| {
        propose(&rules, &agencies, category, Some(p)).map(|(a, _)| a.code.clone())
    };
    assert_eq!(
        pick("safety_facility", &placed("11410", &[])).as_deref(),
        Some("gu")
    );
    assert_eq!(
        pick("safety_facility", &placed("11440", &[])).as_deref(),
        Some("station")
    );
    assert_eq!(
        pick("parcel_theft", &placed("11440", &[])).as_deref(),
        Some("post")
    );

    repo.retire_agency(s.id, "post", Actor::console(), now())
        .await
        .expect("retire");
    let agencies = repo.agencies(s.id).await.expect("agencies");
    assert_eq!(
        propose(
            &rules,
            &agencies,
            "parcel_theft",
            Some(&placed("11410", &[]))
        )
        .map(|(a, _)| a.code.clone())
        .as_deref(),
        Some("station"),
        "a retired agency is never proposed"
    );
    assert!(matches!(
        add(rule(Some(50), None, RuleArea::Any, "post")).await,
        Err(RepoError::Conflict(_))
    ));

    let removed = repo
        .remove_routing_rule(s.id, catch_all.id, Actor::console(), now())
        .await
        .expect("remove");
    assert_eq!(removed.agency_code, "station");
    assert_eq!(
        repo.remove_routing_rule(s.id, catch_all.id, Actor::console(), now())
            .await
            .map(|_| ()),
        Err(RepoError::NotFound("routing rule"))
    );
    assert_eq!(repo.routing_rules(s.id).await.expect("rules").len(), 2);
    assert_eq!(audit_of(repo, &s, "routing_rule.add").await.len(), 3);
    let gone = audit_of(repo, &s, "routing_rule.remove").await;
    assert_eq!(
        gone[0].before.as_ref().expect("before")["agency"],
        "station"
    );
}

async fn an_import_is_all_or_nothing_and_idempotent<
    R: StationStore + AgencyStore + FeedStore + ?Sized,
>(
    repo: &R,
) {
    let s = station(repo, "seodaemun").await;
    let agencies = || {
        vec![
            open311_agency("gu"),
            manual_agency("station", "서대문경찰서", AgencyKind::Police),
        ]
    };
    let rules = || {
        vec![
            NewRoutingRule {
                priority: None,
                category: Some("safety_facility".into()),
                area: RuleArea::District("11410".into()),
                agency_code: "gu".into(),
            },
            NewRoutingRule {
                priority: None,
                category: Some("crime_risk".into()),
                area: RuleArea::Any,
                agency_code: "station".into(),
            },
        ]
    };
    let first = repo
        .import_agencies(s.id, agencies(), Some(rules()), Actor::console(), now())
        .await
        .expect("import");
    assert_eq!(
        first.agencies,
        [
            ("gu".to_owned(), AgencyImportOutcome::Added),
            ("station".to_owned(), AgencyImportOutcome::Added)
        ]
    );
    assert!(first.rules_replaced);
    assert_eq!(first.rules, 2);
    let audit_rows = audit(repo, &s).await.len();

    let mut keyless = agencies();
    if let Some(o) = keyless[0].open311.as_mut() {
        o.api_key = None;
    }
    let again = repo
        .import_agencies(s.id, keyless, Some(rules()), Actor::console(), now())
        .await
        .expect("again");
    assert!(
        again
            .agencies
            .iter()
            .all(|(_, o)| *o == AgencyImportOutcome::Unchanged),
        "{again:?}"
    );
    assert!(!again.rules_replaced);
    assert_eq!(audit(repo, &s).await.len(), audit_rows, "nothing written");
    let gu = repo.agencies(s.id).await.expect("list")[0].clone();
    assert!(
        repo.agency_api_key(s.id, gu.id)
            .await
            .expect("key")
            .is_some(),
        "an import without a key keeps the stored one"
    );

    let mut broken = rules();
    broken.push(NewRoutingRule {
        priority: None,
        category: None,
        area: RuleArea::Any,
        agency_code: "nobody".into(),
    });
    let mut renamed = agencies();
    renamed[1].name_ko = "바뀐 이름".into();
    let refused = repo
        .import_agencies(s.id, renamed, Some(broken), Actor::console(), now())
        .await;
    assert_eq!(refused, Err(RepoError::NotFound("agency")));
    let stored = repo.agencies(s.id).await.expect("list");
    assert_eq!(stored[1].name_ko, "서대문경찰서", "nothing changed");
    assert_eq!(audit(repo, &s).await.len(), audit_rows);
    let twice = vec![open311_agency("gu"), open311_agency("gu")];
    assert!(matches!(
        repo.import_agencies(s.id, twice, None, Actor::console(), now())
            .await,
        Err(RepoError::Conflict(_))
    ));
}
