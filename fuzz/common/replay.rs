// Shared by the corpus replay tests (crates/*/tests/fuzz_corpus.rs, which `include!` it):
// find the saved inputs of a fuzz target and run them through its body, failing on a panic
// (naming the input) or a hang. Not a module of the fuzz crate.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The committed corpora hold more than this many files; fewer means they went missing.
const MIN_CORPUS_FILES: usize = 150;
#[allow(dead_code)]
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

/// Replay `files` through `check` on a worker thread, failing on a panic (with the file's name)
/// or a hang.
fn replay(files: Vec<PathBuf>, check: fn(&[u8])) -> usize {
    let n = files.len();
    let (tx, rx) = mpsc::channel::<(PathBuf, Option<Duration>)>();
    let worker = std::thread::Builder::new()
        .name("replay".to_owned())
        .spawn(move || {
            for f in files {
                let data = std::fs::read(&f).expect("read corpus file");
                // Announce before running, so a panic or hang names the input.
                let _ = tx.send((f.clone(), None));
                let start = Instant::now();
                check(&data);
                let _ = tx.send((f, Some(start.elapsed())));
            }
        })
        .expect("spawn replay worker");
    let start = Instant::now();
    let mut current: Option<PathBuf> = None;
    let mut done = 0;
    let mut slowest = (Duration::ZERO, PathBuf::new());
    loop {
        match rx.recv_timeout(PER_FILE_LIMIT) {
            Ok((f, None)) => current = Some(f),
            Ok((f, Some(took))) => {
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

fn replay_dir(dir: &str, min: usize, check: fn(&[u8])) {
    let dir = fuzz_dir().join(dir);
    let files = files_in(&dir);
    assert!(
        files.len() >= min,
        "expected at least {min} files in {}, found {}",
        dir.display(),
        files.len()
    );
    replay(files, check);
}
