//! Each known evasion family and each benign real-world shape, in files written by
//! tests/support/make_models.py with the real libraries (NumPy, joblib, Python's pickle and
//! zipfile; PyTorch's and scikit-learn's globals through stand-in modules, since neither is
//! installed): benign files have no finding at all, every evasion is critical.
//!
//! Without MLGUARD_TEST_PYTHON the test is skipped with a message, unless MLGUARD_REQUIRE_TOOLS
//! is set: then it fails.

mod common;
use common::python;
use mlguard_modelscan::{scan_file, FileReport, Options, Severity};
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures(tag: &str) -> Option<PathBuf> {
    let py = python()?;
    let dir = std::env::temp_dir().join(format!("mlguard-modelscan-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/make_models.py");
    let out = Command::new(py)
        .arg(script)
        .arg(&dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "make_models.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir)
}

fn describe(r: &FileReport) -> String {
    let f: Vec<_> = r
        .findings
        .iter()
        .map(|f| format!("{} {:?} {:?} {}", f.code, f.severity, f.member, f.reason))
        .collect();
    format!(
        "{} [{}] {}: {f:#?}",
        r.path.display(),
        r.format,
        r.verdict()
    )
}

#[test]
fn benign_shapes_are_clean_and_evasions_are_critical() {
    let Some(dir) = fixtures("families") else {
        return;
    };
    let opts = Options::default();
    let expect_format = [
        ("benign/state_dict.pt", "pytorch-zip"),
        ("benign/weights.npy", "numpy-npy"),
        ("benign/arrays.npz", "numpy-npz"),
        ("benign/arrays_compressed.npz", "numpy-npz"),
        ("benign/objects.npy", "numpy-npy"),
        ("benign/pipeline.joblib", "joblib"),
        ("benign/pipeline_zlib.joblib", "zlib"),
        ("benign/pipeline_gzip.joblib", "gzip"),
        ("benign/estimator.pkl", "pickle"),
        ("benign/legacy_p0.pt", "pytorch-legacy"),
        ("benign/legacy_p2.pt", "pytorch-legacy"),
        ("evasion/torch_other_folder.pt", "pytorch-zip"),
        ("evasion/lambda.keras", "keras"),
    ];
    let mut failures = Vec::new();
    let mut benign = 0;
    let mut evasions = 0;
    for sub in ["benign", "evasion"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let r = scan_file(&f, &opts);
            let rel = format!("{sub}/{}", f.file_name().unwrap().to_string_lossy());
            if let Some((_, want)) = expect_format.iter().find(|(n, _)| *n == rel) {
                if r.format != *want {
                    failures.push(format!("{rel}: format {} instead of {want}", r.format));
                }
            }
            let ok = if sub == "benign" {
                benign += 1;
                r.findings.is_empty() && r.verdict() == "clean"
            } else {
                evasions += 1;
                r.max_severity() == Some(Severity::Critical) && r.verdict() == "unsafe"
            };
            if !ok {
                failures.push(describe(&r));
            }
        }
    }
    println!(
        "{benign} benign files clean, {evasions} evasions critical, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        benign >= 12 && evasions >= 18,
        "{benign} benign, {evasions} evasions"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Tensor records (`<archive>/data/<n>`) are skipped without being read: the fixture's records
/// start like malicious pickles, and the state dict is still clean; members are counted.
#[test]
fn tensor_records_are_skipped_and_counted() {
    let Some(dir) = fixtures("records") else {
        return;
    };
    let r = scan_file(&dir.join("benign/state_dict.pt"), &Options::default());
    assert_eq!(r.members_skipped, 3, "{}", describe(&r)); // data/0, data/1, .data/serialization_id
    assert_eq!(r.members_scanned, 3, "{}", describe(&r)); // data.pkl, byteorder, version
    assert!(r
        .imports
        .iter()
        .any(|i| i.name == "torch._utils._rebuild_tensor_v2" && i.verdict == "allowed"));
    let _ = std::fs::remove_dir_all(&dir);
}
