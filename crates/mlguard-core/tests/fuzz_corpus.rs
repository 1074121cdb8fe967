//! Replays the saved corpus of the `loader` fuzz target (fuzz/corpus/loader) as an ordinary
//! test, running exactly the fuzz target's body (fuzz/common/loader_check.rs, included below).
//! The hand-written seeds (fuzz/seeds) and any reproducers kept in fuzz/artifacts-kept (crashes
//! found and fixed) are replayed too.
//!
//! The corpus is refreshed as docs/testing.md describes (`cargo fuzz cmin`, then
//! fuzz/cap_corpus.py to keep it at 200 files).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

include!("../../../fuzz/common/loader_check.rs");

/// The committed corpus holds more than this many files; fewer means it went missing.
const MIN_CORPUS_FILES: usize = 150;
const MIN_SEED_FILES: usize = 20;

/// Unoptimised build on 2 shared cores: generous, but a hang still fails.
const TOTAL_LIMIT: Duration = Duration::from_secs(300);
const PER_FILE_LIMIT: Duration = Duration::from_secs(20);

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .filter(|p| {
                !p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || n.ends_with(".md"))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// Replay `files` on a worker thread, failing on a panic (with the file's name) or a hang.
fn replay(files: Vec<PathBuf>) -> usize {
    let n = files.len();
    let (tx, rx) = mpsc::channel::<(PathBuf, Duration)>();
    let worker = std::thread::Builder::new()
        .name("replay".to_owned())
        .spawn(move || {
            for f in files {
                let data = std::fs::read(&f).expect("read corpus file");
                let start = Instant::now();
                // Announce before running, so a panic or hang names the input.
                let _ = tx.send((f.clone(), Duration::ZERO));
                check_loader_input(&data);
                let _ = tx.send((f, start.elapsed()));
            }
        })
        .expect("spawn replay worker");
    let start = Instant::now();
    let mut current: Option<PathBuf> = None;
    let mut done = 0;
    let mut slowest = (Duration::ZERO, PathBuf::new());
    loop {
        match rx.recv_timeout(PER_FILE_LIMIT) {
            Ok((f, took)) if took == Duration::ZERO => current = Some(f),
            Ok((f, took)) => {
                done += 1;
                if took > slowest.0 {
                    slowest = (took, f);
                }
                current = None;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("no progress for {PER_FILE_LIMIT:?} on {current:?} (hang?)")
            }
        }
        assert!(
            start.elapsed() < TOTAL_LIMIT,
            "replay took longer than {TOTAL_LIMIT:?}"
        );
    }
    if let Err(p) = worker.join() {
        eprintln!("panic while replaying {current:?}");
        std::panic::resume_unwind(p);
    }
    assert_eq!(done, n);
    eprintln!(
        "replayed {n} inputs in {:?}; slowest {:?} ({})",
        start.elapsed(),
        slowest.0,
        slowest.1.display()
    );
    n
}

#[test]
fn loader_corpus_replays_without_panic_or_hang() {
    let dir = fuzz_dir().join("corpus/loader");
    let files = files_in(&dir);
    assert!(
        files.len() >= MIN_CORPUS_FILES,
        "expected at least {MIN_CORPUS_FILES} corpus files in {}, found {}",
        dir.display(),
        files.len()
    );
    replay(files);
}

#[test]
fn hand_written_seeds_replay_without_panic_or_hang() {
    let dir = fuzz_dir().join("seeds");
    let files = files_in(&dir);
    assert!(
        files.len() >= MIN_SEED_FILES,
        "expected at least {MIN_SEED_FILES} seed files in {}, found {}",
        dir.display(),
        files.len()
    );
    replay(files);
}

#[test]
fn kept_artifacts_replay_without_panic_or_hang() {
    // Optional folder: reproducers of fixed crashes. Absent or empty is fine.
    replay(files_in(&fuzz_dir().join("artifacts-kept")));
}

#[test]
fn the_fuzz_body_itself_rejects_nothing_valid() {
    // A sanity check that the shared body runs on ordinary input.
    check_loader_input(
        b"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p}\n",
    );
    check_loader_input(b"\xff\xfe\x00garbage: [");
}
