//! Model signatures in the OpenSSF model-signing v1.0 format, checked both ways against
//! PyPI `model-signing` itself (`model_signing sign key` / `verify key`, in the test venv next
//! to MLGUARD_TEST_PYTHON), with EC P-256 keys made by OpenSSL: what we sign it verifies, what
//! it signs we verify, and both refuse a changed, added or removed file, another key, and a
//! modified signature or payload.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use mlguard_crypt::sign::{self, SignOptions, VerifyOptions};
use mlguard_crypt::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

include!("../../../fuzz/common/model_bundle_check.rs");

/// The model: nested folders, several files, an empty one, names whose order differs between
/// plain string order and path-component order (`a-b/c`, `a.txt`, `a/b`), git files that are
/// not part of the model.
fn make_model(root: &Path) -> PathBuf {
    let m = root.join("my-model");
    let files: &[(&str, &[u8])] = &[
        ("config.json", b"{\"hidden_size\": 8}\n"),
        ("weights/model-00001.safetensors", &[7u8; 70_000]),
        ("weights/model-00002.safetensors", b"second shard"),
        ("weights/deep/er/empty.bin", b""),
        ("a.txt", b"a"),
        ("a/b", b"b"),
        ("a-b/c", b"c"),
        ("A", b"upper"),
        (".hidden", b"dot file, signed"),
        (".git/HEAD", b"ref: refs/heads/main\n"),
        (".gitignore", b"*.tmp\n"),
    ];
    for (name, content) in files {
        let p = m.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    m
}

/// Names the manifest must list for [`make_model`], in model-signing's order.
const SIGNED_NAMES: &[&str] = &[
    ".hidden",
    "A",
    "a/b",
    "a-b/c",
    "a.txt",
    "config.json",
    "weights/deep/er/empty.bin",
    "weights/model-00001.safetensors",
    "weights/model-00002.safetensors",
];

struct Keys {
    sec1: PathBuf,
    pkcs8: PathBuf,
    public: PathBuf,
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 key pair made by OpenSSL: SEC1 and PKCS#8 private keys, SPKI public key.
fn openssl_keys(dir: &Path, name: &str) -> Option<Keys> {
    common::tool("openssl")?;
    let k = Keys {
        sec1: dir.join(format!("{name}.ec.pem")),
        pkcs8: dir.join(format!("{name}.p8.pem")),
        public: dir.join(format!("{name}.pub.pem")),
    };
    let s = |p: &PathBuf| p.to_str().unwrap().to_string();
    openssl(&[
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        &s(&k.sec1),
    ]);
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-in",
        &s(&k.sec1),
        "-out",
        &s(&k.pkcs8),
    ]);
    openssl(&["ec", "-in", &s(&k.sec1), "-pubout", "-out", &s(&k.public)]);
    Some(k)
}

/// The `model_signing` CLI next to the test venv's Python.
fn model_signing() -> Option<PathBuf> {
    let py = common::python()?;
    let cli = py.parent().unwrap().join("model_signing");
    assert!(cli.exists(), "{} is missing", cli.display());
    Some(cli)
}

fn run(cli: &Path, args: &[&str]) -> Output {
    Command::new(cli)
        .args(args)
        .output()
        .expect("model_signing runs")
}

fn ms_verify(cli: &Path, model: &Path, sig: &Path, public: &Path) -> Output {
    run(
        cli,
        &[
            "verify",
            "key",
            model.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
            "--public_key",
            public.to_str().unwrap(),
        ],
    )
}

fn ms_sign(cli: &Path, model: &Path, sig: &Path, private: &Path) {
    let out = run(
        cli,
        &[
            "sign",
            "key",
            model.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
            "--private_key",
            private.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "model_signing sign key");
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn assert_refused(out: &Output, what: &str) {
    assert!(
        !out.status.success(),
        "{what}: model_signing accepted it: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn sign_into(model: &Path, private: &Path) -> sign::Signed {
    let signed = sign::sign_dir(
        model,
        &std::fs::read(private).unwrap(),
        &SignOptions::default(),
    )
    .unwrap();
    std::fs::write(sign::default_signature_path(model), &signed.bundle_json).unwrap();
    signed
}

fn our_verify(model: &Path, public: &Path) -> Result<sign::Verified, Error> {
    let bundle = std::fs::read(sign::default_signature_path(model)).unwrap();
    sign::verify_dir(
        model,
        &bundle,
        &std::fs::read(public).unwrap(),
        &VerifyOptions::default(),
    )
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

fn auth_naming(r: Result<sign::Verified, Error>, name: &str, what: &str) {
    let e = r.expect_err(what);
    assert!(e.is_auth(), "{what}: not an authentication failure: {e}");
    assert!(
        e.to_string().contains(name),
        "{what}: {name} not named: {e}"
    );
}

#[test]
fn we_sign_model_signing_verifies() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let model = make_model(dir.path());
    for private in [&keys.pkcs8, &keys.sec1] {
        let signed = sign_into(&model, private);
        let names: Vec<&str> = signed
            .manifest
            .files
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        assert_eq!(names, SIGNED_NAMES);
        let out = ms_verify(
            &cli,
            &model,
            &sign::default_signature_path(&model),
            &keys.public,
        );
        assert_ok(&out, "model_signing verify key of our signature");
        let v = our_verify(&model, &keys.public).unwrap();
        assert_eq!(v.subject_sha256, signed.manifest.subject_sha256());
        assert_eq!(v.model_name, "my-model");
    }
}

#[test]
fn model_signing_signs_we_verify() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let model = make_model(dir.path());
    let ours = sign::hash_model(&model, &SignOptions::default()).unwrap();
    for private in [&keys.sec1, &keys.pkcs8] {
        let sig = sign::default_signature_path(&model);
        ms_sign(&cli, &model, &sig, private);
        let bundle = sign::parse_bundle(&std::fs::read(&sig).unwrap()).unwrap();
        // Same files, same digests, same order, same subject digest as ours.
        assert_eq!(bundle.manifest.files, ours.files);
        assert_eq!(bundle.manifest.subject_sha256(), ours.subject_sha256());
        assert_eq!(bundle.manifest.model_name, "my-model");
        let v = our_verify(&model, &keys.public).unwrap();
        assert_eq!(v.files, ours.files);
    }
    // A signature kept outside the model folder, with the key from a PEM we derived.
    let outside = dir.path().join("elsewhere.sig");
    ms_sign(&cli, &model, &outside, &keys.pkcs8);
    let public = sign::public_key_pem(&std::fs::read(&keys.sec1).unwrap()).unwrap();
    assert_eq!(public, std::fs::read_to_string(&keys.public).unwrap());
    let opts = VerifyOptions {
        signature: Some(outside.clone()),
        ..VerifyOptions::default()
    };
    // model.sig (from above) is still in the folder but ignored: that signature listed it.
    sign::verify_dir(
        &model,
        &std::fs::read(&outside).unwrap(),
        public.as_bytes(),
        &opts,
    )
    .unwrap();
}

/// Byte changed, file added, file removed: both verifiers refuse our signature, and we refuse
/// model-signing's, naming the file.
#[test]
fn changed_added_removed_files_fail_both_ways() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let base = make_model(dir.path());
    type Edit = fn(&Path);
    let edits: [(&str, &str, Edit); 4] = [
        ("changed byte", "weights/model-00001.safetensors", |m| {
            let p = m.join("weights/model-00001.safetensors");
            let mut b = std::fs::read(&p).unwrap();
            b[12_345] ^= 1;
            std::fs::write(p, b).unwrap();
        }),
        ("added file", "weights/extra.bin", |m| {
            std::fs::write(m.join("weights/extra.bin"), b"new").unwrap();
        }),
        ("removed file", "weights/deep/er/empty.bin", |m| {
            std::fs::remove_file(m.join("weights/deep/er/empty.bin")).unwrap();
        }),
        ("emptied file", "a.txt", |m| {
            std::fs::write(m.join("a.txt"), b"").unwrap();
        }),
    ];
    for (i, (what, name, edit)) in edits.into_iter().enumerate() {
        for python_signs in [false, true] {
            let model = dir
                .path()
                .join(format!("case{i}-{python_signs}"))
                .join("my-model");
            copy_tree(&base, &model);
            let sig = sign::default_signature_path(&model);
            if python_signs {
                ms_sign(&cli, &model, &sig, &keys.sec1);
            } else {
                sign_into(&model, &keys.pkcs8);
            }
            our_verify(&model, &keys.public).unwrap();
            edit(&model);
            auth_naming(our_verify(&model, &keys.public), name, what);
            if !python_signs {
                assert_refused(&ms_verify(&cli, &model, &sig, &keys.public), what);
            }
        }
    }
}

#[test]
fn another_public_key_fails() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let Some(other) = openssl_keys(dir.path(), "other") else {
        return;
    };
    let model = make_model(dir.path());
    sign_into(&model, &keys.pkcs8);
    let e = our_verify(&model, &other.public).unwrap_err();
    assert!(e.is_auth() && e.to_string().contains("another key"), "{e}");
    let sig = sign::default_signature_path(&model);
    assert_refused(&ms_verify(&cli, &model, &sig, &other.public), "another key");

    // Without the key hint, the signature check itself refuses the other key.
    let mut bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&sig).unwrap()).unwrap();
    bundle["verificationMaterial"]["publicKey"]
        .as_object_mut()
        .unwrap()
        .remove("hint");
    let no_hint = serde_json::to_vec(&bundle).unwrap();
    let other_pem = std::fs::read(&other.public).unwrap();
    let e = sign::verify_dir(&model, &no_hint, &other_pem, &VerifyOptions::default()).unwrap_err();
    assert!(
        e.is_auth() && e.to_string().contains("does not verify"),
        "{e}"
    );
    let right = std::fs::read(&keys.public).unwrap();
    sign::verify_dir(&model, &no_hint, &right, &VerifyOptions::default()).unwrap();
}

#[test]
fn modified_signature_or_payload_fails() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let model = make_model(dir.path());
    let signed = sign_into(&model, &keys.pkcs8);
    let sig_path = sign::default_signature_path(&model);
    let original: serde_json::Value = serde_json::from_str(&signed.bundle_json).unwrap();
    let public = std::fs::read(&keys.public).unwrap();

    let mut cases: Vec<(&str, serde_json::Value)> = Vec::new();
    // A flipped bit in the DER signature.
    let mut b = original.clone();
    let mut raw = STANDARD
        .decode(b["dsseEnvelope"]["signatures"][0]["sig"].as_str().unwrap())
        .unwrap();
    let last = raw.len() - 1;
    raw[last] ^= 0x01;
    b["dsseEnvelope"]["signatures"][0]["sig"] = STANDARD.encode(&raw).into();
    cases.push(("modified signature", b));
    // A payload whose digest of config.json is another one (consistently, subject included).
    let mut b = original.clone();
    let payload = STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    let mut st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    for r in st["predicate"]["resources"].as_array_mut().unwrap() {
        if r["name"] == "config.json" {
            r["digest"] = "00".repeat(32).into();
        }
    }
    let mut m = signed.manifest.clone();
    for f in &mut m.files {
        if f.name == "config.json" {
            f.sha256 = [0; 32];
        }
    }
    st["subject"][0]["digest"]["sha256"] = sign::hex(&m.subject_sha256()).into();
    b["dsseEnvelope"]["payload"] = STANDARD.encode(serde_json::to_vec(&st).unwrap()).into();
    cases.push(("modified payload", b));
    // A payload with a file dropped from the list.
    let mut b = original.clone();
    let mut st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    st["predicate"]["resources"]
        .as_array_mut()
        .unwrap()
        .remove(0);
    b["dsseEnvelope"]["payload"] = STANDARD.encode(serde_json::to_vec(&st).unwrap()).into();
    cases.push(("payload with a file dropped", b));
    // Another payload type.
    let mut b = original.clone();
    b["dsseEnvelope"]["payloadType"] = "application/json".into();
    cases.push(("modified payload type", b));

    for (what, bundle) in cases {
        let bytes = serde_json::to_vec(&bundle).unwrap();
        let e =
            sign::verify_dir(&model, &bytes, &public, &VerifyOptions::default()).expect_err(what);
        assert!(e.is_auth(), "{what}: {e}");
        std::fs::write(&sig_path, &bytes).unwrap();
        assert_refused(&ms_verify(&cli, &model, &sig_path, &keys.public), what);
    }
    // And the untouched bundle still verifies, with both.
    std::fs::write(&sig_path, &signed.bundle_json).unwrap();
    assert_ok(
        &ms_verify(&cli, &model, &sig_path, &keys.public),
        "original bundle",
    );
}

#[test]
fn bundle_json_has_model_signing_types() {
    let dir = tempfile::tempdir().unwrap();
    let model = make_model(dir.path());
    let kp = sign::generate_key_pair().unwrap();
    let signed =
        sign::sign_dir(&model, kp.private_pem.as_bytes(), &SignOptions::default()).unwrap();
    let b: serde_json::Value = serde_json::from_str(&signed.bundle_json).unwrap();
    assert_eq!(
        b["mediaType"],
        "application/vnd.dev.sigstore.bundle.v0.3+json"
    );
    assert_eq!(
        b["dsseEnvelope"]["payloadType"],
        "application/vnd.in-toto+json"
    );
    let sigs = b["dsseEnvelope"]["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["keyid"], "");
    assert_eq!(
        b["verificationMaterial"]["tlogEntries"],
        serde_json::json!([])
    );
    let hint = ring::digest::digest(&ring::digest::SHA256, kp.public_pem.as_bytes());
    assert_eq!(
        b["verificationMaterial"]["publicKey"]["hint"],
        sign::hex(hint.as_ref())
    );
    let payload = STANDARD
        .decode(b["dsseEnvelope"]["payload"].as_str().unwrap())
        .unwrap();
    assert_eq!(payload, signed.payload);
    let st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(st["_type"], "https://in-toto.io/Statement/v1");
    assert_eq!(st["predicateType"], "https://model_signing/signature/v1.0");
    assert_eq!(st["subject"].as_array().unwrap().len(), 1);
    assert_eq!(st["subject"][0]["name"], "my-model");
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        sign::hex(&signed.manifest.subject_sha256())
    );
    let ser = &st["predicate"]["serialization"];
    assert_eq!(ser["method"], "files");
    assert_eq!(ser["hash_type"], "sha256");
    assert_eq!(ser["allow_symlinks"], false);
    assert_eq!(
        ser["ignore_paths"],
        serde_json::json!([
            ".git",
            ".gitattributes",
            ".github",
            ".gitignore",
            "model.sig"
        ])
    );
    let res = st["predicate"]["resources"].as_array().unwrap();
    let names: Vec<&str> = res.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, SIGNED_NAMES);
    // The subject digest is SHA-256 over the raw file digests in that order.
    let mut all = Vec::new();
    for r in res {
        assert_eq!(r["algorithm"], "sha256");
        let d = r["digest"].as_str().unwrap();
        all.extend((0..32).map(|i| u8::from_str_radix(&d[2 * i..2 * i + 2], 16).unwrap()));
    }
    let empty = res
        .iter()
        .find(|r| r["name"] == "weights/deep/er/empty.bin")
        .unwrap();
    assert_eq!(
        empty["digest"],
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        st["subject"][0]["digest"]["sha256"],
        sign::hex(ring::digest::digest(&ring::digest::SHA256, &all).as_ref())
    );
    // The bundle reads back.
    let parsed = sign::parse_bundle(signed.bundle_json.as_bytes()).unwrap();
    assert_eq!(parsed.manifest, signed.manifest);
}

#[test]
fn symlinks_follow_model_signing() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let model = make_model(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("blob"), b"content kept outside").unwrap();
    std::os::unix::fs::symlink(outside.join("blob"), model.join("weights/linked.bin")).unwrap();
    std::os::unix::fs::symlink(&outside, model.join("linked-dir")).unwrap();
    let key = std::fs::read(&keys.pkcs8).unwrap();

    // By default any symlink is refused, by both.
    let e = sign::sign_dir(&model, &key, &SignOptions::default()).unwrap_err();
    assert!(e.to_string().contains("linked"), "{e}");
    let sig = sign::default_signature_path(&model);
    let out = run(
        &cli,
        &[
            "sign",
            "key",
            model.to_str().unwrap(),
            "--signature",
            sig.to_str().unwrap(),
            "--private_key",
            keys.pkcs8.to_str().unwrap(),
        ],
    );
    assert_refused(&out, "signing a model with symlinks");

    // Allowed: links to files are hashed as their target, links to folders skipped.
    let allow = SignOptions {
        allow_symlinks: true,
        ..SignOptions::default()
    };
    let signed = sign::sign_dir(&model, &key, &allow).unwrap();
    std::fs::write(&sig, &signed.bundle_json).unwrap();
    assert!(signed.manifest.allow_symlinks);
    let names: Vec<&str> = signed
        .manifest
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(names.contains(&"weights/linked.bin"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.starts_with("linked-dir")),
        "{names:?}"
    );
    let mut args = vec!["verify", "key", model.to_str().unwrap(), "--signature"];
    args.extend([
        sig.to_str().unwrap(),
        "--public_key",
        keys.public.to_str().unwrap(),
    ]);
    assert_refused(
        &run(&cli, &args),
        "verifying a model with symlinks without --allow_symlinks",
    );
    args.push("--allow_symlinks");
    assert_ok(
        &run(&cli, &args),
        "model_signing verify key --allow_symlinks",
    );
    let public = std::fs::read(&keys.public).unwrap();
    let bundle = std::fs::read(&sig).unwrap();
    let e = sign::verify_dir(&model, &bundle, &public, &VerifyOptions::default()).unwrap_err();
    assert!(e.is_auth() && e.to_string().contains("symlink"), "{e}");
    let allow_v = VerifyOptions {
        allow_symlinks: true,
        ..VerifyOptions::default()
    };
    sign::verify_dir(&model, &bundle, &public, &allow_v).unwrap();

    // model-signing's signature of the same tree verifies with ours; changing the target
    // outside the folder fails both.
    let out = run(
        &cli,
        &[
            "sign",
            "key",
            model.to_str().unwrap(),
            "--allow_symlinks",
            "--signature",
            sig.to_str().unwrap(),
            "--private_key",
            keys.sec1.to_str().unwrap(),
        ],
    );
    assert_ok(&out, "model_signing sign key --allow_symlinks");
    let bundle = std::fs::read(&sig).unwrap();
    sign::verify_dir(&model, &bundle, &public, &allow_v).unwrap();
    std::fs::write(outside.join("blob"), b"content changed outside").unwrap();
    auth_naming(
        sign::verify_dir(&model, &bundle, &public, &allow_v),
        "weights/linked.bin",
        "symlink target changed",
    );
}

#[test]
fn ignored_paths_are_recorded_and_honoured() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let model = make_model(dir.path());
    std::fs::write(model.join("README.md"), b"not signed").unwrap();
    let opts = SignOptions {
        ignore_paths: vec![PathBuf::from("README.md"), PathBuf::from("a")],
        ..SignOptions::default()
    };
    let signed = sign::sign_dir(&model, &std::fs::read(&keys.pkcs8).unwrap(), &opts).unwrap();
    let names: Vec<&str> = signed
        .manifest
        .files
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    assert!(
        !names.contains(&"README.md") && !names.contains(&"a/b"),
        "{names:?}"
    );
    assert!(
        names.contains(&"a.txt") && names.contains(&"a-b/c"),
        "{names:?}"
    );
    let sig = sign::default_signature_path(&model);
    std::fs::write(&sig, &signed.bundle_json).unwrap();
    // Ignored files may change: the signature says they are not part of the model.
    std::fs::write(model.join("README.md"), b"changed").unwrap();
    std::fs::write(model.join("a/b"), b"changed").unwrap();
    std::fs::write(model.join(".git/HEAD"), b"changed").unwrap();
    assert_ok(
        &ms_verify(&cli, &model, &sig, &keys.public),
        "ignored paths",
    );
    our_verify(&model, &keys.public).unwrap();
    // Ignore paths must be inside the model.
    let bad = SignOptions {
        ignore_paths: vec![PathBuf::from("../elsewhere")],
        ..SignOptions::default()
    };
    sign::sign_dir(&model, &std::fs::read(&keys.pkcs8).unwrap(), &bad).unwrap_err();
}

#[test]
fn single_file_model_interoperates() {
    let Some(cli) = model_signing() else { return };
    let dir = tempfile::tempdir().unwrap();
    let Some(keys) = openssl_keys(dir.path(), "k") else {
        return;
    };
    let file = dir.path().join("model.safetensors");
    std::fs::write(&file, b"one file model").unwrap();
    let sig = dir.path().join("model.safetensors.sig");
    let opts = SignOptions {
        signature: Some(sig.clone()),
        ..SignOptions::default()
    };
    let signed = sign::sign_dir(&file, &std::fs::read(&keys.sec1).unwrap(), &opts).unwrap();
    assert_eq!(signed.manifest.files.len(), 1);
    assert_eq!(signed.manifest.files[0].name, ".");
    std::fs::write(&sig, &signed.bundle_json).unwrap();
    assert_ok(&ms_verify(&cli, &file, &sig, &keys.public), "single file");
    ms_sign(&cli, &file, &sig, &keys.pkcs8);
    let public = std::fs::read(&keys.public).unwrap();
    let vopts = VerifyOptions {
        signature: Some(sig.clone()),
        ..VerifyOptions::default()
    };
    sign::verify_dir(&file, &std::fs::read(&sig).unwrap(), &public, &vopts).unwrap();
    std::fs::write(&file, b"one file modelX").unwrap();
    auth_naming(
        sign::verify_dir(&file, &std::fs::read(&sig).unwrap(), &public, &vopts),
        ".",
        "changed single file",
    );
}

#[test]
fn keys_in_every_pem_form() {
    let dir = tempfile::tempdir().unwrap();
    let kp = sign::generate_key_pair().unwrap();
    assert!(kp.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(kp.public_pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    assert_eq!(
        sign::public_key_pem(kp.private_pem.as_bytes()).unwrap(),
        kp.public_pem
    );
    // OpenSSL reads what we generate and derives the same public key.
    if common::tool("openssl").is_some() {
        let p = dir.path().join("ours.pem");
        std::fs::write(&p, kp.private_pem.as_bytes()).unwrap();
        let out = Command::new("openssl")
            .args(["pkey", "-in", p.to_str().unwrap(), "-pubout"])
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), kp.public_pem);
        // SEC1 with the EC PARAMETERS block openssl ecparam writes first, and CRLF lines.
        let sec1 = dir.path().join("sec1.pem");
        openssl(&[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-out",
            sec1.to_str().unwrap(),
        ]);
        let text = std::fs::read_to_string(&sec1).unwrap();
        assert!(text.contains("EC PARAMETERS"));
        let crlf = text.replace('\n', "\r\n");
        let a = sign::public_key_pem(text.as_bytes()).unwrap();
        assert_eq!(sign::public_key_pem(crlf.as_bytes()).unwrap(), a);
        let out = Command::new("openssl")
            .args(["ec", "-in", sec1.to_str().unwrap(), "-pubout"])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), a);
        // Other curves are refused with a key error.
        let p384 = dir.path().join("p384.pem");
        openssl(&[
            "ecparam",
            "-name",
            "secp384r1",
            "-genkey",
            "-noout",
            "-out",
            p384.to_str().unwrap(),
        ]);
        let e = sign::public_key_pem(&std::fs::read(&p384).unwrap()).unwrap_err();
        assert!(matches!(e, Error::Key(_)), "{e}");
    }
    for bad in [
        &b""[..],
        b"garbage",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        assert!(matches!(sign::public_key_pem(bad), Err(Error::Key(_))));
        assert!(matches!(
            sign::verify_dir(dir.path(), b"{}", bad, &VerifyOptions::default()),
            Err(Error::Key(_))
        ));
    }
    let enc = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
    let e = sign::public_key_pem(enc).unwrap_err();
    assert!(e.to_string().contains("encrypted"), "{e}");
}

#[test]
fn parse_bundle_is_strict() {
    let dir = tempfile::tempdir().unwrap();
    let model = make_model(dir.path());
    let kp = sign::generate_key_pair().unwrap();
    let signed =
        sign::sign_dir(&model, kp.private_pem.as_bytes(), &SignOptions::default()).unwrap();
    let good: serde_json::Value = serde_json::from_str(&signed.bundle_json).unwrap();
    let payload = signed.payload.clone();
    let with_payload = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut st: serde_json::Value = serde_json::from_slice(&payload).unwrap();
        f(&mut st);
        let mut b = good.clone();
        b["dsseEnvelope"]["payload"] = STANDARD.encode(serde_json::to_vec(&st).unwrap()).into();
        serde_json::to_vec(&b).unwrap()
    };
    let with_bundle = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut b = good.clone();
        f(&mut b);
        serde_json::to_vec(&b).unwrap()
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"not json".to_vec()),
        ("empty object", b"{}".to_vec()),
        (
            "v0.2 bundle",
            with_bundle(&|b| {
                b["mediaType"] = "application/vnd.dev.sigstore.bundle+json;version=0.2".into()
            }),
        ),
        (
            "certificate",
            with_bundle(&|b| {
                b["verificationMaterial"]["x509CertificateChain"] =
                    serde_json::json!({"certificates": []})
            }),
        ),
        (
            "no publicKey",
            with_bundle(&|b| {
                b["verificationMaterial"]
                    .as_object_mut()
                    .unwrap()
                    .remove("publicKey");
            }),
        ),
        (
            "two signatures",
            with_bundle(&|b| {
                let s = b["dsseEnvelope"]["signatures"][0].clone();
                b["dsseEnvelope"]["signatures"]
                    .as_array_mut()
                    .unwrap()
                    .push(s);
            }),
        ),
        (
            "no signature",
            with_bundle(&|b| b["dsseEnvelope"]["signatures"] = serde_json::json!([])),
        ),
        (
            "old predicate",
            with_payload(&|s| s["predicateType"] = "https://model_signing/Digests/v0.1".into()),
        ),
        (
            "other statement",
            with_payload(&|s| s["_type"] = "https://in-toto.io/Statement/v0.1".into()),
        ),
        (
            "shards",
            with_payload(&|s| s["predicate"]["serialization"]["method"] = "shards".into()),
        ),
        (
            "blake3",
            with_payload(&|s| s["predicate"]["serialization"]["hash_type"] = "blake3".into()),
        ),
        (
            "two subjects",
            with_payload(&|s| {
                let x = s["subject"][0].clone();
                s["subject"].as_array_mut().unwrap().push(x);
            }),
        ),
        (
            "subject digest",
            with_payload(&|s| s["subject"][0]["digest"]["sha256"] = "00".repeat(32).into()),
        ),
        (
            "dot dot",
            with_payload(&|s| s["predicate"]["resources"][0]["name"] = "../x".into()),
        ),
        (
            "absolute",
            with_payload(&|s| s["predicate"]["resources"][0]["name"] = "/etc/passwd".into()),
        ),
        (
            "short digest",
            with_payload(&|s| s["predicate"]["resources"][0]["digest"] = "abcd".into()),
        ),
        (
            "duplicate",
            with_payload(&|s| {
                let r = s["predicate"]["resources"][0].clone();
                s["predicate"]["resources"]
                    .as_array_mut()
                    .unwrap()
                    .insert(0, r);
            }),
        ),
        (
            "ignore everything",
            with_payload(&|s| {
                s["predicate"]["serialization"]["ignore_paths"] = serde_json::json!(["."])
            }),
        ),
    ];
    for (what, bytes) in cases {
        let e = sign::parse_bundle(&bytes).expect_err(what);
        assert!(matches!(e, Error::Format(_)), "{what}: {e}");
    }
    let e = sign::parse_bundle(&with_bundle(&|b| {
        b["dsseEnvelope"]["payload"] = "!!".into()
    }))
    .unwrap_err();
    assert!(e.is_auth(), "{e}");
    // Unpadded base64 and an absent hint are fine (protobuf JSON allows both).
    let ok = with_bundle(&|b| {
        let p = b["dsseEnvelope"]["payload"]
            .as_str()
            .unwrap()
            .trim_end_matches('=')
            .to_string();
        b["dsseEnvelope"]["payload"] = p.into();
        b["verificationMaterial"]["publicKey"] = serde_json::json!({});
    });
    let parsed = sign::parse_bundle(&ok).unwrap();
    assert_eq!(parsed.key_hint, None);
    assert_eq!(parsed.payload, signed.payload);
    sign::verify_dir(
        &model,
        &ok,
        kp.public_pem.as_bytes(),
        &VerifyOptions::default(),
    )
    .unwrap();
}

/// The fuzz target's body over its seeds and saved corpus (fuzz/seeds-model-bundle,
/// fuzz/corpus/model_bundle); the `valid*` seeds must verify.
#[test]
fn fuzz_seeds_replay() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut valid = 0;
    for sub in ["seeds-model-bundle", "corpus/model_bundle"] {
        let Ok(rd) = std::fs::read_dir(fuzz.join(sub)) else {
            assert_ne!(sub, "seeds-model-bundle", "the seeds are missing");
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            let data = std::fs::read(&p).unwrap();
            check_model_bundle_input(&data);
            if p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("valid")
            {
                let fx = model_bundle_fixture();
                sign::verify_dir(
                    &fx.dir,
                    &data,
                    MODEL_BUNDLE_TEST_PUBLIC_KEY.as_bytes(),
                    &VerifyOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                valid += 1;
            }
        }
    }
    assert!(valid >= 1, "no valid seed");
    let _ = std::fs::remove_dir_all(model_bundle_fixture().dir.parent().unwrap());
}
