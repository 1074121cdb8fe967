//! The shared corpus of picklescan's test samples (../shared/corpus/pickles/picklescan/tests,
//! MIT, mmaitre314/picklescan @ f15d54d): every malicious sample and advisory reproduction is
//! flagged at medium or above, the benign ones have no findings, and every other file gets the
//! verdict docs/model-scan.md gives it. Prints `N passed, N failed`.

use mlguard_modelscan::{scan_file, FileReport, Options, Severity};
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/pickles/picklescan/tests");
    if p.is_dir() {
        Some(p)
    } else if std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_some() {
        panic!("the shared corpus is missing at {}", p.display());
    } else {
        None
    }
}

/// What a sample must get.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    /// A finding at medium or above; critical when a denied global is reached.
    Flagged { critical: bool },
    /// No finding at all.
    Clean,
    /// "not verifiably safe" and nothing worse.
    NotVerifiable,
}

fn expectation(rel: &str) -> Want {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    match rel {
        // Samples whose payload reaches no denied global: they import something unknown, or
        // cannot be analysed, which is medium or above.
        "data2/GHSA-jgw4-cr84-mqxg.bin" => Want::Flagged { critical: true },
        "data/malicious1.7z" => Want::NotVerifiable,
        "data/benign_password_protected.zip" | "data/bad_pytorch.pt" | "data/not_a_pickle.bin" => {
            Want::NotVerifiable
        }
        "data/broken_model.pkl" => Want::Flagged { critical: true },
        "data/benign0_v0.pkl" | "data/benign0_v3.pkl" | "data/benign0_v4.pkl" => Want::Clean,
        "data/pytorch_model.bin" | "data/new_pytorch_model.bin" => Want::Clean,
        "data2/int_array.npy" | "data2/int_arrays.npz" | "data2/int_arrays_compressed.npz" => {
            Want::Clean
        }
        "data2/object_array.npy"
        | "data2/object_arrays.npz"
        | "data2/object_arrays_compressed.npz" => Want::Clean,
        _ if name.starts_with("malicious")
            || name.starts_with("GHSA-")
            || name == "pytorch_magic_bypass.pt"
            || name == "sys_module_override_sploit.pkl" =>
        {
            Want::Flagged { critical: true }
        }
        // The other advisory-style samples in data2 (cloudpickle, io.FileIO, logging handlers,
        // urllib, types.CodeType, exploits through keys and types) all reach denied globals.
        _ if rel.starts_with("data2/") => Want::Flagged { critical: true },
        _ => panic!("no expectation for {rel}: add it here and to docs/model-scan.md"),
    }
}

fn holds(want: Want, r: &FileReport) -> bool {
    let max = r.max_severity();
    match want {
        Want::Clean => r.findings.is_empty() && r.error.is_none(),
        Want::Flagged { critical } => {
            max.is_some_and(|s| s >= Severity::Medium)
                && (!critical || max == Some(Severity::Critical))
        }
        Want::NotVerifiable => r.verdict() == "not-verifiably-safe",
    }
}

#[test]
fn picklescan_corpus_verdicts() {
    let Some(root) = corpus() else { return };
    let opts = Options::default();
    let mut passed = 0;
    let mut failed = Vec::new();
    for sub in ["data", "data2"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            let rel = format!("{sub}/{}", f.file_name().unwrap().to_string_lossy());
            let want = expectation(&rel);
            let r = scan_file(&f, &opts);
            if holds(want, &r) {
                passed += 1;
            } else {
                let got: Vec<_> = r
                    .findings
                    .iter()
                    .map(|x| format!("{} {:?} {}", x.code, x.severity, x.reason))
                    .collect();
                failed.push(format!(
                    "{rel}: want {want:?}, got {} ({}) {got:#?}",
                    r.verdict(),
                    r.format
                ));
            }
        }
    }
    println!("{passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert!(passed >= 100, "only {passed} samples");
}
