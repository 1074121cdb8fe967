//! Shared by the integration tests of mlguard-modelscan: the test venv's Python, and a tiny
//! protobuf encoder for hand-built ONNX and SavedModel bytes. Each test binary uses a part.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The test venv's interpreter (MLGUARD_TEST_PYTHON); `None` (skip, with a message) when it is
/// absent, unless MLGUARD_REQUIRE_TOOLS is set: then that is a failure.
pub fn python() -> Option<PathBuf> {
    match std::env::var_os("MLGUARD_TEST_PYTHON") {
        Some(p) if Path::new(&p).exists() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
                "MLGUARD_TEST_PYTHON (the test venv) is missing (scripts/test installs it)"
            );
            eprintln!("skipped: MLGUARD_TEST_PYTHON (the test venv) not present");
            None
        }
    }
}

/// Protobuf base-128 varint.
pub fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field `n`.
pub fn len_field(n: u32, payload: &[u8]) -> Vec<u8> {
    let mut o = Vec::new();
    varint(u64::from(n) << 3 | 2, &mut o);
    varint(payload.len() as u64, &mut o);
    o.extend_from_slice(payload);
    o
}

/// A varint field `n`.
pub fn varint_field(n: u32, v: u64) -> Vec<u8> {
    let mut o = Vec::new();
    varint(u64::from(n) << 3, &mut o);
    varint(v, &mut o);
    o
}

/// Run a Python script (extra args after it, `stdin` fed), fail on a non-zero exit with its
/// stderr, return its stdout.
pub fn py(python: &Path, script: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let out = child.wait_with_output().expect("python output");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
