use super::*;
use crate::repo::PlacedDistrict;

fn agency(code: &str, method: SendMethod) -> Agency {
    let at = Utc::now();
    Agency {
        id: Uuid::now_v7(),
        code: code.to_owned(),
        name_ko: "서대문구청".to_owned(),
        name_en: "Seodaemun-gu Office".to_owned(),
        kind: AgencyKind::DistrictOffice,
        send_method: method,
        open311: None,
        emails: Vec::new(),
        created_at: at,
        updated_at: at,
        retired_at: None,
    }
}

fn rule(priority: u32, category: Option<&str>, area: RuleArea, agency: &Agency) -> RoutingRule {
    RoutingRule {
        id: Uuid::now_v7(),
        priority,
        category: category.map(str::to_owned),
        area,
        agency_id: agency.id,
        agency_code: agency.code.clone(),
        created_at: Utc::now(),
    }
}

fn placed(district: &str, zones: &[&str]) -> Placement {
    Placement {
        district: Some(PlacedDistrict {
            code: district.to_owned(),
            name: "구".to_owned(),
        }),
        zones: zones.iter().map(|z| (*z).to_owned()).collect(),
        ..Placement::default()
    }
}

#[test]
fn the_first_matching_rule_by_priority_proposes_and_open_fields_match_anything() {
    let gu = agency("gu", SendMethod::Manual);
    let post = agency("post", SendMethod::Manual);
    let police = agency("police", SendMethod::Manual);
    let agencies = vec![gu.clone(), post.clone(), police.clone()];
    let rules = vec![
        rule(
            10,
            Some("safety_facility"),
            RuleArea::District("11410".into()),
            &gu,
        ),
        rule(20, Some("parcel_theft"), RuleArea::Any, &post),
        rule(30, None, RuleArea::Zone("dark-alley".into()), &police),
    ];
    let inside = placed("11410", &["dark-alley"]);
    let outside = placed("11440", &[]);
    let pick = |category: &str, p: Option<&Placement>| {
        propose(&rules, &agencies, category, p).map(|(a, r)| (a.code.clone(), r.priority))
    };
    assert_eq!(
        pick("safety_facility", Some(&inside)),
        Some(("gu".into(), 10))
    );
    assert_eq!(
        pick("safety_facility", Some(&outside)),
        None,
        "another district"
    );
    assert_eq!(
        pick("parcel_theft", Some(&outside)),
        Some(("post".into(), 20))
    );
    assert_eq!(
        pick("crime_risk", Some(&inside)),
        Some(("police".into(), 30))
    );
    assert_eq!(
        pick("crime_risk", None),
        None,
        "an unplaced report is in no zone"
    );
    let mut retired = agencies.clone();
    retired[0].retired_at = Some(Utc::now());
    assert_eq!(
        propose(&rules, &retired, "safety_facility", Some(&inside)).map(|(a, _)| a.code.clone()),
        Some("police".into()),
        "a retired agency's rule is passed over"
    );
}

#[test]
fn fields_of_other_methods_are_dropped_and_each_method_needs_its_own() {
    let fields = AgencyFields {
        name_ko: "구청".into(),
        name_en: "Office".into(),
        kind: AgencyKind::DistrictOffice,
        send_method: SendMethod::Email,
        endpoint: Some("https://x.example/open311/v2".into()),
        jurisdiction_id: Some("j".into()),
        format: Some(Open311Format::Json),
        service_codes: BTreeMap::from([("a".into(), "1".into())]),
        api_key: Some(SecretString::from("k")),
        emails: vec![],
    }
    .normalised();
    assert!(fields.endpoint.is_none() && fields.api_key.is_none() && fields.format.is_none());
    assert_eq!(fields.check(), Err(AgencyRuleError::NeedsAddress));
    let open311 = AgencyFields {
        send_method: SendMethod::Open311,
        emails: vec!["a@b.example".into()],
        ..fields
    }
    .normalised();
    assert!(open311.emails.is_empty());
    assert_eq!(open311.format, Some(Open311Format::Xml), "XML by default");
    assert_eq!(open311.check(), Err(AgencyRuleError::NeedsEndpoint));
}

#[test]
fn an_update_that_changes_nothing_is_none_and_a_new_key_is_a_change() {
    let before = agency("gu", SendMethod::Manual);
    assert!(
        AgencyUpdate::default()
            .applied_to(&before, None)
            .expect("applies")
            .is_none()
    );
    let same = AgencyUpdate {
        name_ko: Some("서대문구청".into()),
        ..AgencyUpdate::default()
    };
    assert!(same.applied_to(&before, None).expect("applies").is_none());
    let mut open311 = before.clone();
    open311.send_method = SendMethod::Open311;
    open311.open311 = Some(Open311Settings {
        endpoint: "https://x.example".into(),
        jurisdiction_id: None,
        format: Open311Format::Json,
        service_codes: BTreeMap::new(),
        api_key_set: true,
    });
    let rekey = AgencyUpdate {
        api_key: Some(Some(SecretString::from("new"))),
        ..AgencyUpdate::default()
    };
    let after = rekey
        .applied_to(&open311, Some(SecretString::from("old")))
        .expect("applies")
        .expect("changed");
    assert_eq!(after.api_key_text().as_deref(), Some("new"));
    let again = AgencyUpdate {
        api_key: Some(Some(SecretString::from("old"))),
        ..AgencyUpdate::default()
    };
    assert!(
        again
            .applied_to(&open311, Some(SecretString::from("old")))
            .expect("applies")
            .is_none()
    );
}

#[test]
fn rules_without_a_priority_follow_the_last() {
    let gu = agency("gu", SendMethod::Manual);
    assert_eq!(next_priority(&[]), PRIORITY_STEP);
    let rules = vec![rule(35, None, RuleArea::Any, &gu)];
    assert_eq!(next_priority(&rules), 45);
    let mut new = vec![
        NewRoutingRule {
            priority: None,
            category: None,
            area: RuleArea::Any,
            agency_code: "gu".into(),
        };
        3
    ];
    new[1].priority = Some(15);
    number_rules(&mut new);
    let priorities: Vec<_> = new.iter().map(|r| r.priority).collect();
    assert_eq!(priorities, [Some(10), Some(15), Some(25)]);
    assert_eq!(
        AgencyKind::choices(),
        "district_office, city, post_office, police or other"
    );
}
