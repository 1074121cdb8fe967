//! Replays the saved corpora and seeds of the `inventory` and `image_layer` fuzz targets
//! (fuzz/corpus/{inventory,image_layer}, fuzz/seeds-{inventory,image-layer}) as ordinary tests, running exactly the fuzz target's body
//! (fuzz/common/inventory_check.rs). docs/testing.md says how to refresh them.

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/inventory_check.rs");
include!("../../../fuzz/common/image_layer_check.rs");

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
