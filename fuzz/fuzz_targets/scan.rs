//! Fuzz target `scan`: the body lives in ../common/scan_check.rs and is replayed over the saved
//! corpus by crates/mlguard/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/scan_check.rs");

fuzz_target!(|data: &[u8]| {
    check_scan_input(data);
});
