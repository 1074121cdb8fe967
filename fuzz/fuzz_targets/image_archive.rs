//! Fuzz target `image_archive`: the body lives in ../common/image_archive_check.rs and is
//! replayed over the saved corpus and seeds by crates/mlguard-vuln/tests/fuzz_corpus.rs as an
//! ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/image_archive_check.rs");

fuzz_target!(|data: &[u8]| {
    check_image_archive_input(data);
});
