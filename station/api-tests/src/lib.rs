//! Black-box tests of the station's HTTP API, CLI and processes: a real
//! server on loopback spoken to over HTTP (reqwest), the real
//! `postcso-station` binary started through `postcso-harness`, and a real S3
//! server (`s3s-fs`). They live in their own crate so that the HTTP client
//! and the process harness they need stay out of the server's dependency
//! tree: `cargo tree -p postcso-station` links neither reqwest nor the phone
//! core. Every test is under `tests/`; this library holds nothing.
//!
//! The station's own tests (the store contract in `station/tests/stores/`,
//! the zone CLI tests) stay in the station crate, and this crate includes
//! their backend helpers by path (`tests/common/mod.rs`), so both pick the
//! backend under test from `POSTCSO_TEST_DATABASE_URL` the same way.
