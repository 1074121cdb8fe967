//! Replays the saved corpora and seeds of the `inventory`, `image_layer`, `image_archive`, `vex`
//! and `versions` fuzz targets (fuzz/corpus/<target>, fuzz/seeds-<target with dashes>) as
//! ordinary tests, running exactly the fuzz target's body (fuzz/common/<target>_check.rs). docs/testing.md says how to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/inventory_check.rs");
include!("../../../fuzz/common/image_layer_check.rs");
include!("../../../fuzz/common/image_archive_check.rs");
include!("../../../fuzz/common/vex_check.rs");
include!("../../../fuzz/common/versions_check.rs");

#[test]
fn inventory_fuzz_corpus_replays() {
    replay_dir("corpus/inventory", 50, check_inventory_input);
    replay_dir("seeds-inventory", 5, check_inventory_input);
    // Reproducers of fixed bugs: an apk entry and a dpkg paragraph with an empty name.
    replay_dir("artifacts-kept/inventory", 2, check_inventory_input);
}

const _: usize = MIN_CORPUS_FILES + MIN_SEED_FILES;

#[test]
fn image_layer_fuzz_corpus_replays() {
    replay_dir("corpus/image_layer", 50, check_image_layer_input);
    replay_dir("seeds-image-layer", 3, check_image_layer_input);
}

#[test]
fn image_archive_fuzz_corpus_replays() {
    replay_dir("corpus/image_archive", 50, check_image_archive_input);
    replay_dir("seeds-image-archive", 3, check_image_archive_input);
}

#[test]
fn vex_fuzz_corpus_replays() {
    replay_dir("corpus/vex", 50, check_vex_input);
    replay_dir("seeds-vex", 20, check_vex_input);
}

#[test]
fn versions_fuzz_corpus_replays() {
    // Version strings are short: the capped corpus covers every edge with ~56 inputs.
    replay_dir("corpus/versions", 40, check_versions_input);
    replay_dir("seeds-versions", 20, check_versions_input);
}
