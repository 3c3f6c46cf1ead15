//! `cargo +nightly fuzz run changes_cursor`: see [`postcso_fuzz::changes_cursor`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postcso_fuzz::changes_cursor(data);
});
