//! Fuzz target `gguf`: the body lives in ../common/gguf_check.rs and is replayed over the seeds
//! by crates/mlguard-modelscan/tests/fuzz_tensors.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/gguf_check.rs");

fuzz_target!(|data: &[u8]| {
    check_gguf_input(data);
});
