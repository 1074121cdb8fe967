//! Replays the saved corpora of the `scan`, `settings` and `tenant` fuzz targets (fuzz/corpus/scan,
//! fuzz/corpus/settings, fuzz/corpus/tenant) and their seeds as ordinary tests, running exactly the fuzz targets'
//! bodies (fuzz/common/*_check.rs, included below). docs/testing.md says how to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/scan_check.rs");
include!("../../../fuzz/common/settings_check.rs");
include!("../../../fuzz/common/tenant_check.rs");

#[test]
fn scan_fuzz_corpus_replays() {
    replay_dir("corpus/scan", MIN_CORPUS_FILES, check_scan_input);
    replay_dir("seeds-scan", 1, check_scan_input);
}

#[test]
fn settings_fuzz_corpus_replays() {
    replay_dir("corpus/settings", MIN_CORPUS_FILES, check_settings_input);
    replay_dir("seeds-settings", 1, check_settings_input);
}

#[test]
fn tenant_fuzz_corpus_replays() {
    replay_dir("corpus/tenant", MIN_CORPUS_FILES, check_tenant_input);
    replay_dir("seeds-tenant", 1, check_tenant_input);
}
