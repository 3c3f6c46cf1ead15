//! POST-CSO mobile core: the carrier's offline report queue.
//!
//! The core keeps every report a carrier files in a local SQLite queue, with its
//! processed photos on disk, so that nothing is lost when the phone has no signal,
//! the app is killed or the battery dies. Platform code (Kotlin, Swift) calls it
//! from any thread through the `postcso-ffi` crate.

pub mod model;
