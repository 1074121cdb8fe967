//! Shared test helpers: the real tools the interop tests run (Python packages from
//! scripts/requirements-test.txt, Debian binaries). A missing tool skips the test with a
//! message, unless MLGUARD_REQUIRE_TOOLS is set (scripts/test and CI set it): then it fails.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

fn missing(what: &str) {
    assert!(
        std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
        "{what} is missing (scripts/test installs it)"
    );
    eprintln!("skipped: {what} not present");
}

/// The test venv's Python (MLGUARD_TEST_PYTHON), when set.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("MLGUARD_TEST_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            missing("MLGUARD_TEST_PYTHON (the test venv)");
            None
        }
    }
}

/// A binary on PATH (age, softhsm2-util...).
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        missing(name);
    }
    found
}

/// A file inside the crate's tests folder.
pub fn here(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}
