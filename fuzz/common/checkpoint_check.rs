// Body of the `checkpoint` fuzz target, also run by crates/mlguard-audit/tests/trail_checkpoint.rs:
// arbitrary bytes through the signed checkpoint reader (mlguard_audit::trail::checkpoint::open)
// with one fixed trusted key. Invariants: no panic; an error has a message; an accepted
// checkpoint prints back to exactly the signed text, re-signing it with the fixed key gives a
// signature line the input holds (Ed25519 signatures are deterministic and only canonical ones
// verify), and the re-signed note opens to the same checkpoint.

/// The fixed key, made from SHA-256("mlguard fuzz checkpoint key, not a secret"); seeds must be
/// signed with it to get past signature checking.
#[allow(dead_code)]
const FUZZ_CHECKPOINT_SIGNER: &str =
    "PRIVATE+KEY+mlguard.fuzz/checkpoint+c4437c2e+AdqAJqhNQALGbXXKmioY9BbyNqRL2Sts9zQTu40ooINc";

#[allow(dead_code)]
fn fuzz_checkpoint_signer() -> &'static mlguard_audit::trail::note::Signer {
    static SIGNER: std::sync::OnceLock<mlguard_audit::trail::note::Signer> =
        std::sync::OnceLock::new();
    SIGNER.get_or_init(|| {
        mlguard_audit::trail::note::Signer::from_key_text(FUZZ_CHECKPOINT_SIGNER)
            .expect("the fixed fuzz key parses")
    })
}

#[allow(dead_code)]
fn check_checkpoint_input(data: &[u8]) {
    use mlguard_audit::trail::checkpoint;
    let signer = fuzz_checkpoint_signer();
    let verifiers = [signer.verifier()];
    let cp = match checkpoint::open(data, &verifiers) {
        Ok(cp) => cp,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let body = cp.to_body().expect("an opened checkpoint prints");
    assert!(
        data.len() > body.len() && data.starts_with(body.as_bytes()) && data[body.len()] == b'\n',
        "an opened checkpoint prints back to the signed text"
    );
    let resigned = checkpoint::sign(&cp, signer).expect("an opened checkpoint signs");
    let line = &resigned.as_bytes()[body.len() + 1..];
    assert!(
        data[body.len() + 1..]
            .windows(line.len())
            .any(|w| w == line),
        "the trusted signature is the one the key makes"
    );
    assert_eq!(
        checkpoint::open(&resigned, &verifiers).expect("a re-signed checkpoint opens"),
        cp
    );
}
