//! The rules of an agency's and a routing rule's fields. Each check returns
//! every fault at once, placed by JSON pointer under the caller's prefix
//! (`""` for an API body, `/agency/2` for the third agency of a file).

use std::collections::BTreeMap;

use email_address::EmailAddress;
use postcso_model::{CategoryCode, CategoryList};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::Fault;
use crate::geo::Districts;
use crate::repo::{
    AgencyKind, AgencyUpdate, NewAgency, NewOpen311, NewRoutingRule, Open311Format, RuleArea,
    SendMethod, Zone,
};

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest endpoint URL, `jurisdiction_id`, `service_code` or API key.
pub const MAX_SETTING_CHARS: usize = 500;
/// Most e-mail addresses of one agency.
pub const MAX_EMAILS: usize = 10;

/// An agency as given: every field as text, checked by [`check_agency`].
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyDraft {
    /// 1-40 lowercase letters, digits, `-` or `_`; unique in the station, forever.
    #[schema(example = "seodaemun-gu-office")]
    pub code: String,
    /// Korean name, 1-100 characters: what the carrier is told.
    #[schema(example = "서대문구청")]
    pub name_ko: String,
    /// English name, 1-100 characters.
    #[schema(example = "Seodaemun-gu Office")]
    pub name_en: String,
    /// `district_office`, `city`, `post_office`, `police` or `other`.
    #[schema(example = "district_office")]
    pub kind: String,
    /// `open311`, `email` or `manual`.
    #[schema(example = "manual")]
    pub send_method: String,
    /// Open311 only (required): the GeoReport v2 base URL, `http` or `https`.
    pub endpoint: Option<String>,
    /// Open311 only: the `jurisdiction_id` the server wants.
    pub jurisdiction_id: Option<String>,
    /// Open311 only: `xml` (default) or `json`.
    pub format: Option<String>,
    /// Open311 only: our category codes → the agency's `service_code`s.
    #[serde(default)]
    pub service_codes: BTreeMap<String, String>,
    /// Open311 only: the API key. Write-only: never shown again.
    pub api_key: Option<String>,
    /// E-mail only (at least one, at most 10): where the referral packet goes.
    #[serde(default)]
    pub emails: Vec<String>,
}

/// Changes to an agency as given: only the fields present change; for
/// `jurisdiction_id` and `api_key`, `null` clears.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgencyPatch {
    /// New Korean name.
    pub name_ko: Option<String>,
    /// New English name.
    pub name_en: Option<String>,
    /// New kind.
    pub kind: Option<String>,
    /// New send method; the old method's settings are dropped.
    pub send_method: Option<String>,
    /// New Open311 endpoint.
    pub endpoint: Option<String>,
    /// New `jurisdiction_id`; `null` clears it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub jurisdiction_id: Option<Option<String>>,
    /// New answer format.
    pub format: Option<String>,
    /// The complete new service-code map.
    pub service_codes: Option<BTreeMap<String, String>>,
    /// A new API key (write-only); `null` removes the stored one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub api_key: Option<Option<String>>,
    /// The complete new list of addresses.
    pub emails: Option<Vec<String>>,
}

/// A present field (even `null`) as `Some`, so an absent one stays `None`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A routing rule as given, checked by [`check_rule`].
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDraft {
    /// Lower is tried first; after the last rule when absent.
    pub priority: Option<u32>,
    /// A category code of the station; any category when absent.
    #[schema(example = "safety_facility")]
    pub category: Option<String>,
    /// A 5-digit 시군구 code the station places reports in, e.g. `11410`.
    #[schema(example = "11410")]
    pub district: Option<String>,
    /// A zone code of the station (instead of a district).
    pub zone: Option<String>,
    /// The agency's code.
    #[schema(example = "seodaemun-gu-office")]
    pub agency: String,
}

/// Codes of agencies: the shape zone codes and station slugs have.
pub fn check_code(raw: &str) -> Result<String, String> {
    let ok = (1..=40).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err("use 1-40 lowercase letters, digits, '-' or '_'".to_owned())
    }
}

/// A one-line text of 1 to `max` characters without control characters.
fn check_line(raw: &str, max: usize) -> Result<String, String> {
    let text = raw.trim();
    let chars = text.chars().count();
    if chars == 0 || chars > max {
        return Err(format!("must be 1-{max} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("no control characters".to_owned());
    }
    Ok(text.to_owned())
}

/// An Open311 endpoint: an absolute `http` or `https` URL with a host, no
/// credentials, no query or fragment (the client appends `requests.json`).
pub fn check_endpoint(raw: &str) -> Result<String, String> {
    let text = check_line(raw, MAX_SETTING_CHARS)?;
    let url = url::Url::parse(&text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("must be an http or https URL with a host".to_owned());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold credentials (give the API key on its own)".to_owned());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".to_owned());
    }
    Ok(text)
}

/// An e-mail address as RFC 5322 allows it in an `addr-spec`, with a domain
/// that has a dot (no mail to a bare host name), lower-cased domain.
pub fn check_email(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let address: EmailAddress = text
        .parse()
        .map_err(|e| format!("not an e-mail address: {e}"))?;
    let domain = address.domain();
    if !domain.contains('.') || domain.starts_with('[') {
        return Err("the domain must be a host name with a dot".to_owned());
    }
    Ok(format!(
        "{}@{}",
        address.local_part(),
        domain.to_lowercase()
    ))
}

/// The list of addresses: 1 to [`MAX_EMAILS`] (when `required`), each valid,
/// none twice.
fn check_emails(raw: &[String], pointer: &str, faults: &mut Vec<Fault>) -> Vec<String> {
    if raw.len() > MAX_EMAILS {
        faults.push(Fault::new(
            pointer,
            format!("at most {MAX_EMAILS} addresses"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (n, address) in raw.iter().enumerate() {
        match check_email(address) {
            Ok(a) if out.iter().any(|o| o.eq_ignore_ascii_case(&a)) => {
                faults.push(Fault::new(format!("{pointer}/{n}"), "listed twice"));
            }
            Ok(a) => out.push(a),
            Err(e) => faults.push(Fault::new(format!("{pointer}/{n}"), e)),
        }
    }
    out
}

/// The service-code map: keys are category codes of the station, values
/// the agency's codes (integers or strings, as servers have them).
fn check_service_codes(
    raw: &BTreeMap<String, String>,
    categories: &CategoryList,
    pointer: &str,
    faults: &mut Vec<Fault>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (category, code) in raw {
        let at = format!("{pointer}/{category}");
        if CategoryCode::parse(category).is_err() || categories.get(category).is_none() {
            faults.push(Fault::new(&at, "not a category code of this station"));
            continue;
        }
        match check_line(code, MAX_SETTING_CHARS) {
            Ok(code) => {
                out.insert(category.clone(), code);
            }
            Err(e) => faults.push(Fault::new(at, e)),
        }
    }
    out
}

fn parse_kind(raw: &str) -> Result<AgencyKind, String> {
    AgencyKind::parse(raw.trim()).ok_or_else(|| format!("must be one of {}", AgencyKind::choices()))
}

fn parse_method(raw: &str) -> Result<SendMethod, String> {
    SendMethod::parse(raw.trim()).ok_or_else(|| format!("must be one of {}", SendMethod::choices()))
}

fn parse_format(raw: &str) -> Result<Open311Format, String> {
    Open311Format::parse(raw.trim())
        .ok_or_else(|| format!("must be one of {}", Open311Format::choices()))
}

/// Records the fault of a checked field, if any, and keeps its value.
fn field<T>(faults: &mut Vec<Fault>, pointer: String, checked: Result<T, String>) -> Option<T> {
    checked
        .map_err(|e| faults.push(Fault::new(pointer, e)))
        .ok()
}

/// A whole agency: each field's rules, and that a send method's settings
/// are given for it and for no other (an `endpoint` on an e-mail agency is
/// a mistake, not something to drop quietly).
pub fn check_agency(
    draft: &AgencyDraft,
    categories: &CategoryList,
    prefix: &str,
) -> Result<NewAgency, Vec<Fault>> {
    let mut faults = Vec::new();
    let at = |name: &str| format!("{prefix}/{name}");
    let code = field(&mut faults, at("code"), check_code(&draft.code));
    let name_ko = field(
        &mut faults,
        at("name_ko"),
        check_line(&draft.name_ko, MAX_NAME_CHARS),
    );
    let name_en = field(
        &mut faults,
        at("name_en"),
        check_line(&draft.name_en, MAX_NAME_CHARS),
    );
    let kind = field(&mut faults, at("kind"), parse_kind(&draft.kind));
    let method = field(
        &mut faults,
        at("send_method"),
        parse_method(&draft.send_method),
    );
    let is_open311 = method == Some(SendMethod::Open311);
    let is_email = method == Some(SendMethod::Email);
    let only_open311 = "only for send_method open311";
    for (name, given) in [
        ("endpoint", draft.endpoint.is_some()),
        ("jurisdiction_id", draft.jurisdiction_id.is_some()),
        ("format", draft.format.is_some()),
        ("service_codes", !draft.service_codes.is_empty()),
        ("api_key", draft.api_key.is_some()),
    ] {
        if given && method.is_some() && !is_open311 {
            faults.push(Fault::new(at(name), only_open311));
        }
    }
    if !draft.emails.is_empty() && method.is_some() && !is_email {
        faults.push(Fault::new(at("emails"), "only for send_method email"));
    }
    let open311 = if is_open311 {
        let endpoint = match &draft.endpoint {
            Some(e) => field(&mut faults, at("endpoint"), check_endpoint(e)),
            None => {
                faults.push(Fault::new(
                    at("endpoint"),
                    "an open311 agency needs an endpoint",
                ));
                None
            }
        };
        let jurisdiction_id = draft.jurisdiction_id.as_deref().and_then(|j| {
            field(
                &mut faults,
                at("jurisdiction_id"),
                check_line(j, MAX_SETTING_CHARS),
            )
        });
        let format = match &draft.format {
            Some(f) => field(&mut faults, at("format"), parse_format(f)),
            None => Some(Open311Format::Xml),
        };
        let service_codes = check_service_codes(
            &draft.service_codes,
            categories,
            &at("service_codes"),
            &mut faults,
        );
        let api_key = draft.api_key.as_deref().and_then(|k| {
            field(&mut faults, at("api_key"), check_secret(k)).map(SecretString::from)
        });
        endpoint.zip(format).map(|(endpoint, format)| NewOpen311 {
            endpoint,
            jurisdiction_id,
            format,
            service_codes,
            api_key,
        })
    } else {
        None
    };
    let emails = if is_email {
        if draft.emails.is_empty() {
            faults.push(Fault::new(
                at("emails"),
                "an email agency needs at least one address",
            ));
        }
        check_emails(&draft.emails, &at("emails"), &mut faults)
    } else {
        Vec::new()
    };
    match (code, name_ko, name_en, kind, method) {
        (Some(code), Some(name_ko), Some(name_en), Some(kind), Some(send_method))
            if faults.is_empty() =>
        {
            Ok(NewAgency {
                code,
                name_ko,
                name_en,
                kind,
                send_method,
                open311,
                emails,
            })
        }
        _ => Err(faults),
    }
}

/// An API key: 1-500 characters, none of them blank or control characters
/// (keys are tokens; a pasted line break is a mistake).
pub fn check_secret(raw: &str) -> Result<String, String> {
    let key = raw.trim();
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_SETTING_CHARS {
        return Err(format!("must be 1-{MAX_SETTING_CHARS} characters"));
    }
    if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("no blanks or control characters".to_owned());
    }
    Ok(key.to_owned())
}

/// Changes to an agency: each present field's rules. Whether the result
/// fits together (a method's settings given) is decided by the store on the
/// merged agency.
pub fn check_update(
    patch: &AgencyPatch,
    categories: &CategoryList,
) -> Result<AgencyUpdate, Vec<Fault>> {
    let mut faults = Vec::new();
    let mut checked =
        |name: &str, r: Result<String, String>| field(&mut faults, format!("/{name}"), r);
    let name_ko = patch
        .name_ko
        .as_deref()
        .and_then(|n| checked("name_ko", check_line(n, MAX_NAME_CHARS)));
    let name_en = patch
        .name_en
        .as_deref()
        .and_then(|n| checked("name_en", check_line(n, MAX_NAME_CHARS)));
    let endpoint = patch
        .endpoint
        .as_deref()
        .and_then(|e| checked("endpoint", check_endpoint(e)));
    let jurisdiction_id = match &patch.jurisdiction_id {
        None => None,
        Some(None) => Some(None),
        Some(Some(j)) if j.trim().is_empty() => Some(None),
        Some(Some(j)) => checked("jurisdiction_id", check_line(j, MAX_SETTING_CHARS)).map(Some),
    };
    let api_key = match &patch.api_key {
        None => None,
        Some(None) => Some(None),
        Some(Some(k)) => checked("api_key", check_secret(k)).map(|k| Some(SecretString::from(k))),
    };
    let kind = patch
        .kind
        .as_deref()
        .and_then(|k| field(&mut faults, "/kind".into(), parse_kind(k)));
    let send_method = patch
        .send_method
        .as_deref()
        .and_then(|m| field(&mut faults, "/send_method".into(), parse_method(m)));
    let format = patch
        .format
        .as_deref()
        .and_then(|f| field(&mut faults, "/format".into(), parse_format(f)));
    let service_codes = patch
        .service_codes
        .as_ref()
        .map(|codes| check_service_codes(codes, categories, "/service_codes", &mut faults));
    let emails = patch
        .emails
        .as_ref()
        .map(|list| check_emails(list, "/emails", &mut faults));
    if faults.is_empty() {
        Ok(AgencyUpdate {
            name_ko,
            name_en,
            kind,
            send_method,
            endpoint,
            jurisdiction_id,
            format,
            service_codes,
            api_key,
            emails,
        })
    } else {
        Err(faults)
    }
}

/// A routing rule: a category of the station (or any), a district the
/// station places reports in (or a zone of the station, not both, or
/// anywhere), and the agency's code (checked by the store).
pub fn check_rule(
    draft: &RuleDraft,
    categories: &CategoryList,
    zones: &[Zone],
    prefix: &str,
) -> Result<NewRoutingRule, Vec<Fault>> {
    let mut faults = Vec::new();
    let at = |name: &str| format!("{prefix}/{name}");
    let blank = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let category = blank(&draft.category);
    if let Some(c) = &category
        && categories.get(c).is_none()
    {
        faults.push(Fault::new(
            at("category"),
            "not a category code of this station",
        ));
    }
    let area = match (blank(&draft.district), blank(&draft.zone)) {
        (Some(_), Some(_)) => {
            faults.push(Fault::new(
                at("zone"),
                "give a district or a zone, not both",
            ));
            RuleArea::Any
        }
        (Some(d), None) => {
            if Districts::seoul().by_code(&d).is_none() {
                faults.push(Fault::new(
                    at("district"),
                    "not a district the station knows (a 5-digit 시군구 code such as 11410)",
                ));
            }
            RuleArea::District(d)
        }
        (None, Some(z)) => {
            if !zones
                .iter()
                .any(|zone| zone.code == z && zone.retired_at.is_none())
            {
                faults.push(Fault::new(at("zone"), "not a zone of this station"));
            }
            RuleArea::Zone(z)
        }
        (None, None) => RuleArea::Any,
    };
    let agency = field(&mut faults, at("agency"), check_code(draft.agency.trim()));
    match agency {
        Some(agency_code) if faults.is_empty() => Ok(NewRoutingRule {
            priority: draft.priority,
            category,
            area,
            agency_code,
        }),
        _ => Err(faults),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use postcso_model::{BUILTIN_CATEGORIES, CategoryInfo};

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

    fn draft(method: &str) -> AgencyDraft {
        AgencyDraft {
            code: "gu".into(),
            name_ko: "서대문구청".into(),
            name_en: "Seodaemun-gu Office".into(),
            kind: "district_office".into(),
            send_method: method.into(),
            ..AgencyDraft::default()
        }
    }

    fn pointers(faults: &[Fault]) -> Vec<&str> {
        faults.iter().map(|f| f.pointer.as_str()).collect()
    }

    #[test]
    fn each_method_takes_its_own_settings_and_no_other() {
        assert!(check_agency(&draft("manual"), &categories(), "").is_ok());
        let mut email = draft("email");
        email.endpoint = Some("https://x.example".into());
        let faults = check_agency(&email, &categories(), "/agency/1").expect_err("refused");
        assert_eq!(
            pointers(&faults),
            ["/agency/1/endpoint", "/agency/1/emails"]
        );
        email.endpoint = None;
        email.emails = vec![
            "Lights@Seodaemun.GO.KR".into(),
            "lights@seodaemun.go.kr".into(),
            "not an address".into(),
            "root@localhost".into(),
        ];
        let faults = check_agency(&email, &categories(), "").expect_err("refused");
        assert_eq!(pointers(&faults), ["/emails/1", "/emails/2", "/emails/3"]);
        email.emails.truncate(1);
        let ok = check_agency(&email, &categories(), "").expect("valid");
        assert_eq!(ok.emails, ["Lights@seodaemun.go.kr"]);

        let mut open311 = draft("open311");
        open311.endpoint = Some("ftp://x.example".into());
        open311.service_codes = BTreeMap::from([
            ("safety_facility".into(), "101".into()),
            ("no_such".into(), "9".into()),
        ]);
        open311.api_key = Some("two words".into());
        let faults = check_agency(&open311, &categories(), "").expect_err("refused");
        assert_eq!(
            pointers(&faults),
            ["/endpoint", "/service_codes/no_such", "/api_key"]
        );
        open311.endpoint = Some("https://user:pw@x.example/v2".into());
        assert!(check_agency(&open311, &categories(), "").is_err());
        open311.endpoint = Some("https://open311.seodaemun.example/v2/".into());
        open311.service_codes.remove("no_such");
        open311.api_key = Some(" key-123 ".into());
        let ok = check_agency(&open311, &categories(), "").expect("valid");
        let settings = ok.open311.expect("settings");
        assert_eq!(settings.format, Open311Format::Xml, "XML by default");
        assert_eq!(settings.service_codes["safety_facility"], "101");
    }

    #[test]
    fn a_rule_names_known_categories_and_places() {
        let rule = RuleDraft {
            category: Some("safety_facility".into()),
            district: Some("11410".into()),
            agency: "gu".into(),
            ..RuleDraft::default()
        };
        let ok = check_rule(&rule, &categories(), &[], "").expect("valid");
        assert_eq!(ok.area, RuleArea::District("11410".into()));
        let bad = RuleDraft {
            category: Some("lights".into()),
            district: Some("99999".into()),
            zone: Some("z".into()),
            agency: "Gu Office".into(),
            ..RuleDraft::default()
        };
        let faults = check_rule(&bad, &categories(), &[], "/route/0").expect_err("refused");
        assert_eq!(
            pointers(&faults),
            ["/route/0/category", "/route/0/zone", "/route/0/agency"]
        );
        let anywhere = RuleDraft {
            category: Some(" ".into()),
            agency: "station".into(),
            ..RuleDraft::default()
        };
        let ok = check_rule(&anywhere, &categories(), &[], "").expect("valid");
        assert_eq!((ok.category, ok.area), (None, RuleArea::Any));
    }
}
