//! The saved inputs of the `report_pack` and `report_render` fuzz targets (fuzz/corpus and
//! fuzz/seeds-*), replayed through the targets' bodies as ordinary tests: a panic or a hang on
//! any of them fails.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/report_pack_check.rs");
include!("../../../fuzz/common/report_render_check.rs");

#[test]
fn report_pack_corpus_and_seeds_replay() {
    replay_dir("corpus/report_pack", 60, check_report_pack_input);
    replay_dir("seeds-report-pack", 6, check_report_pack_input);
}

#[test]
fn report_render_corpus_and_seeds_replay() {
    replay_dir(
        "corpus/report_render",
        MIN_CORPUS_FILES,
        check_report_render_input,
    );
    replay_dir("seeds-report-render", 4, check_report_render_input);
}
