//! Replays the saved corpus of the `loader` fuzz target (fuzz/corpus/loader) as an ordinary
//! test, running exactly the fuzz target's body (fuzz/common/loader_check.rs, included below).
//! The hand-written seeds (fuzz/seeds) and any reproducers kept in fuzz/artifacts-kept (crashes
//! found and fixed) are replayed too.
//!
//! The corpus is refreshed as docs/testing.md describes (`cargo fuzz cmin`, then
//! fuzz/cap_corpus.py to keep it at 200 files).

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/loader_check.rs");

#[test]
fn loader_corpus_replays_without_panic_or_hang() {
    replay_dir("corpus/loader", MIN_CORPUS_FILES, check_loader_input);
}

#[test]
fn hand_written_seeds_replay_without_panic_or_hang() {
    replay_dir("seeds", MIN_SEED_FILES, check_loader_input);
}

#[test]
fn kept_artifacts_replay_without_panic_or_hang() {
    // Optional folder: reproducers of fixed crashes. Absent or empty is fine.
    replay(
        files_in(&fuzz_dir().join("artifacts-kept")),
        check_loader_input,
    );
}

#[test]
fn the_fuzz_body_itself_rejects_nothing_valid() {
    // A sanity check that the shared body runs on ordinary input.
    check_loader_input(
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n",
    );
    check_loader_input(b"\xff\xfe\x00garbage: [");
}
