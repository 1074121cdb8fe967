//! Fuzz target `audit_policy`: the body lives in ../common/audit_policy_check.rs and is replayed
//! over the saved corpus by crates/mlguard-audit/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/audit_policy_check.rs");

fuzz_target!(|data: &[u8]| {
    check_audit_policy_input(data);
});
