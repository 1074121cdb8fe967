//! Fuzz target `age_header`: the body lives in ../common/age_header_check.rs and is replayed
//! over the seeds by crates/mlguard-crypt/tests/age.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/age_header_check.rs");

fuzz_target!(|data: &[u8]| {
    check_age_header_input(data);
});
