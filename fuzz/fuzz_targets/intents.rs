//! Fuzz target `intents`: the body lives in ../common/intents_check.rs and is replayed over the saved
//! corpus by crates/mlguard-netpol/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/intents_check.rs");

fuzz_target!(|data: &[u8]| {
    check_intents_input(data);
});
