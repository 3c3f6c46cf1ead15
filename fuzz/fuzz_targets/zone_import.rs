//! `cargo +nightly fuzz run zone_import`: see [`postcso_fuzz::zone_import`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postcso_fuzz::zone_import(data);
});
