//! The agency file `agency import` takes: TOML with `[[agency]]` tables (the
//! fields of the API's agency, less the API key) and, optionally,
//! `[[route]]` tables (the station's whole routing, in priority order). An
//! Open311 key never sits in the file: `api_key_env` names the environment
//! variable holding it. `data/seodaemun-agencies.toml` is the example.

use std::collections::BTreeMap;

use postcso_model::CategoryList;
use serde::Deserialize;

use super::Fault;
use super::fields::{AgencyDraft, RuleDraft, check_agency, check_rule};
use crate::repo::{NewAgency, NewRoutingRule, Zone};

/// Largest file taken, in bytes.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The agencies and routing rules of a file.
#[derive(Debug)]
pub struct AgencyFile {
    /// The agencies, in the file's order.
    pub agencies: Vec<NewAgency>,
    /// The routing, when the file has `[[route]]` tables (an empty list
    /// when it has `route = []`): it replaces the station's.
    pub rules: Option<Vec<NewRoutingRule>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    agency: Vec<FileAgency>,
    route: Option<Vec<RuleDraft>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileAgency {
    code: String,
    name_ko: String,
    name_en: String,
    kind: String,
    send_method: String,
    endpoint: Option<String>,
    jurisdiction_id: Option<String>,
    format: Option<String>,
    #[serde(default)]
    service_codes: BTreeMap<String, String>,
    /// The environment variable holding the Open311 API key.
    api_key_env: Option<String>,
    /// Refused with a word on what to do instead.
    api_key: Option<toml::Value>,
    #[serde(default)]
    emails: Vec<String>,
}

/// Reads a file's text: every fault at once (`/agency/2/emails/0`,
/// `/route/1/district`), or the agencies and rules to import. `env` looks up
/// the variables `api_key_env` names.
pub fn read(
    text: &str,
    categories: &CategoryList,
    zones: &[Zone],
    env: impl Fn(&str) -> Option<String>,
) -> Result<AgencyFile, Vec<Fault>> {
    let document: Document = toml::from_str(text).map_err(|e| {
        let place = e
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                format!("line {line}")
            })
            .unwrap_or_default();
        vec![Fault::new(place, e.message().to_owned())]
    })?;
    let mut faults = Vec::new();
    let mut agencies = Vec::with_capacity(document.agency.len());
    for (n, agency) in document.agency.into_iter().enumerate() {
        let prefix = format!("/agency/{n}");
        if agency.api_key.is_some() {
            faults.push(Fault::new(
                format!("{prefix}/api_key"),
                "keys do not go in the file: put the key in an environment variable and name it with api_key_env",
            ));
        }
        let api_key = match agency.api_key_env.as_deref() {
            None => None,
            Some(name) => match env(name) {
                Some(key) => Some(key),
                None => {
                    faults.push(Fault::new(
                        format!("{prefix}/api_key_env"),
                        format!("the environment variable `{name}` is not set"),
                    ));
                    None
                }
            },
        };
        let draft = AgencyDraft {
            code: agency.code,
            name_ko: agency.name_ko,
            name_en: agency.name_en,
            kind: agency.kind,
            send_method: agency.send_method,
            endpoint: agency.endpoint,
            jurisdiction_id: agency.jurisdiction_id,
            format: agency.format,
            service_codes: agency.service_codes,
            api_key,
            emails: agency.emails,
        };
        match check_agency(&draft, categories, &prefix) {
            Ok(agency) => agencies.push(agency),
            Err(mut f) => faults.append(&mut f),
        }
    }
    let rules = document.route.map(|routes| {
        routes
            .iter()
            .enumerate()
            .filter_map(|(n, rule)| {
                check_rule(rule, categories, zones, &format!("/route/{n}"))
                    .map_err(|mut f| faults.append(&mut f))
                    .ok()
            })
            .collect::<Vec<_>>()
    });
    if faults.is_empty() {
        Ok(AgencyFile { agencies, rules })
    } else {
        Err(faults)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postcso_model::{BUILTIN_CATEGORIES, CategoryCode, CategoryInfo};

    use crate::repo::{RuleArea, SendMethod};

    fn categories() -> CategoryList {
        CategoryList::new(
            BUILTIN_CATEGORIES
                .iter()
                .map(|(code, ko, en, guidance)| CategoryInfo {
                    code: CategoryCode::parse(code).expect("code"),
                    name_ko: (*ko).to_owned(),
                    name_en: (*en).to_owned(),
                    guidance: (*guidance).to_owned(),
                    retired: false,
                })
                .collect(),
        )
    }

    #[test]
    fn the_seodaemun_example_reads_with_real_categories() {
        let text = include_str!("../../data/seodaemun-agencies.toml");
        let file = read(text, &categories(), &[], |_| None).expect("reads");
        let codes: Vec<_> = file.agencies.iter().map(|a| a.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "seodaemun-gu-office",
                "seodaemun-post-office",
                "seodaemun-police"
            ]
        );
        assert!(
            file.agencies
                .iter()
                .all(|a| a.send_method == SendMethod::Manual)
        );
        let rules = file.rules.expect("routing");
        let summary: Vec<_> = rules
            .iter()
            .map(|r| {
                (
                    r.category.as_deref(),
                    r.area.clone(),
                    r.agency_code.as_str(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Some("safety_facility"),
                    RuleArea::District("11410".into()),
                    "seodaemun-gu-office"
                ),
                (Some("parcel_theft"), RuleArea::Any, "seodaemun-post-office"),
                (Some("crime_risk"), RuleArea::Any, "seodaemun-police"),
                (Some("resident_anxiety"), RuleArea::Any, "seodaemun-police"),
            ]
        );
    }

    #[test]
    fn keys_come_from_the_environment_and_faults_are_placed() {
        let text = r#"
[[agency]]
code = "gu"
name_ko = "구청"
name_en = "Office"
kind = "district_office"
send_method = "open311"
endpoint = "https://open311.example/v2"
api_key_env = "GU_KEY"

[[agency]]
code = "Bad Code"
name_ko = "우체국"
name_en = "Post"
kind = "post_office"
send_method = "manual"
api_key = "pasted"

[[route]]
category = "lights"
agency = "gu"
"#;
        let faults = read(text, &categories(), &[], |_| None).expect_err("refused");
        let pointers: Vec<_> = faults.iter().map(|f| f.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/agency/0/api_key_env",
                "/agency/1/api_key",
                "/agency/1/code",
                "/route/0/category"
            ]
        );
        let good = text
            .replace("Bad Code", "post")
            .replace("api_key = \"pasted\"\n", "")
            .replace("lights", "crime_risk");
        let file = read(&good, &categories(), &[], |name| {
            (name == "GU_KEY").then(|| "k-1".to_owned())
        })
        .expect("reads");
        let key = file.agencies[0]
            .open311
            .as_ref()
            .and_then(|o| o.api_key.as_ref());
        assert!(key.is_some());
        let broken =
            read("[[agency]]\ncode = 3\n", &categories(), &[], |_| None).expect_err("bad TOML");
        assert_eq!(broken[0].pointer, "line 2");
    }
}
