//! Fuzz target `containers`: the body lives in ../common/containers_check.rs and is replayed over
//! the saved corpus and seeds by crates/mlguard-modelscan/tests/fuzz_models.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/containers_check.rs");

fuzz_target!(|data: &[u8]| {
    check_containers_input(data);
});
