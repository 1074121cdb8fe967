//! `mlguard model` through the real binary: exit codes, files left (or not) behind, folders,
//! streams, rewrap, inspect, manifests (validated as a Pod by kubernetes-validate), sign and
//! verify, and decrypt --verify-key.

mod common;

use common::{code, err, out};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn mlg(args: &[&str]) -> std::process::Output {
    common::run(args, None)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn data(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(seed).wrapping_add((i >> 9) as u8))
        .collect()
}

/// `mlguard model encrypt|decrypt IN -o OUT --key KEY EXTRA...`
fn crypt(
    op: &str,
    input: &Path,
    output: &Path,
    key: &Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec!["model", op, s(input), "-o", s(output), "--key", s(key)];
    args.extend_from_slice(extra);
    mlg(&args)
}

fn keygen(dir: &Path, name: &str) -> PathBuf {
    let k = dir.join(name);
    let o = mlg(&["model", "keygen", "-o", s(&k)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    k
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn file_round_trip_wrong_key_and_tampering() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let k = keygen(d, "model.key");
    // The key file is private and holds no printed secret.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let o = mlg(&["model", "keygen", "-o", s(&k)]);
    assert_eq!(code(&o), 2, "keygen must not overwrite a key");
    let plain = data(2_500_000, 7);
    std::fs::write(d.join("m.safetensors"), &plain).unwrap();
    let o = mlg(&[
        "model",
        "encrypt",
        s(&d.join("m.safetensors")),
        "-o",
        s(&d.join("m.enc")),
        "--key",
        s(&k),
        "--digest",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("out")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(std::fs::read(d.join("out")).unwrap() == plain);
    // Not on tmpfs: a loud warning, or an error with --require-memory-fs.
    if !err(&o).contains("tmpfs") {
        assert!(
            err(&o).contains("WARNING") && err(&o).contains("not a memory filesystem"),
            "{}",
            err(&o)
        );
        let o = mlg(&[
            "model",
            "decrypt",
            s(&d.join("m.enc")),
            "-o",
            s(&d.join("out2")),
            "--key",
            s(&k),
            "--require-memory-fs",
        ]);
        assert_eq!(code(&o), 2, "{}", err(&o));
        assert!(!d.join("out2").exists());
    }
    // Wrong key: exit 1, nothing written.
    let k2 = keygen(d, "other.key");
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("x")),
        "--key",
        s(&k2),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(
        err(&o).contains("no key given opens this file"),
        "{}",
        err(&o)
    );
    // One modified body byte: exit 1, no output, no temporary file.
    let mut b = std::fs::read(d.join("m.enc")).unwrap();
    let at = b.len() - 1_000_000;
    b[at] ^= 0x40;
    std::fs::write(d.join("m.enc"), &b).unwrap();
    let before = entries(d);
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("x")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(err(&o).contains("authentication failed"), "{}", err(&o));
    assert_eq!(entries(d), before, "a failed decrypt left files behind");
    // Truncated: exit 1.
    std::fs::write(d.join("m.enc"), &b[..b.len() - 20]).unwrap();
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("x")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    // Not an encrypted model: exit 2, naming the file.
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.safetensors")),
        "-o",
        s(&d.join("x")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 2, "{}", err(&o));
    assert!(
        err(&o).contains("m.safetensors") && err(&o).contains("bad magic"),
        "{}",
        err(&o)
    );
    // No key at all: exit 2 with what to pass.
    let o = mlg(&[
        "model",
        "encrypt",
        s(&d.join("m.safetensors")),
        "-o",
        s(&d.join("y")),
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--key"), "{}", err(&o));
}

#[test]
fn folders_streams_rewrap_and_inspect() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let k = keygen(d, "k");
    let m = d.join("model");
    std::fs::create_dir_all(m.join("shards")).unwrap();
    std::fs::write(m.join("config.json"), b"{\"a\":1}").unwrap();
    std::fs::write(m.join("shards/0.bin"), data(1_200_000, 3)).unwrap();
    std::fs::write(m.join("empty"), b"").unwrap();
    let o = mlg(&[
        "model",
        "encrypt",
        s(&m),
        "-o",
        s(&d.join("enc")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(d.join("enc/shards/0.bin").is_file());
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("enc")),
        "-o",
        s(&d.join("dec")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    for f in ["config.json", "shards/0.bin", "empty"] {
        assert_eq!(
            std::fs::read(m.join(f)).unwrap(),
            std::fs::read(d.join("dec").join(f)).unwrap(),
            "{f}"
        );
    }
    assert_eq!(entries(&d.join("dec")), ["config.json", "empty", "shards"]);
    // A symlink out of the tree: exit 2, naming it.
    std::os::unix::fs::symlink("../k", m.join("leak")).unwrap();
    let o = mlg(&[
        "model",
        "encrypt",
        s(&m),
        "-o",
        s(&d.join("enc2")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("leak") && err(&o).contains("out of the tree"),
        "{}",
        err(&o)
    );
    // stdin to stdout and back.
    let plain = data(3_000_000, 11);
    let enc = pipe(
        &["model", "encrypt", "-", "-o", "-", "--key", s(&k)],
        &plain,
    );
    assert!(
        enc.status.success(),
        "{}",
        String::from_utf8_lossy(&enc.stderr)
    );
    let dec = pipe(
        &["model", "decrypt", "-", "-o", "-", "--key", s(&k)],
        &enc.stdout,
    );
    assert!(dec.status.success());
    assert!(dec.stdout == plain);
    let cut = pipe(
        &["model", "decrypt", "-", "-o", "-", "--key", s(&k)],
        &enc.stdout[..enc.stdout.len() - 1],
    );
    assert_eq!(cut.status.code(), Some(1));
    // Rewrap: rotate to a new key; the old one no longer opens it.
    let f = d.join("enc/shards/0.bin");
    let k2 = keygen(d, "k2");
    let o = mlg(&["model", "rewrap", s(&f), "--key", s(&k), "--to-key", s(&k2)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = mlg(&[
        "model",
        "decrypt",
        s(&f),
        "-o",
        s(&d.join("r1")),
        "--key",
        s(&k),
    ]);
    assert_eq!(code(&o), 1);
    let o = mlg(&[
        "model",
        "decrypt",
        s(&f),
        "-o",
        s(&d.join("r2")),
        "--key",
        s(&k2),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // Inspect needs no key and prints none.
    let o = mlg(&["model", "inspect", s(&f), "--format", "json"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["meta"]["name"], "0.bin");
    assert_eq!(v["meta"]["size"], 1_200_000);
    assert_eq!(v["segments"], 2);
    assert_eq!(v["stanzas"][0]["type"], "local");
    assert!(v["stanzas"][0].get("body").is_none());
    let keytext = std::fs::read_to_string(&k2).unwrap();
    assert!(!out(&o).contains(keytext.trim().trim_start_matches("mlguard-key-v1:")));
}

fn pipe(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut c = Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let data = input.to_vec();
    let w = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let o = c.wait_with_output().unwrap();
    w.join().unwrap();
    o
}

#[test]
fn age_identities_from_the_age_tool() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let Ok(kg) = Command::new("age-keygen")
        .arg("-o")
        .arg(d.join("id"))
        .output()
    else {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "age-keygen missing"
        );
        return;
    };
    assert!(kg.status.success());
    let r = Command::new("age-keygen")
        .arg("-y")
        .arg(d.join("id"))
        .output()
        .unwrap();
    let recipient = String::from_utf8(r.stdout).unwrap().trim().to_owned();
    std::fs::write(d.join("m"), data(100_000, 5)).unwrap();
    let o = mlg(&[
        "model",
        "encrypt",
        s(&d.join("m")),
        "-o",
        s(&d.join("m.enc")),
        "-r",
        &recipient,
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("m.out")),
        "-i",
        s(&d.join("id")),
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        std::fs::read(d.join("m")).unwrap(),
        std::fs::read(d.join("m.out")).unwrap()
    );
    // An age identity of our keygen is not this file's: exit 1.
    let o = mlg(&["model", "keygen", "--age", "-o", s(&d.join("id2"))]);
    assert_eq!(code(&o), 0);
    assert!(err(&o).contains("age1"), "{}", err(&o));
    let o = mlg(&[
        "model",
        "decrypt",
        s(&d.join("m.enc")),
        "-o",
        s(&d.join("m.out2")),
        "-i",
        s(&d.join("id2")),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
}

fn ec_keys(d: &Path) -> Option<(PathBuf, PathBuf)> {
    let key = d.join("sign.key");
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out {0} && openssl ec -in {0} -pubout -out {0}.pub",
            key.display()
        ))
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "openssl missing"
        );
        return None;
    }
    let public = PathBuf::from(format!("{}.pub", key.display()));
    Some((key, public))
}

#[test]
fn sign_verify_and_decrypt_with_verification() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let Some((sk, pk)) = ec_keys(d) else { return };
    let m = d.join("model");
    std::fs::create_dir_all(&m).unwrap();
    std::fs::write(m.join("config.json"), b"{}").unwrap();
    std::fs::write(m.join("w.bin"), data(300_000, 9)).unwrap();
    let o = mlg(&["model", "sign", s(&m), "--key", s(&sk)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(m.join("model.sig").is_file());
    let o = mlg(&["model", "verify", s(&m), "--key", s(&pk)]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // Encrypt the signed folder (signature included), decrypt with verification.
    let k = keygen(d, "k");
    assert_eq!(code(&crypt("encrypt", &m, &d.join("enc"), &k, &[])), 0);
    let out_dir = d.join("serve");
    let o = crypt(
        "decrypt",
        &d.join("enc"),
        &out_dir,
        &k,
        &["--verify-key", s(&pk)],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(entries(&out_dir), ["config.json", "model.sig", "w.bin"]);
    // A file changed after signing (then encrypted): the decrypt verifies nothing into place.
    std::fs::write(m.join("w.bin"), data(300_000, 10)).unwrap();
    let o = mlg(&["model", "verify", s(&m), "--key", s(&pk)]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert_eq!(code(&crypt("encrypt", &m, &d.join("enc2"), &k, &[])), 0);
    let out2 = d.join("serve2");
    let o = crypt(
        "decrypt",
        &d.join("enc2"),
        &out2,
        &k,
        &["--verify-key", s(&pk)],
    );
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(
        entries(&out2).is_empty(),
        "unverified plaintext visible: {:?}",
        entries(&out2)
    );
    // A wrong public key: exit 1.
    let other = d.join("o");
    std::fs::create_dir_all(&other).unwrap();
    let Some((_, pk2)) = ec_keys(&other) else {
        return;
    };
    std::fs::write(m.join("w.bin"), data(300_000, 9)).unwrap();
    let o = mlg(&["model", "verify", s(&m), "--key", s(&pk2)]);
    assert_eq!(code(&o), 1, "{}", err(&o));
}

#[test]
fn manifests_make_a_valid_pod() {
    let img = "registry.example.com/mlguard@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    for extra in [
        vec![
            "--key-secret",
            "model-key",
            "--verify-key-secret",
            "model-pub",
        ],
        vec!["--key-csi", "team-a-keys"],
        vec![
            "--kms",
            "vault://vault.vault:8200/transit/keys/models?k8s-role=team-a",
        ],
    ] {
        let mut args = vec![
            "model",
            "manifests",
            "--image",
            img,
            "--size-limit",
            "20Gi",
            "--format",
            "json",
        ];
        args.extend(&extra);
        let o = mlg(&args);
        assert_eq!(code(&o), 0, "{}", err(&o));
        let mut frag: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
        let spec = frag["spec"].take();
        assert_eq!(spec["volumes"][1]["emptyDir"]["medium"], "Memory");
        assert_eq!(spec["volumes"][1]["emptyDir"]["sizeLimit"], "20Gi");
        assert_eq!(
            spec["initContainers"][0]["resources"]["limits"]["memory"],
            "20736Mi"
        );
        assert_eq!(spec["containers"][0]["volumeMounts"][0]["readOnly"], true);
        let args: Vec<String> =
            serde_json::from_value(spec["initContainers"][0]["args"].clone()).unwrap();
        assert_eq!(&args[..2], ["model", "decrypt"]);
        assert!(args.contains(&"--require-memory-fs".to_owned()));
        // Completed with what the fragment leaves to the user, it is a valid Pod.
        let mut spec = spec;
        spec["containers"][0]["image"] = serde_json::json!("kserve/huggingfaceserver@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
        let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "llm", "namespace": "team-a"}, "spec": spec});
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("pod.json");
        std::fs::write(&p, serde_json::to_vec(&pod).unwrap()).unwrap();
        common::assert_valid_for_kubernetes(&p, &["1.33.0"]);
    }
    let o = mlg(&[
        "model",
        "manifests",
        "--image",
        "mlguard:latest",
        "--key-secret",
        "k",
    ]);
    assert_eq!(code(&o), 2);
    let o = mlg(&["model", "manifests", "--image", img]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--key-secret"), "{}", err(&o));
}
