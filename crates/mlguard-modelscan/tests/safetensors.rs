//! The safetensors header check against files the reference library writes (the test venv's
//! Python, MLGUARD_TEST_PYTHON, package `safetensors`: several dtypes and `__metadata__`, no
//! finding; the same files mutated are rejected by the reference loader and give exactly one
//! finding) and hand-built headers, one per rule, each giving exactly the expected finding.
//!
//! Without MLGUARD_TEST_PYTHON the Python parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

mod common;
use common::python;
use mlguard_modelscan::safetensors::{looks_like_safetensors, scan_safetensors};
use mlguard_modelscan::{FileFinding, Severity};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// Run a Python script (args after it, `stdin` fed), return its stdout as text.
fn py(python: &Path, script: &str, args: &[&str], stdin: &[u8]) -> String {
    String::from_utf8_lossy(&common::py(python, script, args, stdin)).into_owned()
}

/// Whether the reference library loads `bytes` ("ok") or rejects them ("err: ...").
fn reference_loads(python: &Path, bytes: &[u8]) -> bool {
    let script = "import sys\nfrom safetensors.numpy import load\n\
                  try:\n    load(sys.stdin.buffer.read()); print('ok')\n\
                  except Exception as e:\n    print('err:', e)\n";
    py(python, script, &[], bytes).starts_with("ok")
}

/// A safetensors file the reference library writes.
fn written_by_library(python: &Path) -> Vec<u8> {
    let script = r#"
import sys, numpy as np
from safetensors.numpy import save
t = {
    "w": np.arange(6, dtype=np.float32).reshape(2, 3),
    "b": np.ones(3, dtype=np.float16),
    "i": np.array([1, -2], dtype=np.int64),
    "u": np.zeros((2, 2), dtype=np.uint8),
    "i8": np.array([-1], dtype=np.int8),
    "u16": np.array([7, 8, 9], dtype=np.uint16),
    "i32": np.array([[1], [2]], dtype=np.int32),
    "d": np.array([0.5], dtype=np.float64),
    "flag": np.array([True, False]),
    "empty": np.zeros((0, 3), dtype=np.float64),
    "scalar": np.array(3.0, dtype=np.float32),
}
sys.stdout.buffer.write(save(t, metadata={"format": "np", "note": "mlguard test \u00e9"}))
"#;
    let mut child = Command::new(python)
        .arg("-c")
        .arg(script)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    let mut out = Vec::new();
    std::io::Read::read_to_end(child.stdout.as_mut().expect("stdout"), &mut out).unwrap();
    assert!(child.wait().unwrap().success());
    out
}

/// A file from a header text and a zero data section of `data` bytes.
fn file(header: &str, data: usize) -> Vec<u8> {
    let mut v = (header.len() as u64).to_le_bytes().to_vec();
    v.extend_from_slice(header.as_bytes());
    v.resize(v.len() + data, 0);
    v
}

/// Exactly one MS040 finding whose reason contains `needle`; returns it.
fn one(f: Vec<FileFinding>, needle: &str) -> FileFinding {
    assert_eq!(f.len(), 1, "expected one finding, got {f:#?}");
    let f = f.into_iter().next().unwrap();
    assert_eq!(f.code, "MS040", "{f:?}");
    assert_eq!(f.severity, Severity::High);
    assert!(
        f.reason.contains(needle),
        "reason {:?} lacks {needle:?}",
        f.reason
    );
    f
}

/// Offset of `needle` in the file (for the expected finding offsets).
fn pos(bytes: &[u8], needle: &str) -> u64 {
    bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("needle present") as u64
}

const T_A: &str = r#""a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#;

#[test]
fn files_written_by_the_library_are_clean() {
    let Some(python) = python() else { return };
    let bytes = written_by_library(&python);
    assert!(reference_loads(&python, &bytes));
    assert!(looks_like_safetensors(&bytes[..16]));
    let f = scan_safetensors(&bytes);
    assert!(f.is_empty(), "{f:#?}");
}

/// Mutations of a real file: the reference loader rejects each, and so do we, with exactly one
/// finding naming the rule.
#[test]
fn mutated_library_files_are_rejected_by_both() {
    let Some(python) = python() else { return };
    let good = written_by_library(&python);
    let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;

    let mut trailing = good.clone();
    trailing.extend_from_slice(b"xyz");
    assert!(!reference_loads(&python, &trailing));
    let f = one(scan_safetensors(&trailing), "3 trailing bytes");
    assert_eq!(f.offset, Some(good.len() as u64));

    let short = &good[..good.len() - 1];
    assert!(!reference_loads(&python, short));
    one(scan_safetensors(short), "past the end of the file");

    let mut past = good.clone();
    past[..8].copy_from_slice(&(good.len() as u64).to_le_bytes());
    assert!(!reference_loads(&python, &past));
    assert_eq!(
        one(scan_safetensors(&past), "runs past the end").offset,
        Some(0)
    );

    // "F32" -> "F31": an unknown dtype, same length.
    let mut dtype = good.clone();
    let at = pos(&dtype, "\"F32\"") as usize;
    dtype[at + 3] = b'1';
    assert!(!reference_loads(&python, &dtype));
    one(scan_safetensors(&dtype), "dtype \"F31\" is unknown");

    // "shape":[2,3] -> [3,3]: the size no longer matches the offsets.
    let mut shape = good.clone();
    let at = pos(&shape, "[2,3]") as usize;
    shape[at + 1] = b'3';
    assert!(!reference_loads(&python, &shape));
    one(
        scan_safetensors(&shape),
        "hold 24 bytes but shape [3, 3] of F32 needs 36",
    );
    assert!(n < good.len());
}

#[test]
fn detection() {
    assert!(looks_like_safetensors(&file("{\"a\":{}}", 0)));
    assert!(looks_like_safetensors(&file("{}", 0)));
    assert!(looks_like_safetensors(&file("  {\"x\"", 0)[..12]));
    assert!(!looks_like_safetensors(&file("[]", 0)));
    assert!(!looks_like_safetensors(&file("{x}", 0)));
    assert!(!looks_like_safetensors(b"\x05\0\0\0\0\0\0\0"));
    assert!(!looks_like_safetensors(b"GGUF\x03\0\0\0\x05\0\0\0\0\0\0\0"));
    assert!(!looks_like_safetensors(b"PK\x03\x04\x14\0\0\0\x08\0"));
}

#[test]
fn a_minimal_hand_built_file_is_clean() {
    assert!(scan_safetensors(&file("{}", 0)).is_empty());
    assert!(scan_safetensors(&file(&format!("{{{T_A}}}"), 4)).is_empty());
    // Leading and trailing spaces, as loaders accept and writers pad.
    assert!(scan_safetensors(&file(&format!("  {{{T_A}}}    "), 4)).is_empty());
    // Sub-byte dtypes that fill whole bytes, zero-size tensors, a 0-d tensor.
    let h = r#"{"f4":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},
        "z":{"dtype":"F64","shape":[0,5],"data_offsets":[3,3]},
        "s":{"dtype":"C64","shape":[],"data_offsets":[3,11]}}"#;
    assert!(scan_safetensors(&file(h, 11)).is_empty());
}

#[test]
fn file_shorter_than_the_length() {
    one(
        scan_safetensors(b"\x02\0\0"),
        "shorter than the 8-byte header length",
    );
}

#[test]
fn header_length_past_eof() {
    let mut v = file("{}", 0);
    v[..8].copy_from_slice(&1000u64.to_le_bytes());
    let f = one(
        scan_safetensors(&v),
        "header length 1000 runs past the end of the file (2 bytes follow the length)",
    );
    assert_eq!(f.offset, Some(0));
}

#[test]
fn huge_header_length() {
    for n in [100_000_001u64, u64::MAX] {
        let mut v = file("{}", 0);
        v[..8].copy_from_slice(&n.to_le_bytes());
        one(
            scan_safetensors(&v),
            &format!("header length {n} exceeds the 100000000-byte limit"),
        );
    }
}

#[test]
fn gap_between_tensors() {
    let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#;
    let v = file(h, 12);
    let f = one(
        scan_safetensors(&v),
        "tensor \"b\" data_offsets [8, 12] leave a gap of 4 bytes after tensor \"a\" (ends at 4)",
    );
    assert_eq!(f.offset, Some(pos(&v, "\"b\"")));
    // A gap at the start.
    let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    one(
        scan_safetensors(&file(h, 8)),
        "gap of 4 bytes at the start of the data section",
    );
}

#[test]
fn overlapping_tensors() {
    let h = r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#;
    one(
        scan_safetensors(&file(h, 12)),
        "tensor \"b\" data_offsets [4, 12] overlap tensor \"a\" (ends at 8)",
    );
    // Two names for the same bytes.
    let h = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
    one(scan_safetensors(&file(h, 4)), "overlap tensor \"a\"");
}

#[test]
fn trailing_bytes() {
    let h = format!("{{{T_A}}}");
    let v = file(&h, 7);
    let f = one(
        scan_safetensors(&v),
        "3 trailing bytes after the last tensor's data (tensors end at 4, the data section holds 7 bytes)",
    );
    assert_eq!(f.offset, Some(8 + h.len() as u64 + 4));
    one(scan_safetensors(&file("{}", 1)), "1 trailing bytes");
}

#[test]
fn data_past_eof() {
    let h = r#"{"a":{"dtype":"U8","shape":[10737418240],"data_offsets":[0,10737418240]}}"#;
    one(
        scan_safetensors(&file(h, 16)),
        "tensor \"a\" data ends at 10737418240, past the end of the file (the data section holds 16 bytes)",
    );
}

#[test]
fn wrong_size_for_shape() {
    let h = r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#;
    one(
        scan_safetensors(&file(h, 8)),
        "tensor \"a\" data_offsets [0, 8] hold 8 bytes but shape [3] of F32 needs 12",
    );
    // Sub-byte elements that end mid-byte.
    let h = r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#;
    one(
        scan_safetensors(&file(h, 2)),
        "shape [3] of F4 does not fill whole bytes (12 bits)",
    );
    // Element count and byte size overflow (checked, no wrap to a matching size).
    let h = r#"{"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}"#;
    one(scan_safetensors(&file(h, 0)), "overflows the element count");
    let h = r#"{"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}"#;
    one(scan_safetensors(&file(h, 0)), "overflows the byte size");
}

#[test]
fn offsets_end_before_start() {
    let h = r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#;
    one(
        scan_safetensors(&file(h, 8)),
        "tensor \"w\" data_offsets [8, 4] end before start",
    );
}

#[test]
fn unknown_dtype() {
    let h = r#"{"a":{"dtype":"F128","shape":[1],"data_offsets":[0,4]}}"#;
    one(
        scan_safetensors(&file(h, 4)),
        "tensor \"a\" dtype \"F128\" is unknown",
    );
    let h = r#"{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}"#;
    one(
        scan_safetensors(&file(h, 4)),
        "tensor \"a\" dtype is a JSON number, not a string",
    );
}

#[test]
fn duplicate_keys() {
    let h = format!("{{{T_A},{T_A}}}");
    let v = file(&h, 4);
    let f = one(scan_safetensors(&v), "duplicate key \"a\" in the header");
    // The second occurrence.
    assert_eq!(f.offset, Some(8 + 1 + T_A.len() as u64 + 1));
    // Spelled differently, the same key after JSON unescaping.
    let h = format!("{{{T_A},{}}}", T_A.replacen("\"a\"", "\"\\u0061\"", 1));
    one(scan_safetensors(&file(&h, 4)), "duplicate key \"a\"");
    // Inside a tensor and inside __metadata__.
    let h = r#"{"a":{"dtype":"F32","shape":[1],"shape":[1],"data_offsets":[0,4]}}"#;
    one(
        scan_safetensors(&file(h, 4)),
        "duplicate key \"shape\" inside \"a\"",
    );
    let h = r#"{"__metadata__":{"k":"1","k":"2"}}"#;
    one(
        scan_safetensors(&file(h, 0)),
        "duplicate key \"k\" inside \"__metadata__\"",
    );
}

#[test]
fn header_not_a_json_object() {
    one(
        scan_safetensors(&file("[1, 2]", 0)),
        "header is a JSON array, not an object",
    );
    one(
        scan_safetensors(&file("\"x\"", 0)),
        "header is a JSON string, not an object",
    );
    let v = file("{\"a\": }", 0);
    let f = one(scan_safetensors(&v), "header is not valid JSON");
    assert_eq!(f.offset, Some(8 + 6));
    one(scan_safetensors(&file("", 0)), "header is not valid JSON");
    let mut v = file("{\"\u{e9}\":1}", 0);
    v[10] = 0xff;
    let f = one(scan_safetensors(&v), "header is not UTF-8");
    assert_eq!(f.offset, Some(10));
}

#[test]
fn bad_metadata() {
    let h = r#"{"__metadata__":{"format":"pt","n":1}}"#;
    one(
        scan_safetensors(&file(h, 0)),
        "__metadata__ value of \"n\" is a JSON number, not a string",
    );
    let h = r#"{"__metadata__":["a"]}"#;
    one(
        scan_safetensors(&file(h, 0)),
        "__metadata__ is a JSON array, not a map of strings to strings",
    );
}

#[test]
fn malformed_tensor_entries() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}"#,
            "tensor \"a\" has an unknown field \"x\"",
        ),
        (
            r#"{"a":{"dtype":"F32","data_offsets":[0,4]}}"#,
            "tensor \"a\" has no shape",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1]}}"#,
            "tensor \"a\" has no data_offsets",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            "tensor \"a\" shape[0] is -1, not a non-negative integer",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}"#,
            "shape[0] is 1.0, not a non-negative integer",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":{},"data_offsets":[0,4]}}"#,
            "tensor \"a\" shape is a JSON object, not a list",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            "data_offsets is [0,4,8], not a list of two integers",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#,
            "data_offsets [-4, 0] are not non-negative integers",
        ),
        (
            r#"{"a":[1]}"#,
            "tensor \"a\" is a JSON array, not an object",
        ),
    ];
    for (h, needle) in cases {
        // Entries without usable offsets skip the layout check (no spurious gap finding).
        one(scan_safetensors(&file(h, 4)), needle);
    }
}

#[test]
fn findings_are_capped() {
    let mut h = String::from("{");
    for i in 0..200 {
        if i > 0 {
            h.push(',');
        }
        h.push_str(&format!(
            "\"t{i}\":{{\"dtype\":\"BAD\",\"shape\":[1],\"data_offsets\":[0,0]}}"
        ));
    }
    h.push('}');
    let f = scan_safetensors(&file(&h, 0));
    assert_eq!(f.len(), 65);
    assert_eq!(f[64].code, "MS090");
}

/// A 10 GiB sparse file: the caller passes what it has (here the first MiB); a header claiming a
/// 10 GiB data section is judged by its offsets, never by reading the data.
#[test]
fn ten_gib_sparse_file_is_judged_by_offsets() {
    const SIZE: u64 = 10 << 30;
    let dir = std::env::temp_dir().join(format!("mlguard-st-sparse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.safetensors");
    // One U8 tensor covering the whole 10 GiB data section (header padded to a fixed length).
    let mut header = String::new();
    for pad in 0.. {
        let data = SIZE - 8 - 100;
        header = format!(
            "{{\"big\":{{\"dtype\":\"U8\",\"shape\":[{data}],\"data_offsets\":[0,{data}]}}}}{}",
            " ".repeat(pad)
        );
        if header.len() >= 100 {
            break;
        }
    }
    assert_eq!(header.len(), 100);
    {
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&file(&header, 0)).unwrap();
        f.set_len(SIZE).unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
    let mut head = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(&path).unwrap(), 1 << 20),
        &mut head,
    )
    .unwrap();
    let start = std::time::Instant::now();
    // The first MiB: the tensor runs past what was given.
    one(scan_safetensors(&head), "past the end of the file");
    // The header alone, with a claimed data section of 10 GiB.
    one(
        scan_safetensors(&head[..108]),
        "tensor \"big\" data ends at 10737418132, past the end of the file (the data section holds 0 bytes)",
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn random_and_truncated_inputs_do_not_panic() {
    let good = file(
        r#"{"__metadata__":{"a":"b"},"x":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}}"#,
        8,
    );
    assert!(scan_safetensors(&good).is_empty());
    for cut in 0..good.len() {
        let f = scan_safetensors(&good[..cut]);
        assert!(!f.is_empty(), "prefix {cut} passed");
    }
    let mut seed = 0x1234_5678_u64;
    for _ in 0..2000 {
        let mut v = good.clone();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let i = (seed as usize) % v.len();
            v[i] = (seed >> 32) as u8;
        }
        let _ = scan_safetensors(&v);
    }
}
