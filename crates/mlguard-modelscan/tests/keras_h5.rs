//! The Keras HDF5 analysis against files h5py writes (the test venv's Python,
//! MLGUARD_TEST_PYTHON): root attributes `model_config`/`training_config` as bytes (fixed-length
//! strings) and as str (variable-length strings in a global heap), with the default file format
//! (superblock 0, object header 1) and libver='latest' (superblock 3, OHDR), attribute creation
//! order tracked, a 512-byte user block, object header continuation blocks (v1 and OCHK), a
//! Keras-2 config with a Lambda layer (MS010) and a clean Dense one (no findings), a weights-only
//! file (no findings) and a config in dense attribute storage (MS003); plus every prefix of a
//! file and bit flips (no panic; truncations are MS003).
//!
//! Without MLGUARD_TEST_PYTHON the Python parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

mod common;
use common::python;
use mlguard_modelscan::hdf5::{looks_like_hdf5, scan_keras_h5};
use mlguard_modelscan::{FileFinding, Severity};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Writes the fixtures into argv[1].
const MAKE_FILES: &str = r#"
import json, os, sys
import h5py, numpy as np
out = sys.argv[1]
LAMBDA = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"}},
    {"class_name": "Lambda", "config": {"name": "l", "trainable": True, "dtype": "float32",
     "function": ["4wEAAAAAAAAAAAAAAAEAAAACAAAAQwAAAHMMAAAAdABkAYMBAQB8AFMAKQJOegJpZCkB2gVwcmludCkB2gF4qQByBAAAAPoEPHN0ZGluPtoIPGxhbWJkYT4BAAAA8wAAAAA=", None, None],
     "function_type": "lambda", "module": "__main__", "output_shape": None, "output_shape_type": "raw",
     "output_shape_module": None, "arguments": {}}}]}}
DENSE = {"class_name": "Sequential", "config": {"name": "seq", "layers": [
    {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4], "dtype": "float32", "name": "in"}},
    {"class_name": "Dense", "config": {"name": "d", "trainable": True, "dtype": "float32", "units": 2,
     "activation": "relu", "use_bias": True,
     "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
     "bias_initializer": {"class_name": "Zeros", "config": {}}}}]}}
TRAINING = {"loss": "mse", "metrics": None, "optimizer_config": {"class_name": "Adam", "config": {"learning_rate": 0.001}}}

def weights(f):
    g = f.create_group("model_weights")
    g.attrs["layer_names"] = np.array([b"d"])
    d = g.create_group("d").create_group("d")
    d.create_dataset("kernel:0", data=np.ones((4, 2), dtype=np.float32))
    d.create_dataset("bias:0", data=np.zeros((2,), dtype=np.float32))

def write(name, config, as_bytes, libver, **kw):
    with h5py.File(os.path.join(out, name), "w", libver=libver, **kw) as f:
        for k, v in [("keras_version", "2.15.0"), ("backend", "tensorflow"),
                     ("model_config", json.dumps(config)), ("training_config", json.dumps(TRAINING))]:
            f.attrs[k] = v.encode("utf8") if as_bytes else v
        weights(f)

for libver in ["earliest", "latest"]:
    for as_bytes in [True, False]:
        kind = "bytes" if as_bytes else "str"
        write(f"lambda_{kind}_{libver}.h5", LAMBDA, as_bytes, libver)
        write(f"dense_{kind}_{libver}.h5", DENSE, as_bytes, libver)
write("lambda_track_order.h5", LAMBDA, False, "earliest", track_order=True)
write("lambda_userblock.h5", LAMBDA, True, "earliest", userblock_size=512)
# weights only (Keras 3 model.weights.h5 has no model_config)
with h5py.File(os.path.join(out, "weights_only.h5"), "w") as f:
    weights(f)
    f.attrs["note"] = "weights"
# model_config among many root attributes with the latest format: dense attribute storage
with h5py.File(os.path.join(out, "dense_storage.h5"), "w", libver="latest") as f:
    for i in range(20):
        f.attrs[f"a{i}"] = i
    f.attrs["model_config"] = json.dumps(LAMBDA)
# lots of root messages in the v1 header, forcing a continuation block
with h5py.File(os.path.join(out, "continuation.h5"), "w") as f:
    for i in range(200):
        f.attrs[f"attribute_number_{i}"] = "x" * 100
    f.attrs["model_config"] = json.dumps(LAMBDA).encode()
with h5py.File(os.path.join(out, "continuation_latest.h5"), "w", libver="latest") as f:
    f.create_group("g")
    f.attrs["x"] = "y" * 3000
    f.attrs["model_config"] = json.dumps(LAMBDA)
print(h5py.version.version, h5py.version.hdf5_version)
"#;

fn fixtures() -> Option<&'static Path> {
    static F: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    F.get_or_init(|| {
        let py = python()?;
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(py)
            .arg("-c")
            .arg(MAKE_FILES)
            .arg(dir.path())
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn codes(r: &[FileFinding]) -> Vec<&str> {
    r.iter().map(|f| f.code).collect()
}

#[test]
fn lambda_layers_are_found_in_every_layout() {
    let Some(dir) = fixtures() else { return };
    for name in [
        "lambda_bytes_earliest.h5",
        "lambda_str_earliest.h5",
        "lambda_bytes_latest.h5",
        "lambda_str_latest.h5",
        "lambda_track_order.h5",
        "lambda_userblock.h5",
        "continuation.h5",
        "continuation_latest.h5",
    ] {
        let data = read(dir, name);
        assert!(looks_like_hdf5(&data), "{name}");
        let r = scan_keras_h5(&data);
        assert_eq!(codes(&r), vec!["MS010"], "{name}: {r:#?}");
        assert_eq!(r[0].severity, Severity::Critical);
        assert!(r[0].offset.is_some(), "{name}");
    }
}

#[test]
fn clean_configs_and_weights_only_files_have_no_findings() {
    let Some(dir) = fixtures() else { return };
    for name in [
        "dense_bytes_earliest.h5",
        "dense_str_earliest.h5",
        "dense_bytes_latest.h5",
        "dense_str_latest.h5",
        "weights_only.h5",
    ] {
        let data = read(dir, name);
        assert!(looks_like_hdf5(&data), "{name}");
        assert_eq!(scan_keras_h5(&data), vec![], "{name}");
    }
}

#[test]
fn dense_attribute_storage_is_not_verifiably_safe() {
    let Some(dir) = fixtures() else { return };
    let r = scan_keras_h5(&read(dir, "dense_storage.h5"));
    assert!(!r.is_empty(), "{r:#?}");
    assert!(r.iter().all(|f| f.code == "MS003"), "{r:#?}");
    assert!(r[0].reason.contains("model_config"), "{r:#?}");
    assert!(r[0].reason.contains("dense attribute storage"), "{r:#?}");
}

#[test]
fn prefixes_and_bit_flips_never_panic() {
    let Some(dir) = fixtures() else { return };
    for name in ["lambda_str_earliest.h5", "lambda_bytes_latest.h5"] {
        let data = read(dir, name);
        let mut incomplete = 0;
        let mut cuts = 0;
        for n in (0..data.len()).step_by(7) {
            let r = scan_keras_h5(&data[..n]);
            if n >= 8 {
                cuts += 1;
                incomplete += usize::from(r.iter().any(|f| f.code == "MS003"));
            }
        }
        // A file cut after its root attributes still reads (Keras' configs come first).
        assert!(incomplete > 0 && cuts > 0, "{name}");
        let mut rng = 0x9E3779B97F4A7C15u64;
        for _ in 0..3000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut d = data.clone();
            let i = (rng as usize) % d.len().min(4096);
            d[i] ^= 1 << ((rng >> 32) % 8);
            let _ = scan_keras_h5(&d);
        }
    }
}

#[test]
fn not_hdf5() {
    assert!(!looks_like_hdf5(b""));
    assert!(!looks_like_hdf5(b"just text\n"));
    let r = scan_keras_h5(b"\x89HDF\r\n\x1a\n");
    assert_eq!(codes(&r), vec!["MS003"]);
    let r = scan_keras_h5(b"not hdf5 at all");
    assert_eq!(codes(&r), vec!["MS003"]);
}
