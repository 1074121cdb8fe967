//! Fuzz target `report_render`: the body lives in ../common/report_render_check.rs and is replayed over the saved
//! corpus and seeds by crates/mlguard-report/tests/fuzz_corpus.rs as an ordinary test.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../common/report_render_check.rs");

fuzz_target!(|data: &[u8]| {
    check_report_render_input(data);
});
