//! Fuzz target `admission`: the body lives in ../common/admission_check.rs and is replayed over
//! the saved corpus by crates/mlguard-server/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/admission_check.rs");

fuzz_target!(|data: &[u8]| {
    check_admission_input(data);
});
