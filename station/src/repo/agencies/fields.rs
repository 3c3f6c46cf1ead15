//! An agency's fields: the rules they must keep together on every add,
//! update and import, and how a stored agency reads back.

use super::*;

/// Why an agency's fields do not fit together: checked on every add, update
/// and import, on the merged result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AgencyRuleError {
    /// `open311` without an endpoint.
    #[error("an open311 agency needs an endpoint")]
    NeedsEndpoint,
    /// `email` without an address.
    #[error("an email agency needs at least one address")]
    NeedsAddress,
}

impl AgencyRuleError {
    /// The field the fault is reported on.
    pub fn field(self) -> &'static str {
        match self {
            Self::NeedsEndpoint => "endpoint",
            Self::NeedsAddress => "emails",
        }
    }
}

/// An agency's stored fields apart from its id, code and times: what an
/// add, an update or an import leaves, secret included.
#[derive(Debug, Clone)]
pub(crate) struct AgencyFields {
    pub name_ko: String,
    pub name_en: String,
    pub kind: AgencyKind,
    pub send_method: SendMethod,
    pub endpoint: Option<String>,
    pub jurisdiction_id: Option<String>,
    pub format: Option<Open311Format>,
    pub service_codes: BTreeMap<String, String>,
    pub api_key: Option<SecretString>,
    pub emails: Vec<String>,
}

impl PartialEq for AgencyFields {
    fn eq(&self, other: &Self) -> bool {
        let key = |k: &Option<SecretString>| k.as_ref().map(|k| k.expose_secret().to_owned());
        self.name_ko == other.name_ko
            && self.name_en == other.name_en
            && self.kind == other.kind
            && self.send_method == other.send_method
            && self.endpoint == other.endpoint
            && self.jurisdiction_id == other.jurisdiction_id
            && self.format == other.format
            && self.service_codes == other.service_codes
            && key(&self.api_key) == key(&other.api_key)
            && self.emails == other.emails
    }
}

impl AgencyFields {
    /// A new agency's fields, normalised ([`AgencyFields::normalised`]).
    pub(crate) fn new(agency: &NewAgency) -> Self {
        let open311 = agency.open311.as_ref();
        Self {
            name_ko: agency.name_ko.clone(),
            name_en: agency.name_en.clone(),
            kind: agency.kind,
            send_method: agency.send_method,
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: open311.and_then(|o| o.jurisdiction_id.clone()),
            format: open311.map(|o| o.format),
            service_codes: open311.map(|o| o.service_codes.clone()).unwrap_or_default(),
            api_key: open311.and_then(|o| o.api_key.clone()),
            emails: agency.emails.clone(),
        }
        .normalised()
    }

    /// A stored agency's fields, with its stored key.
    pub(crate) fn of(agency: &Agency, api_key: Option<SecretString>) -> Self {
        let open311 = agency.open311.as_ref();
        Self {
            name_ko: agency.name_ko.clone(),
            name_en: agency.name_en.clone(),
            kind: agency.kind,
            send_method: agency.send_method,
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: open311.and_then(|o| o.jurisdiction_id.clone()),
            format: open311.map(|o| o.format),
            service_codes: open311.map(|o| o.service_codes.clone()).unwrap_or_default(),
            api_key,
            emails: agency.emails.clone(),
        }
    }

    /// The fields with the settings of the other send methods dropped (an
    /// email agency keeps no endpoint or key), and Open311's answer format
    /// defaulting to XML, which every GeoReport v2 server offers.
    pub(crate) fn normalised(mut self) -> Self {
        if self.send_method == SendMethod::Open311 {
            self.format.get_or_insert(Open311Format::Xml);
        } else {
            self.endpoint = None;
            self.jurisdiction_id = None;
            self.format = None;
            self.service_codes.clear();
            self.api_key = None;
        }
        if self.send_method != SendMethod::Email {
            self.emails.clear();
        }
        self
    }

    /// The rules between the fields.
    pub(crate) fn check(&self) -> Result<(), AgencyRuleError> {
        match self.send_method {
            SendMethod::Open311 if self.endpoint.is_none() => Err(AgencyRuleError::NeedsEndpoint),
            SendMethod::Email if self.emails.is_empty() => Err(AgencyRuleError::NeedsAddress),
            _ => Ok(()),
        }
    }

    /// [`AgencyFields::check`] as a conflict naming the agency, for a result
    /// the stored state made wrong.
    pub(crate) fn check_for(&self, code: &str) -> Result<(), RepoError> {
        self.check()
            .map_err(|e| RepoError::Conflict(format!("agency `{code}`: {e}")))
    }

    /// What the audit log keeps: everything but the key, of which it keeps
    /// whether one is set.
    pub(crate) fn audit_view(&self, code: &str, retired: bool) -> serde_json::Value {
        serde_json::json!({
            "code": code,
            "name_ko": self.name_ko,
            "name_en": self.name_en,
            "kind": self.kind,
            "send_method": self.send_method,
            "endpoint": self.endpoint,
            "jurisdiction_id": self.jurisdiction_id,
            "format": self.format,
            "service_codes": self.service_codes,
            "api_key_set": self.api_key.is_some(),
            "emails": self.emails,
            "retired": retired,
        })
    }

    /// The `service_codes_json` column.
    pub(crate) fn service_codes_json(&self) -> Result<String, RepoError> {
        serde_json::to_string(&self.service_codes)
            .map_err(|e| RepoError::Storage(format!("cannot serialise service codes: {e}")))
    }

    /// The `emails_json` column.
    pub(crate) fn emails_json(&self) -> Result<String, RepoError> {
        serde_json::to_string(&self.emails)
            .map_err(|e| RepoError::Storage(format!("cannot serialise addresses: {e}")))
    }

    /// The key as the `open311_api_key` column holds it.
    pub(crate) fn api_key_text(&self) -> Option<String> {
        self.api_key.as_ref().map(|k| k.expose_secret().to_owned())
    }
}

impl AgencyUpdate {
    /// The update that gives an existing agency the whole definition `new`,
    /// keeping its stored API key unless `new` gives one: what an import does.
    pub fn redefine(new: &NewAgency) -> Self {
        let open311 = new.open311.as_ref();
        Self {
            name_ko: Some(new.name_ko.clone()),
            name_en: Some(new.name_en.clone()),
            kind: Some(new.kind),
            send_method: Some(new.send_method),
            endpoint: open311.map(|o| o.endpoint.clone()),
            jurisdiction_id: Some(open311.and_then(|o| o.jurisdiction_id.clone())),
            format: open311.map(|o| o.format),
            service_codes: Some(open311.map(|o| o.service_codes.clone()).unwrap_or_default()),
            api_key: open311.and_then(|o| o.api_key.clone()).map(Some),
            emails: Some(new.emails.clone()),
        }
    }

    /// What `before` (with its stored key) becomes: `None` when nothing
    /// changes; a conflict when the agency is retired or the result breaks a
    /// rule between fields. Both backends decide an update here.
    pub(crate) fn applied_to(
        &self,
        before: &Agency,
        api_key: Option<SecretString>,
    ) -> Result<Option<AgencyFields>, RepoError> {
        not_retired(before)?;
        let old = AgencyFields::of(before, api_key);
        let after = AgencyFields {
            name_ko: self.name_ko.clone().unwrap_or_else(|| old.name_ko.clone()),
            name_en: self.name_en.clone().unwrap_or_else(|| old.name_en.clone()),
            kind: self.kind.unwrap_or(old.kind),
            send_method: self.send_method.unwrap_or(old.send_method),
            endpoint: self.endpoint.clone().or_else(|| old.endpoint.clone()),
            jurisdiction_id: self
                .jurisdiction_id
                .clone()
                .unwrap_or_else(|| old.jurisdiction_id.clone()),
            format: self.format.or(old.format),
            service_codes: self
                .service_codes
                .clone()
                .unwrap_or_else(|| old.service_codes.clone()),
            api_key: self.api_key.clone().unwrap_or_else(|| old.api_key.clone()),
            emails: self.emails.clone().unwrap_or_else(|| old.emails.clone()),
        }
        .normalised();
        if after == old {
            return Ok(None);
        }
        after.check_for(&before.code)?;
        Ok(Some(after))
    }
}

/// Refuses a change to a retired agency.
pub(crate) fn not_retired(agency: &Agency) -> Result<(), RepoError> {
    match agency.retired_at {
        Some(_) => Err(RepoError::Conflict(format!(
            "agency `{}` is retired and cannot be changed",
            agency.code
        ))),
        None => Ok(()),
    }
}

/// The refusal of a second agency with the same code.
pub(crate) fn code_taken(code: &str) -> RepoError {
    RepoError::Conflict(format!(
        "agency `{code}` already exists in this station (retired agencies keep their code)"
    ))
}

/// The columns an agency read selects, in the order [`agency_from`] reads
/// them: never the API key, only whether one is set.
pub(crate) const AGENCY_COLUMNS: &str = "id, code, name_ko, name_en, kind, send_method, \
     open311_endpoint, open311_jurisdiction_id, open311_format, service_codes_json, \
     open311_api_key IS NOT NULL, emails_json, created_at, updated_at, retired_at";

/// An agency read back ([`AGENCY_COLUMNS`]).
pub(crate) fn agency_from(row: &impl Columns) -> Result<Agency, RepoError> {
    let kind = row.text(4)?;
    let method = row.text(5)?;
    let send_method = SendMethod::parse(&method)
        .ok_or_else(|| bad_column(5, format!("send method `{method}`")))?;
    let open311 = match (send_method, row.opt_text(6)?) {
        (SendMethod::Open311, Some(endpoint)) => {
            let format = row.opt_text(8)?.unwrap_or_default();
            Some(Open311Settings {
                endpoint,
                jurisdiction_id: row.opt_text(7)?,
                format: Open311Format::parse(&format)
                    .ok_or_else(|| bad_column(8, format!("Open311 format `{format}`")))?,
                service_codes: row.json(9, "service codes")?,
                api_key_set: row.flag(10)?,
            })
        }
        _ => None,
    };
    Ok(Agency {
        id: row.uuid(0)?,
        code: row.text(1)?,
        name_ko: row.text(2)?,
        name_en: row.text(3)?,
        kind: AgencyKind::parse(&kind)
            .ok_or_else(|| bad_column(4, format!("agency kind `{kind}`")))?,
        send_method,
        open311,
        emails: row.json(11, "addresses")?,
        created_at: row.time(12)?,
        updated_at: row.time(13)?,
        retired_at: row.opt_time(14)?,
    })
}

/// The agency of `code` among the station's.
pub(crate) fn find<'a>(agencies: &'a [Agency], code: &str) -> Option<&'a Agency> {
    agencies.iter().find(|a| a.code == code)
}
