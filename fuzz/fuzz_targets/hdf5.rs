//! Fuzz target `hdf5`: the body lives in ../common/hdf5_check.rs and is replayed over the seeds
//! by crates/mlguard-modelscan/tests/fuzz_graphs.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/hdf5_check.rs");

fuzz_target!(|data: &[u8]| {
    check_hdf5_input(data);
});
