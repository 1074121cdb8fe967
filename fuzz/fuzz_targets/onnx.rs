//! Fuzz target `onnx`: the body lives in ../common/onnx_check.rs and is replayed over the seeds
//! by crates/mlguard-modelscan/tests/fuzz_graphs.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/onnx_check.rs");

fuzz_target!(|data: &[u8]| {
    check_onnx_input(data);
});
