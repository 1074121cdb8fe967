//! Fuzz target `checkpoint`: the body lives in ../common/checkpoint_check.rs and is replayed over the saved
//! corpus and seeds by crates/mlguard-audit/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/checkpoint_check.rs");

fuzz_target!(|data: &[u8]| {
    check_checkpoint_input(data);
});
