// The body of the `model_bundle` fuzz target, shared with the seed and corpus replay test
// (crates/mlguard-crypt/tests/model_signing.rs) through `include!`: the strict reader of
// model-signing bundles (`mlguard_crypt::sign::parse_bundle`), then verification against a
// small model folder signed with a fixed test key. Nothing may panic, and a bundle may verify
// only if it carries a payload the key really signed: the fixture's own (deterministic)
// statement, as in the `valid*` seeds of fuzz/seeds-model-bundle.

/// A P-256 key pair for this fuzz target and its seeds only (it signs nothing else).
const MODEL_BUNDLE_TEST_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgD1+AkhitT/JPZpBG
osx3imteQGoP82uP+vcsjM1zMiyhRANCAAS1gKEEaYlGWbIwXR+1UxqGARdufHbA
fP7IWNeld1Qc2r/hb8I+0+6QmOJYQ5dM6QqfsAveehUMaCek4fdF2syP
-----END PRIVATE KEY-----
";
const MODEL_BUNDLE_TEST_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEtYChBGmJRlmyMF0ftVMahgEXbnx2
wHz+yFjXpXdUHNq/4W/CPtPukJjiWEOXTOkKn7AL3noVDGgnpOH3RdrMjw==
-----END PUBLIC KEY-----
";

/// The files of the fixture model (a folder named `model`).
const MODEL_BUNDLE_FIXTURE_FILES: [(&str, &[u8]); 3] = [
    ("config.json", b"{\"layers\": 2}\n"),
    ("sub/weights.bin", b"\x00\x01\x02\x03\xfe\xff"),
    ("sub/empty", b""),
];

/// The fixture model folder and the statement the test key signs for it.
struct ModelBundleFixture {
    dir: std::path::PathBuf,
    payload: Vec<u8>,
}

fn model_bundle_fixture() -> &'static ModelBundleFixture {
    static FIXTURE: std::sync::OnceLock<ModelBundleFixture> = std::sync::OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir()
            .join(format!("mlguard-model-bundle-{}", std::process::id()))
            .join("model");
        let _ = std::fs::remove_dir_all(&dir);
        for (name, content) in MODEL_BUNDLE_FIXTURE_FILES {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("fixture folder");
            std::fs::write(&path, content).expect("fixture file");
        }
        let signed = mlguard_crypt::sign::sign_dir(
            &dir,
            MODEL_BUNDLE_TEST_PRIVATE_KEY.as_bytes(),
            &mlguard_crypt::sign::SignOptions::default(),
        )
        .expect("the fixture model signs");
        ModelBundleFixture {
            dir,
            payload: signed.payload,
        }
    })
}

/// Parse one fuzz input as a model-signing bundle, then verify the fixture model with it.
pub fn check_model_bundle_input(data: &[u8]) {
    use mlguard_crypt::sign::{self, VerifyOptions};
    use mlguard_crypt::Error;

    let fixture = model_bundle_fixture();
    let parsed = sign::parse_bundle(data);
    match &parsed {
        Ok(b) => {
            assert_eq!(b.payload_type, sign::PAYLOAD_TYPE);
            assert!(b.manifest.files.len() <= sign::MAX_FILES);
            for f in &b.manifest.files {
                assert!(
                    f.name == "." || f.name.split('/').all(|c| !c.is_empty() && c != ".."),
                    "accepted file name {:?}",
                    f.name
                );
            }
        }
        Err(e) => assert!(
            matches!(e, Error::Format(_) | Error::Auth(_)),
            "parse_bundle failed with neither Format nor Auth: {e}"
        ),
    }
    let verified = sign::verify_dir(
        &fixture.dir,
        data,
        MODEL_BUNDLE_TEST_PUBLIC_KEY.as_bytes(),
        &VerifyOptions::default(),
    );
    match verified {
        Ok(v) => {
            let b = parsed.expect("a bundle that verifies also parses");
            assert_eq!(
                b.payload, fixture.payload,
                "verified a payload the test key never signed"
            );
            assert_eq!(v.files.len(), MODEL_BUNDLE_FIXTURE_FILES.len());
        }
        Err(e) => assert!(
            matches!(e, Error::Format(_) | Error::Auth(_)),
            "verification failed with neither Format nor Auth: {e}"
        ),
    }
}
