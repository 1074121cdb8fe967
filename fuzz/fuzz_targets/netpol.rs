//! Fuzz target `netpol`: the body lives in ../common/netpol_check.rs and is replayed over the saved
//! corpus by crates/mlguard-netpol/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/netpol_check.rs");

fuzz_target!(|data: &[u8]| {
    check_netpol_input(data);
});
