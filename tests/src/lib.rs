//! End-to-end and fault tests across the pieces: the phone core against a real
//! station process on loopback. This library holds the fixtures (phones, fault
//! proxies, and a [`station::Station`] started through `postcso-harness`); the
//! tests are in `tests/tests/`.

pub mod faults;
pub mod phone;
pub mod station;
