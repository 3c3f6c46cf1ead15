//! `cargo +nightly fuzz run photo`: see [`postcso_fuzz::photo`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postcso_fuzz::photo(data);
});
