//! The sync engine: delivers the queue to the station exactly once, through bad
//! networks, inside the phone's background-time budget.
//!
//! - Exactly once: the report id (a UUIDv7 made at creation) is the idempotency
//!   key; the station answers a repeated `PUT` with 200 and the stored report.
//!   Photos go by tus, resuming from the station's offset, and the station checks
//!   each photo's SHA-256 against the manifest sent with the metadata.
//! - Order: reports go in creation order. A transient failure (network, timeout,
//!   5xx, 429) stops the run and backs off with full jitter, honouring
//!   `Retry-After`; the backoff is persisted, so an app restart does not hammer
//!   the station. A permanent refusal (other 4xx) marks only that report
//!   `rejected_by_server` and the run goes on (see the `push` module).
//! - Triggers: coming online, `kick()` after a submit, a backoff elapsing, and
//!   `sync(budget)` for the OS's background windows.
//! - A 401 or 403 stops everything and asks for re-enrolment; the queue is untouched.

mod backoff;
mod chunk;
mod client;
mod engine;
mod enrol;
mod events;
mod failure;
mod network;
pub(crate) mod pass;
mod pull;
mod push;
mod tus;

pub use backoff::BackoffPolicy;
pub use client::{ClientError, Timeouts};
pub use engine::{SyncConfig, SyncEngine, SyncError};
pub use enrol::{EnrolError, Enrolment};
pub use events::{StopReason, SyncErrorKind, SyncEvent, SyncListener, SyncOutcome};
pub use network::{NetworkState, SyncPolicy};
pub use pass::TransferStats;
