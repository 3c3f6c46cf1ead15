//! `cargo +nightly fuzz run tus_headers`: see [`postcso_fuzz::tus_headers`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postcso_fuzz::tus_headers(data);
});
