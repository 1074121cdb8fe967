//! Replays the saved corpora of the `netpol` and `intents` fuzz targets (fuzz/corpus/netpol,
//! fuzz/corpus/intents), their hand-written seeds (fuzz/seeds-netpol, fuzz/seeds-intents) and
//! any reproducers kept in fuzz/artifacts-kept/<target> as ordinary tests, running exactly the
//! fuzz targets' bodies (fuzz/common/{netpol,intents}_check.rs, included below).
//!
//! The corpora are refreshed as docs/testing.md describes (fuzz/cap_corpus.py keeps the 200
//! inputs of a run's corpus that cover the most edges).

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/netpol_check.rs");
include!("../../../fuzz/common/intents_check.rs");

#[test]
fn netpol_corpus_replays_without_panic_or_hang() {
    replay_dir("corpus/netpol", MIN_CORPUS_FILES, check_netpol_input);
}

#[test]
fn netpol_seeds_replay_without_panic_or_hang() {
    replay_dir("seeds-netpol", MIN_SEED_FILES, check_netpol_input);
}

#[test]
fn intents_corpus_replays_without_panic_or_hang() {
    replay_dir("corpus/intents", MIN_CORPUS_FILES, check_intents_input);
}

#[test]
fn intents_seeds_replay_without_panic_or_hang() {
    replay_dir("seeds-intents", MIN_SEED_FILES, check_intents_input);
}

#[test]
fn kept_artifacts_replay_without_panic_or_hang() {
    // Reproducers of fixed bugs (fuzz/artifacts-kept/README.md lists them). Absent or empty is
    // fine.
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/netpol")),
        check_netpol_input,
    );
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/intents")),
        check_intents_input,
    );
}

#[test]
fn the_fuzz_bodies_accept_ordinary_input() {
    // Sanity checks that the shared bodies run on ordinary input and on junk.
    check_netpol_input(
        b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: a}\n\
spec: {podSelector: {}, policyTypes: [Ingress]}\n---\napiVersion: v1\nkind: Pod\n\
metadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    check_netpol_input(b"\xff\xfe\x00garbage: [");
    check_intents_input(
        b"apiVersion: mlguard.io/v1alpha1\nkind: NetworkIntents\nspec:\n  intents:\n\
  - {name: a, expect: allow, from: {namespace: a}, to: {namespace: b}, ports: [\"29500/TCP\"]}\n",
    );
    check_intents_input(b"");
    check_intents_input(b"\xff\xfe\x00garbage: [");
}
