//! POST-CSO station server: the server that mail carriers' phones sync safety
//! reports to, and that supervisors work on.
//!
//! Built as a library plus a thin binary so integration tests can run the real
//! router in-process on a real socket. Layout, one job per module:
//! - [`cli`] / [`admin`]: the command line and the admin commands;
//! - [`server`]: binding, serving, graceful shutdown;
//! - [`http`]: routes by resource, problem+json errors, OpenAPI, metrics;
//! - [`console`]: the review console for supervisors' tablets (`/console/`);
//! - [`auth`]: roles, tokens, passwords, the caller extractors, access policy;
//! - [`intake`]: the station's rules for a delivered report, retries and conflicts;
//! - [`queue_filter`]: the review queue's filter as written in an address,
//!   shared by the console's queue and the API's exports;
//! - [`upload`]: resumable photo uploads (the storage side of tus);
//! - [`blob`]: where photo bytes live (a directory or S3-compatible storage);
//! - [`egress`]: outbound HTTP(S) to other services (object storage, referrals);
//! - [`repo`]: the storage trait and its backends (SQLite, PostgreSQL);
//! - [`agencies`]: agencies and routing rules as admins give them (fields,
//!   the import file), checked once for API, CLI and files;
//! - [`zones`]: zone definitions as admins give them (fields, GeoJSON import
//!   and export, a station's jurisdiction), checked once for API and console.

#![warn(missing_docs)]

pub mod admin;
pub mod agencies;
pub mod appender;
pub mod auth;
pub mod blob;
pub mod cli;
pub mod config;
pub mod console;
pub mod egress;
pub mod exit;
pub mod fsync;
pub mod geo;
pub mod http;
pub mod intake;
pub mod queue_filter;
pub mod repo;
pub mod server;
pub mod telemetry;
pub mod thumbs;
pub mod upload;
pub mod zones;
