//! `cargo +nightly fuzz run report_content`: see [`postcso_fuzz::report_content`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    postcso_fuzz::report_content(data);
});
