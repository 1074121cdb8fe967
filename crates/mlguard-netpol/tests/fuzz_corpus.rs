//! Replays the saved corpora of the `netpol` and `intents` fuzz targets (fuzz/corpus/netpol,
//! fuzz/corpus/intents), their hand-written seeds (fuzz/seeds-netpol, fuzz/seeds-intents) and
//! any reproducers kept in fuzz/artifacts-kept/<target> as ordinary tests, running exactly the
//! fuzz targets' bodies (fuzz/common/{netpol,intents}_check.rs, included below).
//!
//! The corpora are refreshed as docs/testing.md describes (fuzz/cap_corpus.py keeps the 200
//! inputs of a run's corpus that cover the most edges).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

include!("../../../fuzz/common/netpol_check.rs");
include!("../../../fuzz/common/intents_check.rs");

/// The committed corpora hold more than this many files; fewer means they went missing.
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

#[test]
fn netpol_corpus_replays_without_panic_or_hang() {
    replay_dir("corpus/netpol", MIN_CORPUS_FILES, check_netpol_input);
}

#[test]
fn netpol_seeds_replay_without_panic_or_hang() {
    replay_dir("seeds-netpol", MIN_SEED_FILES, check_netpol_input);
}

#[test]
fn intents_corpus_replays_without_panic_or_hang() {
    replay_dir("corpus/intents", MIN_CORPUS_FILES, check_intents_input);
}

#[test]
fn intents_seeds_replay_without_panic_or_hang() {
    replay_dir("seeds-intents", MIN_SEED_FILES, check_intents_input);
}

#[test]
fn kept_artifacts_replay_without_panic_or_hang() {
    // Reproducers of fixed bugs (fuzz/artifacts-kept/README.md lists them). Absent or empty is
    // fine.
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/netpol")),
        check_netpol_input,
    );
    replay(
        files_in(&fuzz_dir().join("artifacts-kept/intents")),
        check_intents_input,
    );
}

#[test]
fn the_fuzz_bodies_accept_ordinary_input() {
    // Sanity checks that the shared bodies run on ordinary input and on junk.
    check_netpol_input(
        b"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: d, namespace: a}\n\
spec: {podSelector: {}, policyTypes: [Ingress]}\n---\napiVersion: v1\nkind: Pod\n\
metadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: i}]}\n",
    );
    check_netpol_input(b"\xff\xfe\x00garbage: [");
    check_intents_input(
        b"apiVersion: mlguard.io/v1alpha1\nkind: NetworkIntents\nspec:\n  intents:\n\
  - {name: a, expect: allow, from: {namespace: a}, to: {namespace: b}, ports: [\"29500/TCP\"]}\n",
    );
    check_intents_input(b"");
    check_intents_input(b"\xff\xfe\x00garbage: [");
}
