//! POST-CSO mobile core: the carrier's offline report queue.
//!
//! The core keeps every report a carrier files in a local SQLite queue, with its
//! processed photos on disk, so that nothing is lost when the phone has no signal,
//! the app is killed or the battery dies. Platform code (Kotlin, Swift) calls it
//! from any thread through the `postcso-ffi` crate.
//!
//! - [`model`]: the report model and its validation, shared with the station
//!   (the `postcso-model` crate, re-exported so apps and bindings see one core).
//! - [`photo`]: photo intake: orientation, downscaling, re-encoding, metadata
//!   stripping, and the content-addressed photo files.
//! - [`store`]: the SQLite database: durability settings, migrations, damage handling.
//! - [`queue`]: the queue API the app calls.
//! - [`places`]: where the carrier is, offline: zones by point and by
//!   distance, and watch areas entered and left.
//! - [`secrets`]: the device token and the queue's data key, kept only in the
//!   platform's secret store through the [`secrets::SecretStore`] the app gives.
//! - [`sync`]: the engine that delivers the queue to the station.

mod fsutil;
pub mod photo;
pub mod places;
pub mod queue;
pub mod secrets;
pub mod store;
pub mod sync;

/// The wire model shared with the station (`postcso-model`).
pub use postcso_model as model;
pub use queue::{QueueConfig, QueueError, ReportQueue};
