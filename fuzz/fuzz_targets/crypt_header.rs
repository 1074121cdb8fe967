//! Fuzz target `crypt_header`: the body lives in ../common/crypt_header_check.rs and is replayed
//! over the saved corpus by crates/mlguard-crypt/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/crypt_header_check.rs");

fuzz_target!(|data: &[u8]| {
    check_crypt_header_input(data);
});
