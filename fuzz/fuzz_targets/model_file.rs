//! Fuzz target `model_file`: the body lives in ../common/model_file_check.rs and is replayed over the saved
//! corpus and seeds by crates/mlguard-modelscan/tests/fuzz_models.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/model_file_check.rs");

fuzz_target!(|data: &[u8]| {
    check_model_file_input(data);
});
