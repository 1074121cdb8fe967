//! Fuzz target `versions`: the body lives in ../common/versions_check.rs and is replayed over the saved
//! corpus and seeds by crates/mlguard-vuln/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/versions_check.rs");

fuzz_target!(|data: &[u8]| {
    check_versions_input(data);
});
