//! Fuzz the manifest loader (`mlguard_core::load::load_text`) and the YAML tree builder
//! (`mlguard_core::yaml::parse_stream`) with arbitrary bytes.
//!
//! The body lives in ../common/loader_check.rs and is replayed over the saved corpus by
//! crates/mlguard-core/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/loader_check.rs");

fuzz_target!(|data: &[u8]| {
    check_loader_input(data);
});
