// Body of the `audit_proof` fuzz target, also run by crates/mlguard-audit/tests/fuzz_corpus.rs:
// arbitrary bytes through the proof document checker of `mlguard audit verify-proof`
// (mlguard_audit::store::proof::check) with the fixed key of the `checkpoint` target
// (../common/checkpoint_check.rs, included before this file). Invariants: no panic; an error
// has a message; an accepted document, parsed and printed again as JSON, checks to the same
// result (nothing outside the JSON value decides).

#[allow(dead_code)]
fn check_audit_proof_input(data: &[u8]) {
    use mlguard_audit::store::proof;
    let key = fuzz_checkpoint_signer().verifier();
    let checked = match proof::check(data, &key) {
        Ok(c) => c,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let value: serde_json::Value = serde_json::from_slice(data).expect("an accepted proof is JSON");
    let again = serde_json::to_vec(&value).expect("JSON prints");
    assert_eq!(
        proof::check(&again, &key).expect("the reprinted proof checks"),
        checked
    );
}
