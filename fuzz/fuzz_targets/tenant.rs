//! Fuzz target `tenant`: the body lives in ../common/tenant_check.rs and is replayed over the
//! saved corpus by crates/mlguard/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/tenant_check.rs");

fuzz_target!(|data: &[u8]| {
    check_tenant_input(data);
});
