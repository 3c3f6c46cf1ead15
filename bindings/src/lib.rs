//! `postcso-ffi`: the POST-CSO core exposed to Kotlin, Swift and Python through
//! UniFFI proc-macros.
//!
//! The platform apps never see the core's Rust types: this crate mirrors them as
//! plain records and enums ([`types`], [`events`]), maps every internal error to
//! one flat [`PostError`] in one place ([`error`]), and wraps the queue and the
//! sync engine in one object, [`PostCore`] ([`core`]), opened with the app's
//! [`SecretStore`] ([`secrets`]). Async methods are served
//! by the core's own multi-threaded tokio runtime: the future the foreign side
//! polls only awaits a `JoinHandle`, so it needs no reactor of its own.
//!
//! The API is described for app developers in `bindings/API.md`.

uniffi::setup_scaffolding!("postcso");

mod convert;
pub mod core;
pub mod error;
pub mod events;
pub mod places;
pub mod secrets;
pub mod types;

pub use crate::core::PostCore;
pub use error::{ListenerError, PostError};
pub use events::{StopReason, SyncErrorKind, SyncEvent, SyncListener, SyncOutcome};
pub use places::{NearbyReport, PositionUpdate, ZoneHit, ZoneInfo, ZoneKind};
pub use secrets::{SecretStore, SecretStoreError};
pub use types::*;
