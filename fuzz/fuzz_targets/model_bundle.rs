//! Fuzz target `model_bundle`: the body lives in ../common/model_bundle_check.rs and is replayed
//! over the seeds and the saved corpus by crates/mlguard-crypt/tests/model_signing.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/model_bundle_check.rs");

fuzz_target!(|data: &[u8]| {
    check_model_bundle_input(data);
});
