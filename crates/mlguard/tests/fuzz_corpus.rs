//! Replays the saved corpora of the `scan` and `settings` fuzz targets (fuzz/corpus/scan,
//! fuzz/corpus/settings) and their seeds as ordinary tests, running exactly the fuzz targets'
//! bodies (fuzz/common/*_check.rs, included below). docs/testing.md says how to refresh them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

include!("../../../fuzz/common/scan_check.rs");
include!("../../../fuzz/common/settings_check.rs");

/// Generous for an unoptimised build on 2 shared cores; a hang still fails.
const PER_FILE_LIMIT: Duration = Duration::from_secs(20);

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn replay(dirs: &[&str], min: usize, check: fn(&[u8])) {
    let mut n = 0;
    for d in dirs {
        for f in files_in(&fuzz_dir().join(d)) {
            let data = std::fs::read(&f).expect("read corpus file");
            let start = Instant::now();
            let r = std::panic::catch_unwind(|| check(&data));
            assert!(r.is_ok(), "{} panicked", f.display());
            assert!(
                start.elapsed() < PER_FILE_LIMIT,
                "{} took {:?}",
                f.display(),
                start.elapsed()
            );
            n += 1;
        }
    }
    assert!(
        n >= min,
        "only {n} inputs replayed from {dirs:?}: the saved corpus went missing"
    );
}

#[test]
fn scan_fuzz_corpus_replays() {
    replay(&["corpus/scan", "seeds-scan"], 150, check_scan_input);
}

#[test]
fn settings_fuzz_corpus_replays() {
    replay(
        &["corpus/settings", "seeds-settings"],
        150,
        check_settings_input,
    );
}
