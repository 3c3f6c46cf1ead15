//! `agency add|list|update|retire|import` and `agency route add|list|remove`:
//! the agencies a station refers fixes to and its routing rules, through
//! the same checks (`crate::agencies`) and repository calls (audit rows) as
//! the API. An Open311 API key is never an argument (it would show in `ps`
//! and the shell's history): it comes from standard input or a named
//! environment variable, and no command prints it back.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use chrono::Utc;
use clap::{Args, Subcommand};

use super::{find_station, open_existing, print};
use crate::agencies::Fault;
use crate::agencies::fields::{
    AgencyDraft, AgencyPatch, RuleDraft, check_agency, check_rule, check_update,
};
use crate::agencies::file::{MAX_FILE_BYTES, read as read_agency_file};
use crate::cli::args::DataDir;
use crate::exit::{CliError, EXIT_CODES_HELP, Exit};
use crate::repo::{Actor, Agency, AgencyImportOutcome, RepoError, RoutingRule, SendMethod};

/// `agency …`
#[derive(Debug, Subcommand)]
pub enum AgencyCommand {
    /// Add an agency fixes are referred to.
    #[command(after_help = EXIT_CODES_HELP)]
    Add(Box<AgencyAddArgs>),
    /// List the station's agencies (retired ones included); an API key only
    /// as whether one is set.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// Print a JSON array instead of tab-separated lines.
        #[arg(long)]
        json: bool,
    },
    /// Change an agency: only the options given change. A new --method drops
    /// the old method's settings.
    #[command(after_help = EXIT_CODES_HELP)]
    Update(Box<AgencyUpdateArgs>),
    /// Retire an agency: kept (referrals keep pointing at it), but it takes no
    /// new referral and its routing rules propose nothing.
    #[command(after_help = EXIT_CODES_HELP)]
    Retire {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The agency's code.
        #[arg(long)]
        code: String,
    },
    /// Import agencies and routing rules from a TOML file (see
    /// data/seodaemun-agencies.toml), all or nothing: agencies are matched by
    /// code (added or redefined, keeping a stored API key unless the file's
    /// `api_key_env` gives one); `[[route]]` tables replace the station's rules.
    #[command(after_help = EXIT_CODES_HELP)]
    Import {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The TOML file (at most 1 MiB).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Routing rules: which agency the console proposes for a report.
    #[command(subcommand)]
    Route(RouteCommand),
}

/// `agency route …`
#[derive(Debug, Subcommand)]
pub enum RouteCommand {
    /// Add a rule: reports of --category (any when absent) in --district or
    /// --zone (anywhere when neither) go to --agency. The first matching rule
    /// by priority (lower first) proposes.
    #[command(after_help = EXIT_CODES_HELP)]
    Add {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The agency's code.
        #[arg(long)]
        agency: String,
        /// A category code of the station, e.g. safety_facility.
        #[arg(long)]
        category: Option<String>,
        /// A 5-digit 시군구 code, e.g. 11410 (서대문구).
        #[arg(long, conflicts_with = "zone")]
        district: Option<String>,
        /// A zone code of the station.
        #[arg(long)]
        zone: Option<String>,
        /// Its priority (unique); 10 after the last rule when absent.
        #[arg(long)]
        priority: Option<u32>,
    },
    /// List the rules in priority order.
    #[command(after_help = EXIT_CODES_HELP)]
    List {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// Print a JSON array instead of tab-separated lines.
        #[arg(long)]
        json: bool,
    },
    /// Remove the rule of a priority (the audit log keeps it).
    #[command(after_help = EXIT_CODES_HELP)]
    Remove {
        /// The data directory to work on.
        #[command(flatten)]
        data: DataDir,
        /// Station slug.
        #[arg(long)]
        station: String,
        /// The rule's priority, as `agency route list` shows it.
        #[arg(long)]
        priority: u32,
    },
}

/// Where an API key comes from: never an argument.
#[derive(Debug, Clone, Args)]
#[group(multiple = false)]
pub struct ApiKeySource {
    /// Read the Open311 API key from the first line of standard input.
    #[arg(long)]
    pub api_key_stdin: bool,
    /// Take the Open311 API key from this environment variable.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

/// `agency add`
#[derive(Debug, Args)]
pub struct AgencyAddArgs {
    /// The data directory to work on.
    #[command(flatten)]
    pub data: DataDir,
    /// Station slug.
    #[arg(long)]
    pub station: String,
    /// Code, unique in the station forever, e.g. seodaemun-gu-office.
    #[arg(long)]
    pub code: String,
    /// Korean name, e.g. 서대문구청 (what the carrier is told).
    #[arg(long)]
    pub name_ko: String,
    /// English name, e.g. "Seodaemun-gu Office".
    #[arg(long)]
    pub name_en: String,
    /// district_office, city, post_office, police or other.
    #[arg(long)]
    pub kind: String,
    /// How referrals reach it: open311, email or manual.
    #[arg(long = "method")]
    pub method: String,
    /// open311: the GeoReport v2 base URL.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// open311: the jurisdiction_id the server wants.
    #[arg(long)]
    pub jurisdiction_id: Option<String>,
    /// open311: xml (default) or json.
    #[arg(long)]
    pub format: Option<String>,
    /// open311: CATEGORY=SERVICE_CODE; repeat for more.
    #[arg(long = "service-code", value_name = "CATEGORY=CODE")]
    pub service_codes: Vec<String>,
    /// open311: the API key, from stdin or the environment.
    #[command(flatten)]
    pub api_key: ApiKeySource,
    /// email: an address the referral packet goes to; repeat for more.
    #[arg(long = "email", value_name = "ADDRESS")]
    pub emails: Vec<String>,
}

/// `agency update`
#[derive(Debug, Args)]
pub struct AgencyUpdateArgs {
    /// The data directory to work on.
    #[command(flatten)]
    pub data: DataDir,
    /// Station slug.
    #[arg(long)]
    pub station: String,
    /// The agency's code.
    #[arg(long)]
    pub code: String,
    /// New Korean name.
    #[arg(long)]
    pub name_ko: Option<String>,
    /// New English name.
    #[arg(long)]
    pub name_en: Option<String>,
    /// New kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// New send method (the old method's settings are dropped).
    #[arg(long = "method")]
    pub method: Option<String>,
    /// New Open311 endpoint.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// New jurisdiction_id.
    #[arg(long, conflicts_with = "clear_jurisdiction_id")]
    pub jurisdiction_id: Option<String>,
    /// Remove the jurisdiction_id.
    #[arg(long)]
    pub clear_jurisdiction_id: bool,
    /// New answer format.
    #[arg(long)]
    pub format: Option<String>,
    /// CATEGORY=SERVICE_CODE; the ones given replace the whole map.
    #[arg(long = "service-code", value_name = "CATEGORY=CODE")]
    pub service_codes: Vec<String>,
    /// A new API key, from stdin or the environment.
    #[command(flatten)]
    pub api_key: ApiKeySource,
    /// Remove the stored API key.
    #[arg(long, conflicts_with_all = ["api_key_stdin", "api_key_env"])]
    pub clear_api_key: bool,
    /// Addresses; the ones given replace the list.
    #[arg(long = "email", value_name = "ADDRESS")]
    pub emails: Vec<String>,
}

/// Faults as one usage error, one line each.
fn faults_error(faults: &[Fault]) -> CliError {
    let lines: Vec<String> = faults
        .iter()
        .map(|f| match f.pointer.as_str() {
            "" => f.detail.clone(),
            p => format!("{}: {}", p.trim_start_matches('/'), f.detail),
        })
        .collect();
    CliError::new(Exit::Usage, lines.join("\n       "))
}

/// A conflict or a missing agency in words.
fn refused(e: RepoError) -> CliError {
    match e {
        RepoError::NotFound("agency") => CliError::new(Exit::NotFound, "no such agency"),
        RepoError::NotFound("routing rule") => {
            CliError::new(Exit::NotFound, "no such routing rule")
        }
        other => other.into(),
    }
}

fn service_codes(pairs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(c, s)| (c.trim().to_owned(), s.trim().to_owned()))
                .ok_or_else(|| {
                    CliError::new(
                        Exit::Usage,
                        format!("--service-code `{pair}`: use CATEGORY=SERVICE_CODE"),
                    )
                })
        })
        .collect()
}

/// The API key from standard input or the named variable, if asked for.
fn api_key(source: &ApiKeySource) -> Result<Option<String>, CliError> {
    if source.api_key_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_line(&mut line)
            .map_err(|e| CliError::new(Exit::Io, format!("cannot read the API key: {e}")))?;
        let key = line.trim_end_matches(['\r', '\n']).to_owned();
        if key.is_empty() {
            return Err(CliError::new(Exit::Usage, "no API key on standard input"));
        }
        return Ok(Some(key));
    }
    match &source.api_key_env {
        Some(name) => std::env::var(name).map(Some).map_err(|_| {
            CliError::new(
                Exit::Usage,
                format!("the environment variable `{name}` is not set (or not UTF-8)"),
            )
        }),
        None => Ok(None),
    }
}

/// One agency as a line: code, kind, method, state, Korean and English
/// names, and the method's settings (a key only as `key set`).
fn agency_line(a: &Agency) -> String {
    let settings = match (a.send_method, &a.open311) {
        (SendMethod::Open311, Some(o)) => {
            let codes: Vec<String> = o
                .service_codes
                .iter()
                .map(|(c, s)| format!("{c}={s}"))
                .collect();
            format!(
                "{} format={} jurisdiction={} service_codes={} key {}",
                o.endpoint,
                o.format,
                o.jurisdiction_id.as_deref().unwrap_or("-"),
                if codes.is_empty() {
                    "-".to_owned()
                } else {
                    codes.join(",")
                },
                if o.api_key_set { "set" } else { "not set" },
            )
        }
        (SendMethod::Email, _) => a.emails.join(","),
        _ => "-".to_owned(),
    };
    let state = if a.retired_at.is_some() {
        "retired"
    } else {
        "active"
    };
    format!(
        "{}\t{}\t{}\t{state}\t{}\t{}\t{settings}",
        a.code, a.kind, a.send_method, a.name_ko, a.name_en
    )
}

fn rule_line(r: &RoutingRule) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        r.priority,
        r.category.as_deref().unwrap_or("*"),
        r.area,
        r.agency_code
    )
}

fn json_out(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::new(Exit::Failure, format!("cannot write JSON: {e}")))?;
    print(text)
}

/// `agency add`
pub async fn agency_add(args: &AgencyAddArgs) -> Result<(), CliError> {
    let repo = open_existing(&args.data).await?;
    let station = find_station(&repo, &args.station).await?;
    let draft = AgencyDraft {
        code: args.code.clone(),
        name_ko: args.name_ko.clone(),
        name_en: args.name_en.clone(),
        kind: args.kind.clone(),
        send_method: args.method.clone(),
        endpoint: args.endpoint.clone(),
        jurisdiction_id: args.jurisdiction_id.clone(),
        format: args.format.clone(),
        service_codes: service_codes(&args.service_codes)?,
        api_key: api_key(&args.api_key)?,
        emails: args.emails.clone(),
    };
    let categories = repo.categories(station.id).await?;
    let agency = check_agency(&draft, &categories, "").map_err(|f| faults_error(&f))?;
    let agency = repo
        .add_agency(station.id, agency, Actor::console(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::Conflict(m) => CliError::new(Exit::Conflict, m),
            other => refused(other),
        })?;
    print(format_args!("added agency {}", agency_line(&agency)))
}

/// `agency list`
pub async fn agency_list(data: &DataDir, station: &str, json: bool) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let agencies = repo.agencies(station.id).await?;
    if json {
        return json_out(&agencies);
    }
    for agency in &agencies {
        print(agency_line(agency))?;
    }
    Ok(())
}

/// `agency update`
pub async fn agency_update(args: &AgencyUpdateArgs) -> Result<(), CliError> {
    let repo = open_existing(&args.data).await?;
    let station = find_station(&repo, &args.station).await?;
    let key = api_key(&args.api_key)?;
    let patch = AgencyPatch {
        name_ko: args.name_ko.clone(),
        name_en: args.name_en.clone(),
        kind: args.kind.clone(),
        send_method: args.method.clone(),
        endpoint: args.endpoint.clone(),
        jurisdiction_id: if args.clear_jurisdiction_id {
            Some(None)
        } else {
            args.jurisdiction_id.clone().map(Some)
        },
        format: args.format.clone(),
        service_codes: (!args.service_codes.is_empty())
            .then(|| service_codes(&args.service_codes))
            .transpose()?,
        api_key: if args.clear_api_key {
            Some(None)
        } else {
            key.map(Some)
        },
        emails: (!args.emails.is_empty()).then(|| args.emails.clone()),
    };
    let categories = repo.categories(station.id).await?;
    let change = check_update(&patch, &categories).map_err(|f| faults_error(&f))?;
    let (agency, changed) = repo
        .update_agency(station.id, &args.code, change, Actor::console(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::Conflict(m) => CliError::new(Exit::Conflict, m),
            other => refused(other),
        })?;
    let verb = if changed { "updated" } else { "unchanged" };
    print(format_args!("{verb} agency {}", agency_line(&agency)))
}

/// `agency retire`
pub async fn agency_retire(data: &DataDir, station: &str, code: &str) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (agency, changed) = repo
        .retire_agency(station.id, code, Actor::console(), Utc::now())
        .await
        .map_err(refused)?;
    let verb = if changed {
        "retired"
    } else {
        "already retired"
    };
    print(format_args!("{verb} agency {}", agency.code))
}

/// Reads a file of at most [`MAX_FILE_BYTES`].
fn read_text(file: &Path) -> Result<String, CliError> {
    let io = |e: std::io::Error| {
        let exit = if e.kind() == std::io::ErrorKind::NotFound {
            Exit::NotFound
        } else {
            Exit::Io
        };
        CliError::new(exit, format!("cannot read {}: {e}", file.display()))
    };
    let size = std::fs::metadata(file).map_err(io)?.len();
    if size > MAX_FILE_BYTES {
        return Err(CliError::new(
            Exit::Usage,
            format!("{} is larger than {MAX_FILE_BYTES} bytes", file.display()),
        ));
    }
    let bytes = std::fs::read(file).map_err(io)?;
    String::from_utf8(bytes)
        .map_err(|_| CliError::new(Exit::Usage, format!("{} is not UTF-8", file.display())))
}

/// `agency import`
pub async fn agency_import(data: &DataDir, station: &str, file: &Path) -> Result<(), CliError> {
    let text = read_text(file)?;
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (categories, zones) =
        tokio::try_join!(repo.categories(station.id), repo.zones(station.id))?;
    let read = read_agency_file(&text, &categories, &zones, |name| std::env::var(name).ok())
        .map_err(|faults| {
            let mut error = faults_error(&faults);
            error.message = format!(
                "{} refused, nothing changed:\n       {}",
                file.display(),
                error.message
            );
            error
        })?;
    let done = repo
        .import_agencies(
            station.id,
            read.agencies,
            read.rules,
            Actor::console(),
            Utc::now(),
        )
        .await
        .map_err(|e| match e {
            RepoError::NotFound("agency") => CliError::new(
                Exit::Usage,
                "a [[route]] names an agency neither the file nor the station has; nothing changed",
            ),
            RepoError::Conflict(m) => {
                CliError::new(Exit::Conflict, format!("{m}; nothing changed"))
            }
            other => other.into(),
        })?;
    let count = |o: AgencyImportOutcome| done.agencies.iter().filter(|(_, x)| *x == o).count();
    print(format_args!(
        "agencies: {} added, {} updated, {} unchanged; routing rules: {} ({})",
        count(AgencyImportOutcome::Added),
        count(AgencyImportOutcome::Updated),
        count(AgencyImportOutcome::Unchanged),
        done.rules,
        if done.rules_replaced {
            "replaced"
        } else {
            "unchanged"
        },
    ))
}

/// `agency route add`
#[allow(clippy::too_many_arguments)]
pub async fn route_add(
    data: &DataDir,
    station: &str,
    agency: &str,
    category: Option<&str>,
    district: Option<&str>,
    zone: Option<&str>,
    priority: Option<u32>,
) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let (categories, zones) =
        tokio::try_join!(repo.categories(station.id), repo.zones(station.id))?;
    let draft = RuleDraft {
        priority,
        category: category.map(str::to_owned),
        district: district.map(str::to_owned),
        zone: zone.map(str::to_owned),
        agency: agency.to_owned(),
    };
    let rule = check_rule(&draft, &categories, &zones, "").map_err(|f| faults_error(&f))?;
    let rule = repo
        .add_routing_rule(station.id, rule, Actor::console(), Utc::now())
        .await
        .map_err(|e| match e {
            RepoError::Conflict(m) => CliError::new(Exit::Conflict, m),
            other => refused(other),
        })?;
    print(format_args!("added rule {}", rule_line(&rule)))
}

/// `agency route list`
pub async fn route_list(data: &DataDir, station: &str, json: bool) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let rules = repo.routing_rules(station.id).await?;
    if json {
        return json_out(&rules);
    }
    for rule in &rules {
        print(rule_line(rule))?;
    }
    Ok(())
}

/// `agency route remove`
pub async fn route_remove(data: &DataDir, station: &str, priority: u32) -> Result<(), CliError> {
    let repo = open_existing(data).await?;
    let station = find_station(&repo, station).await?;
    let rule = repo
        .routing_rules(station.id)
        .await?
        .into_iter()
        .find(|r| r.priority == priority)
        .ok_or_else(|| {
            CliError::new(
                Exit::NotFound,
                format!("no routing rule of priority {priority}"),
            )
        })?;
    let rule = repo
        .remove_routing_rule(station.id, rule.id, Actor::console(), Utc::now())
        .await
        .map_err(refused)?;
    print(format_args!("removed rule {}", rule_line(&rule)))
}

/// Runs an `agency` command.
pub async fn run(command: AgencyCommand) -> Result<(), CliError> {
    match command {
        AgencyCommand::Add(args) => agency_add(&args).await,
        AgencyCommand::List {
            data,
            station,
            json,
        } => agency_list(&data, &station, json).await,
        AgencyCommand::Update(args) => agency_update(&args).await,
        AgencyCommand::Retire {
            data,
            station,
            code,
        } => agency_retire(&data, &station, &code).await,
        AgencyCommand::Import {
            data,
            station,
            file,
        } => agency_import(&data, &station, &file).await,
        AgencyCommand::Route(RouteCommand::Add {
            data,
            station,
            agency,
            category,
            district,
            zone,
            priority,
        }) => {
            route_add(
                &data,
                &station,
                &agency,
                category.as_deref(),
                district.as_deref(),
                zone.as_deref(),
                priority,
            )
            .await
        }
        AgencyCommand::Route(RouteCommand::List {
            data,
            station,
            json,
        }) => route_list(&data, &station, json).await,
        AgencyCommand::Route(RouteCommand::Remove {
            data,
            station,
            priority,
        }) => route_remove(&data, &station, priority).await,
    }
}
