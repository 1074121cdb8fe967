//! Fuzz target `audit_proof`: the body lives in ../common/audit_proof_check.rs and is replayed
//! over the saved seeds by crates/mlguard-audit/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/checkpoint_check.rs");
include!("../common/audit_proof_check.rs");

fuzz_target!(|data: &[u8]| {
    check_audit_proof_input(data);
});
