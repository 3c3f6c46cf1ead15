//! Referral end to end: a real phone core files a report, an admin loads the
//! Seodaemun agencies with the real CLI, a supervisor refers the report to
//! the agency the routing rules propose and later records the agency's
//! "fixed"; the phone's sync brings back both steps, each with the line the
//! carrier reads.

use std::time::Duration;

use postcso_core::model::ReviewStatus;
use postcso_core::sync::{NetworkState, StopReason, SyncEvent};
use postcso_tests::phone::Phone;
use postcso_tests::station::Station;
use serde_json::{Value, json};

const BUDGET: Duration = Duration::from_secs(30);
const AGENCIES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../station/data/seodaemun-agencies.toml"
);

fn post(station: &Station, session: &str, path: &str, body: Value) -> Value {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}{path}", station.url()))
        .bearer_auth(session)
        .json(&body)
        .send()
        .expect("request");
    let status = response.status();
    let text = response.text().expect("body");
    assert_eq!(status.as_u16(), 201, "{path}: {text}");
    serde_json::from_str(&text).expect("json")
}

#[test]
fn a_referral_and_the_agencys_fix_reach_the_carriers_phone() {
    let station = Station::start();
    let imported = station.admin(&["agency", "import", "--station", "seodaemun", AGENCIES]);
    assert!(imported.contains("3 added"), "{imported}");
    let codes = station.enrolment_codes(1);
    let phone = Phone::new(&station.url(), Some(&codes[0].code));
    phone.engine.set_network_state(NetworkState::OFFLINE);
    let id = phone.file_report(7, &[]);
    phone.engine.set_network_state(NetworkState::UNMETERED);
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);

    let session = station.supervisor_session("kim");
    let referred = post(
        &station,
        &session,
        &format!("v1/reports/{id}/referrals"),
        json!({"text": "보안등 2기 소등. 교체를 요청합니다."}),
    );
    assert_eq!(
        referred["referral"]["agency"]["code"], "seodaemun-gu-office",
        "a safety facility in 서대문구 goes to the 구청"
    );
    assert_eq!(referred["referral"]["delivery"], "manual");
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    let report = phone.queue.get(id).expect("report");
    assert_eq!(report.review_status, Some(ReviewStatus::Referred));
    assert_eq!(
        report.server_message.as_deref(),
        Some("서대문구청에 이관되었습니다")
    );

    let referral = referred["referral"]["id"].as_str().expect("id");
    let fixed = post(
        &station,
        &session,
        &format!("v1/referrals/{referral}/answers"),
        json!({"answer": "fixed", "note": "보안등 교체", "answered_on": "2026-12-05"}),
    );
    assert_eq!(fixed["report"]["status"], "fixed");
    assert_eq!(phone.engine.sync_now(BUDGET).stop, StopReason::Drained);
    let report = phone.queue.get(id).expect("report");
    assert_eq!(report.review_status, Some(ReviewStatus::Fixed));
    assert_eq!(
        report.server_message.as_deref(),
        Some("12월 5일 조치 완료: 보안등 교체")
    );
    let events = phone.events.events();
    for status in [ReviewStatus::Referred, ReviewStatus::Fixed] {
        assert!(
            events.contains(&SyncEvent::ReviewStatus {
                id,
                status: status.clone()
            }),
            "the phone was told of {status:?}"
        );
    }
}
