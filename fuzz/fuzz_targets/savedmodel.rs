//! Fuzz target `savedmodel`: the body lives in ../common/savedmodel_check.rs and is replayed over the seeds
//! by crates/mlguard-modelscan/tests/fuzz_graphs.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/savedmodel_check.rs");

fuzz_target!(|data: &[u8]| {
    check_savedmodel_input(data);
});
