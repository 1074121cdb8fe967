//! Fuzz target `pickle`: the body lives in ../common/pickle_check.rs and is replayed over the saved
//! corpus and seeds by crates/mlguard-modelscan/tests/fuzz_models.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/pickle_check.rs");

fuzz_target!(|data: &[u8]| {
    check_pickle_input(data);
});
