//! Replays the saved corpora and seeds of mlguard-modelscan's fuzz targets (`pickle`:
//! fuzz/corpus/pickle and fuzz/seeds-pickle; `model_file`: fuzz/corpus/model_file and
//! fuzz/seeds-model-file; `containers`: fuzz/corpus/containers and fuzz/seeds-containers) as
//! ordinary tests, running exactly the fuzz targets' bodies
//! (fuzz/common/*_check.rs). docs/testing.md says how to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/pickle_check.rs");
include!("../../../fuzz/common/model_file_check.rs");
include!("../../../fuzz/common/containers_check.rs");

#[test]
fn pickle_fuzz_corpus_replays() {
    replay_dir("corpus/pickle", MIN_CORPUS_FILES, check_pickle_input);
    replay_dir("seeds-pickle", 10, check_pickle_input);
}

#[test]
fn model_file_fuzz_corpus_replays() {
    replay_dir(
        "corpus/model_file",
        MIN_CORPUS_FILES,
        check_model_file_input,
    );
    replay_dir("seeds-model-file", MIN_SEED_FILES, check_model_file_input);
}

#[test]
fn containers_fuzz_corpus_replays() {
    replay_dir(
        "corpus/containers",
        MIN_CORPUS_FILES,
        check_containers_input,
    );
    replay_dir("seeds-containers", 10, check_containers_input);
}
