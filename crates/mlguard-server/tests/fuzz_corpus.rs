//! Replays the saved corpus of the `admission` fuzz target (fuzz/corpus/admission) and its
//! seeds as ordinary tests, running exactly the fuzz target's body
//! (fuzz/common/admission_check.rs, included below). docs/testing.md says how to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/admission_check.rs");

#[test]
fn admission_fuzz_corpus_replays() {
    replay_dir("corpus/admission", MIN_CORPUS_FILES, check_admission_input);
    replay_dir("seeds-admission", 1, check_admission_input);
}
