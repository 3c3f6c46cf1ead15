//! `postcso-ffi`: the POST-CSO core exposed to Kotlin and Swift through UniFFI.
//!
//! Filled in by the UniFFI bindings issue; kept as a building crate until then.
