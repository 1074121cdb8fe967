//! Replays the saved corpora of the `audit_policy`, `audit_events`, `checkpoint` and
//! `audit_record` fuzz targets (fuzz/corpus/<target>), their hand-written seeds
//! (fuzz/seeds-<target with dashes>; `audit_proof` has seeds only) and any reproducers kept in
//! fuzz/artifacts-kept/<target> as ordinary tests, running exactly the fuzz targets' bodies
//! (fuzz/common/<target>_check.rs, included below; `checkpoint` and `audit_record` are also
//! included by tests/trail_checkpoint.rs and tests/trail_normalize.rs).
//!
//! The corpora are refreshed as docs/testing.md describes (fuzz/cap_corpus.py keeps the 200
//! inputs of a run's corpus that cover the most edges).

include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/audit_policy_check.rs");
include!("../../../fuzz/common/audit_events_check.rs");
include!("../../../fuzz/common/checkpoint_check.rs");
include!("../../../fuzz/common/audit_record_check.rs");
include!("../../../fuzz/common/audit_proof_check.rs");

#[test]
fn audit_proof_corpus_and_seeds_replay() {
    // 8,536,280 executions in 61 s, no crash; 200 of 1,581 inputs kept (95.7% of edges).
    replay_dir(
        "corpus/audit_proof",
        MIN_CORPUS_FILES,
        check_audit_proof_input,
    );
    replay_dir("seeds-audit-proof", 12, check_audit_proof_input);
    // The seeds are what they say: the good ones check, the bad ones are refused.
    let key = fuzz_checkpoint_signer().verifier();
    let dir = fuzz_dir().join("seeds-audit-proof");
    for f in files_in(&dir) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let res = mlguard_audit::store::proof::check(&std::fs::read(&f).unwrap(), &key);
        assert_eq!(res.is_ok(), !name.starts_with("bad-"), "{name}: {res:?}");
    }
}

#[test]
fn checkpoint_corpus_and_seeds_replay() {
    // Capping keeps 71 inputs that cover every edge.
    replay_dir("corpus/checkpoint", 60, check_checkpoint_input);
    replay_dir("seeds-checkpoint", 4, check_checkpoint_input);
}

#[test]
fn audit_record_corpus_and_seeds_replay() {
    replay_dir(
        "corpus/audit_record",
        MIN_CORPUS_FILES,
        check_audit_record_input,
    );
    replay_dir("seeds-audit-record", 8, check_audit_record_input);
}

#[test]
fn audit_policy_corpus_replays_without_panic_or_hang() {
    replay_dir(
        "corpus/audit_policy",
        MIN_CORPUS_FILES,
        check_audit_policy_input,
    );
}

#[test]
fn audit_policy_seeds_replay_without_panic_or_hang() {
    replay_dir(
        "seeds-audit-policy",
        MIN_SEED_FILES,
        check_audit_policy_input,
    );
}

#[test]
fn audit_events_corpus_replays_without_panic_or_hang() {
    replay_dir(
        "corpus/audit_events",
        MIN_CORPUS_FILES,
        check_audit_events_input,
    );
}

#[test]
fn audit_events_seeds_replay_without_panic_or_hang() {
    replay_dir(
        "seeds-audit-events",
        MIN_SEED_FILES,
        check_audit_events_input,
    );
}

#[test]
fn kept_artifacts_replay_without_panic_or_hang() {
    // Reproducers of fixed bugs (fuzz/artifacts-kept/README.md lists them). Absent or empty is
    // fine.
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/audit_policy")),
        check_audit_policy_input,
    );
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/audit_events")),
        check_audit_events_input,
    );
}

#[test]
fn the_fuzz_bodies_accept_ordinary_input() {
    // Sanity checks that the shared bodies run on ordinary input and on junk, and that the
    // seeds exercise the oracles (a policy whose probe space is under the cap).
    check_audit_policy_input(
        b"apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n\
- level: None\n  nonResourceURLs: ['/healthz*']\n\
- level: Metadata\n  resources: [{group: '', resources: [secrets]}]\n\
- level: RequestResponse\n  users: [alice]\n  namespaces: [team-a, '']\n\
- level: Metadata\n",
    );
    check_audit_policy_input(b"apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n");
    check_audit_policy_input(b"");
    check_audit_policy_input(b"\xff\xfe\x00garbage: [");
    check_audit_events_input(
        br#"{"kind":"Event","level":"Metadata","stage":"ResponseComplete","verb":"get","requestURI":"/healthz?verbose","user":{"username":"u"},"stageTimestamp":"2026-01-01T00:00:00.5+01:00"}
not json

{"level":"Request","stage":"RequestReceived","verb":"create","user":{"username":"alice","groups":["g"]},"objectRef":{"resource":"pytorchjobs","namespace":"team-a","apiGroup":"kubeflow.org"},"requestObject":{"a":1}}
"#,
    );
    check_audit_events_input(b"");
    check_audit_events_input(b"\n\n\xff\xfe\x00{\"level\":");
    // The fixed policies parse (they are built on first use and would panic otherwise).
    assert_eq!(audit_events_policies().len(), 2);
}
