//! The ONNX analysis against models written by the `onnx` package (the test venv's Python,
//! MLGUARD_TEST_PYTHON): clean models, valid external data, external data rewritten to
//! `../../etc/passwd` and `/etc/passwd`, external data in Loop/If subgraphs, model-local
//! functions and sparse initializers, bad offsets, and symlinks leaving the folder; plus
//! malformed and non-ONNX bytes (no Python needed).
//!
//! Without MLGUARD_TEST_PYTHON the Python parts are skipped with a message, unless
//! MLGUARD_REQUIRE_TOOLS is set: then they fail.

mod common;
use common::{len_field, python, varint_field};
use mlguard_modelscan::onnx::{looks_like_onnx, scan_onnx};
use mlguard_modelscan::FileFinding;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Writes the fixtures into argv[1]; every model but the hand-broken ones passes onnx.checker.
const MAKE_MODELS: &str = r#"
import os, sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto, external_data_helper as ext

out = sys.argv[1]
X = helper.make_tensor_value_info("X", TensorProto.FLOAT, [4])
Y = helper.make_tensor_value_info("Y", TensorProto.FLOAT, [4])
OPS = [helper.make_opsetid("", 17)]

def w(name, n=4):
    return numpy_helper.from_array(np.arange(n, dtype=np.float32), name)

def model(graph, **kw):
    return helper.make_model(graph, opset_imports=OPS, **kw)

def external(t, location, offset=None, length=None):
    ext.set_external_data(t, location, offset, length)
    t.ClearField("raw_data")
    return t

def save(m, name, check=True):
    if check:
        onnx.checker.check_model(m)
    onnx.save_model(m, os.path.join(out, name))

# clean: Add with an initializer
clean = model(helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"], name="add")],
                                "clean", [X], [Y], [w("W")]))
save(clean, "clean.onnx")

# valid external data, written by onnx itself next to the model
os.makedirs(os.path.join(out, "ext"), exist_ok=True)
big = model(helper.make_graph([helper.make_node("Add", ["X", "W"], ["Y"], name="add")],
                              "ext", [X], [Y], [w("W")]))
onnx.save_model(big, os.path.join(out, "ext", "model.onnx"), save_as_external_data=True,
                all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)

def rewritten(location, name, offset=None, length=None):
    m = onnx.load(os.path.join(out, "ext", "model.onnx"), load_external_data=False)
    for t in m.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL:
            for e in t.external_data:
                if e.key == "location":
                    e.value = location
                if e.key == "offset" and offset is not None:
                    e.value = offset
                if e.key == "length" and length is not None:
                    e.value = length
    onnx.save_model(m, os.path.join(out, "ext", name))

rewritten("../../etc/passwd", "dotdot.onnx")
rewritten("/etc/passwd", "abs.onnx")
rewritten("link.bin", "link.onnx")
rewritten("weights.bin", "negative.onnx", offset="-1")
rewritten("weights.bin", "past_end.onnx", length="4096")

# Loop whose body has an initializer with external data leaving the folder
body = helper.make_graph(
    [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
     helper.make_node("Add", ["v_in", "B"], ["v_out"], name="body_add")],
    "loop_body",
    [helper.make_tensor_value_info("i", TensorProto.INT64, []),
     helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [4])],
    [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
     helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [4])],
    [external(w("B"), "../secret.bin", 0, 16)])
trip = numpy_helper.from_array(np.array(2, dtype=np.int64), "trip")
cond = numpy_helper.from_array(np.array(True), "cond")
loop = model(helper.make_graph(
    [helper.make_node("Loop", ["trip", "cond", "X"], ["Y"], name="the_loop", body=body)],
    "loop", [X], [Y], [trip, cond]))
save(loop, "loop.onnx", check=False)

# If whose else branch holds a Constant whose tensor attribute is external, absolute
then_g = helper.make_graph([helper.make_node("Identity", ["X"], ["t_out"])], "then", [],
                          [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [4])])
const_t = external(w("C"), "/etc/shadow", 0, 16)
else_g = helper.make_graph([helper.make_node("Constant", [], ["e_out"], name="c", value=const_t)],
                          "else", [],
                          [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [4])])
cond_in = helper.make_tensor_value_info("c", TensorProto.BOOL, [])
iff = model(helper.make_graph(
    [helper.make_node("If", ["c"], ["Y"], name="the_if", then_branch=then_g, else_branch=else_g)],
    "if", [cond_in, X], [Y]))
save(iff, "if.onnx", check=False)

# model-local function whose Constant node has an external tensor
fnode = helper.make_node("Constant", [], ["k"], value=external(w("F"), "..\\..\\boot.ini"))
add = helper.make_node("Add", ["a", "k"], ["b"])
fn = helper.make_function("local", "AddK", ["a"], ["b"], [fnode, add], OPS)
fm = model(helper.make_graph([helper.make_node("AddK", ["X"], ["Y"], domain="local")],
                             "fn", [X], [Y]),
           functions=[fn])
fm.opset_import.append(helper.make_opsetid("local", 1))
save(fm, "function.onnx", check=False)

# sparse initializer whose values are external, with a drive prefix
values = external(w("S_values", 2), "C:\\Windows\\win.ini")
indices = numpy_helper.from_array(np.array([0, 3], dtype=np.int64), "S_indices")
sp = helper.make_sparse_tensor(values, indices, [4])
sm = model(helper.make_graph([helper.make_node("Add", ["X", "S_values"], ["Y"])], "sparse",
                             [X], [Y], sparse_initializer=[sp]))
save(sm, "sparse.onnx", check=False)

# If whose subgraph has valid external data inside the folder: no finding
inner = helper.make_graph([helper.make_node("Identity", ["IW"], ["t_out"])], "then_ok", [],
                          [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [4])],
                          [external(w("IW"), "weights.bin", 0, 16)])
ok = model(helper.make_graph(
    [helper.make_node("If", ["c"], ["Y"], name="if_ok", then_branch=inner, else_branch=inner)],
    "if_ok", [cond_in], [Y]))
save(ok, os.path.join("ext", "subgraph_ok.onnx"), check=False)
"#;

struct Fixtures {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn fixtures() -> Option<&'static Fixtures> {
    static F: OnceLock<Option<Fixtures>> = OnceLock::new();
    F.get_or_init(|| {
        let py = python()?;
        let dir = tempfile::tempdir().unwrap();
        // Nested so that `../secret.bin` from the model folder stays inside the temp dir.
        let root = dir.path().join("models");
        std::fs::create_dir_all(&root).unwrap();
        let out = Command::new(py)
            .arg("-c")
            .arg(MAKE_MODELS)
            .arg(&root)
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dir.path().join("secret.bin"), [0u8; 16]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", root.join("ext/link.bin")).unwrap();
        Some(Fixtures { _dir: dir, root })
    })
    .as_ref()
}

fn read(f: &Fixtures, name: &str) -> Vec<u8> {
    std::fs::read(f.root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn ms030(findings: &[FileFinding]) -> Vec<&FileFinding> {
    findings.iter().filter(|f| f.code == "MS030").collect()
}

/// Exactly one MS030, naming `tensor` and containing `text` in its reason.
fn one_ms030(findings: &[FileFinding], tensor: &str, text: &str) {
    let hits = ms030(findings);
    assert_eq!(hits.len(), 1, "{findings:#?}");
    assert_eq!(hits[0].global.as_deref(), Some(tensor), "{findings:#?}");
    assert!(hits[0].reason.contains(text), "{findings:#?}");
    assert!(findings.iter().all(|f| f.code == "MS030"), "{findings:#?}");
}

#[test]
fn clean_models_have_no_findings_and_are_detected() {
    let Some(f) = fixtures() else { return };
    for name in ["clean.onnx", "ext/model.onnx", "ext/subgraph_ok.onnx"] {
        let data = read(f, name);
        assert!(looks_like_onnx(&data), "{name}");
        let dir = f.root.join(name);
        let dir = dir.parent().unwrap();
        assert_eq!(scan_onnx(&data, Some(dir)), vec![], "{name}");
        assert_eq!(scan_onnx(&data, None), vec![], "{name}");
    }
}

#[test]
fn rewritten_locations_are_found_with_or_without_the_folder() {
    let Some(f) = fixtures() else { return };
    let dir = f.root.join("ext");
    for (name, text) in [
        ("ext/dotdot.onnx", "../../etc/passwd"),
        ("ext/abs.onnx", "/etc/passwd"),
    ] {
        let data = read(f, name);
        assert!(looks_like_onnx(&data));
        for d in [Some(dir.as_path()), None] {
            let r = scan_onnx(&data, d);
            one_ms030(&r, "W", text);
            assert!(r[0].offset.is_some());
        }
    }
}

#[test]
fn symlinks_out_of_the_folder_are_found_when_the_folder_is_given() {
    let Some(f) = fixtures() else { return };
    if !cfg!(unix) {
        return;
    }
    let data = read(f, "ext/link.onnx");
    assert_eq!(scan_onnx(&data, None), vec![], "lexically fine");
    let r = scan_onnx(&data, Some(&f.root.join("ext")));
    one_ms030(&r, "W", "resolves outside the model's folder");
}

#[test]
fn bad_offsets_and_lengths() {
    let Some(f) = fixtures() else { return };
    let dir = f.root.join("ext");
    let r = scan_onnx(&read(f, "ext/negative.onnx"), Some(&dir));
    one_ms030(&r, "W", "is negative");
    let r = scan_onnx(&read(f, "ext/past_end.onnx"), Some(&dir));
    one_ms030(&r, "W", "past the end of the file");
    // Without the folder the file's size is unknown: no finding.
    assert_eq!(scan_onnx(&read(f, "ext/past_end.onnx"), None), vec![]);
}

#[test]
fn external_data_in_subgraphs_functions_and_sparse_tensors() {
    let Some(f) = fixtures() else { return };
    let cases = [
        // `../secret.bin` exists (beside the models folder): lexically out all the same.
        (
            "loop.onnx",
            "B",
            "subgraph in attribute 'body' of node 'the_loop' (Loop)",
        ),
        ("if.onnx", "C", "attribute 'value' of node 'c' (Constant)"),
        ("if.onnx", "C", "/etc/shadow"),
        ("function.onnx", "F", "function 'AddK'"),
        ("sparse.onnx", "S_values", "drive prefix"),
    ];
    for (name, tensor, text) in cases {
        let data = read(f, name);
        assert!(looks_like_onnx(&data), "{name}");
        one_ms030(&scan_onnx(&data, Some(&f.root)), tensor, text);
        one_ms030(&scan_onnx(&data, None), tensor, text);
    }
}

#[test]
fn truncated_models_are_not_verifiably_safe() {
    let Some(f) = fixtures() else { return };
    let data = read(f, "loop.onnx");
    let mut incomplete = 0;
    for n in 1..data.len() {
        let r = scan_onnx(&data[..n], None);
        if r.iter().any(|f| f.code == "MS003") {
            incomplete += 1;
        }
    }
    // A prefix that ends exactly between top-level fields is a valid (smaller) message.
    assert!(
        incomplete * 10 >= data.len() * 9,
        "{incomplete} of {}",
        data.len()
    );
}

// ---- no Python needed ----

/// A tiny protobuf encoder.
fn entry(k: &str, v: &str) -> Vec<u8> {
    len_field(
        13,
        &[len_field(1, k.as_bytes()), len_field(2, v.as_bytes())].concat(),
    )
}

fn model_with_tensor(tensor: &[u8]) -> Vec<u8> {
    let graph = len_field(5, tensor);
    [varint_field(1, 9), len_field(7, &graph)].concat()
}

#[test]
fn hand_built_models() {
    let name = len_field(8, b"t");
    let ext = varint_field(14, 1);
    let t = [name.clone(), entry("location", "../x"), ext.clone()].concat();
    let m = model_with_tensor(&t);
    assert!(looks_like_onnx(&m));
    one_ms030(&scan_onnx(&m, None), "t", "'..'");
    // ORT's in-memory marker
    let t = [
        name.clone(),
        entry("location", "*/_ORT_MEM_ADDR_/*"),
        ext.clone(),
    ]
    .concat();
    one_ms030(
        &scan_onnx(&model_with_tensor(&t), None),
        "t",
        "memory address",
    );
    // overflowing offset + length
    let t = [
        name.clone(),
        entry("location", "w.bin"),
        entry("offset", "9223372036854775807"),
        entry("length", "1"),
        ext.clone(),
    ]
    .concat();
    one_ms030(&scan_onnx(&model_with_tensor(&t), None), "t", "overflows");
    let t = [
        name.clone(),
        entry("location", "w.bin"),
        entry("length", "1e9"),
    ]
    .concat();
    one_ms030(
        &scan_onnx(&model_with_tensor(&t), None),
        "t",
        "not a non-negative",
    );
    // external without a location
    let t = [name.clone(), ext.clone()].concat();
    let r = scan_onnx(&model_with_tensor(&t), None);
    assert!(r.len() == 1 && r[0].code == "MS003", "{r:#?}");
    // many bad tensors: capped, with a note
    let t = [name, entry("location", "/x"), ext].concat();
    let graph: Vec<u8> = (0..100).flat_map(|_| len_field(5, &t)).collect();
    let m = [varint_field(1, 9), len_field(7, &graph)].concat();
    let r = scan_onnx(&m, None);
    assert_eq!(r.len(), 65);
    assert_eq!(r[64].code, "MS090");
}

#[test]
fn deep_subgraphs_are_not_verifiably_safe() {
    // graph -> node -> attribute g -> graph ... 40 levels
    let mut g = Vec::new();
    for _ in 0..40 {
        let attr = [len_field(1, b"body"), len_field(6, &g)].concat();
        let node = len_field(5, &attr);
        g = len_field(1, &node);
    }
    let m = [varint_field(1, 9), len_field(7, &g)].concat();
    assert!(looks_like_onnx(&m));
    let r = scan_onnx(&m, None);
    assert!(r.iter().any(|f| f.code == "MS003"), "{r:#?}");
}

#[test]
fn not_onnx() {
    assert!(!looks_like_onnx(b""));
    assert!(!looks_like_onnx(b"hello world, this is a text file\n"));
    assert!(!looks_like_onnx(b"{\"ir_version\": 9, \"graph\": {}}"));
    assert!(!looks_like_onnx(&[0xff; 64]));
    // ir_version but no graph, graph but no ir_version
    assert!(!looks_like_onnx(&varint_field(1, 9)));
    assert!(!looks_like_onnx(&len_field(7, b"")));
    // a graph that is not a message
    assert!(!looks_like_onnx(
        &[varint_field(1, 9), len_field(7, b"\xff\xff")].concat()
    ));
    let mut rng = 0x2545F4914F6CDD1Du64;
    for _ in 0..2000 {
        let n = (rng % 200) as usize;
        let bytes: Vec<u8> = (0..n)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        let _ = scan_onnx(&bytes, None);
        if looks_like_onnx(&bytes) {
            panic!("random bytes taken for ONNX: {bytes:?}");
        }
    }
    // malformed: MS003
    let r = scan_onnx(&[varint_field(1, 9), vec![0x3a, 0x10, 0x01]].concat(), None);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].code, "MS003");
}
