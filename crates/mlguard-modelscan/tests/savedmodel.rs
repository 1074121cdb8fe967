//! The SavedModel analysis against `saved_model.pb` bytes built here with a tiny protobuf encoder
//! (TensorFlow is too big for the test venv), following tensorflow's saved_model.proto,
//! meta_graph.proto, graph.proto, function.proto, node_def.proto and attr_value.proto: a benign
//! model (Const, MatMul, and the SaveV2/RestoreV2 every SavedModel has, in a library function)
//! has no findings; ReadFile in the graph, WriteFile in a library function, PyFunc, a primitive op
//! called through a function attribute and PrintV2 to a file are MS020; truncations are MS003.

mod common;
use common::{len_field, varint_field};
use mlguard_modelscan::savedmodel::{looks_like_saved_model, scan_saved_model};
use mlguard_modelscan::FileFinding;

/// AttrValue with `s`.
fn attr_s(s: &str) -> Vec<u8> {
    len_field(2, s.as_bytes())
}

/// AttrValue with `func` (NameAttrList{name}).
fn attr_func(name: &str) -> Vec<u8> {
    len_field(10, &len_field(1, name.as_bytes()))
}

/// NodeDef{name, op, input..., attr map}.
fn node(name: &str, op: &str, inputs: &[&str], attrs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut n = [len_field(1, name.as_bytes()), len_field(2, op.as_bytes())].concat();
    for i in inputs {
        n.extend(len_field(3, i.as_bytes()));
    }
    for (k, v) in attrs {
        n.extend(len_field(
            5,
            &[len_field(1, k.as_bytes()), len_field(2, v)].concat(),
        ));
    }
    n
}

/// FunctionDef{signature: OpDef{name}, node_def...}.
fn function(name: &str, nodes: &[Vec<u8>]) -> Vec<u8> {
    let mut f = len_field(1, &len_field(1, name.as_bytes()));
    for n in nodes {
        f.extend(len_field(3, n));
    }
    f
}

/// SavedModel{schema_version 1, meta_graphs: [MetaGraphDef{meta_info_def, graph_def{node...,
/// library{function...}, versions}}]}.
fn saved_model(nodes: &[Vec<u8>], functions: &[Vec<u8>]) -> Vec<u8> {
    let mut graph = Vec::new();
    for n in nodes {
        graph.extend(len_field(1, n));
    }
    let mut lib = Vec::new();
    for f in functions {
        lib.extend(len_field(1, f));
    }
    if !lib.is_empty() {
        graph.extend(len_field(2, &lib));
    }
    graph.extend(len_field(4, &varint_field(1, 1645))); // versions{producer}
    let meta_info = len_field(4, b"serve"); // MetaInfoDef.tags
    let meta = [len_field(1, &meta_info), len_field(2, &graph)].concat();
    [varint_field(1, 1), len_field(2, &meta)].concat()
}

fn benign_nodes() -> Vec<Vec<u8>> {
    let tensor = len_field(8, &[varint_field(1, 1), len_field(4, &[0u8; 16])].concat()); // AttrValue.tensor
    vec![
        node("x", "Placeholder", &[], &[("dtype", varint_field(6, 1))]),
        node(
            "w",
            "Const",
            &[],
            &[("value", tensor), ("dtype", varint_field(6, 1))],
        ),
        node("y", "MatMul", &["x", "w"], &[("T", varint_field(6, 1))]),
        node(
            "call",
            "StatefulPartitionedCall",
            &["x"],
            &[("f", attr_func("__inference_save_1"))],
        ),
    ]
}

fn benign_functions() -> Vec<Vec<u8>> {
    vec![function(
        "__inference_save_1",
        &[
            node("prefix", "Const", &[], &[]),
            node("sharded", "ShardedFilename", &["prefix"], &[]),
            node("save", "SaveV2", &["sharded"], &[]),
            node("merge", "MergeV2Checkpoints", &["sharded"], &[]),
            node("restore", "RestoreV2", &["prefix"], &[]),
            node(
                "print",
                "PrintV2",
                &[],
                &[("output_stream", attr_s("stderr"))],
            ),
        ],
    )]
}

fn ms020(r: &[FileFinding]) -> Vec<(&str, &str)> {
    r.iter()
        .filter(|f| f.code == "MS020")
        .map(|f| {
            (
                f.opcode.as_deref().unwrap_or(""),
                f.global.as_deref().unwrap_or(""),
            )
        })
        .collect()
}

#[test]
fn benign_model_has_no_findings() {
    let m = saved_model(&benign_nodes(), &benign_functions());
    assert!(looks_like_saved_model(&m));
    assert_eq!(scan_saved_model(&m), vec![]);
}

#[test]
fn read_file_in_the_graph() {
    let mut nodes = benign_nodes();
    nodes.push(node("path", "Const", &[], &[]));
    nodes.push(node("steal", "ReadFile", &["path"], &[]));
    let m = saved_model(&nodes, &benign_functions());
    assert!(looks_like_saved_model(&m));
    let r = scan_saved_model(&m);
    assert_eq!(ms020(&r), vec![("ReadFile", "steal")], "{r:#?}");
    assert_eq!(r.len(), 1);
    assert!(r[0].reason.contains("meta graph 0"));
    assert!(r[0].offset.is_some());
}

#[test]
fn write_file_inside_a_library_function() {
    let mut fns = benign_functions();
    fns.push(function(
        "__inference_drop_7",
        &[node("dropper", "WriteFile", &["a", "b"], &[])],
    ));
    let m = saved_model(&benign_nodes(), &fns);
    let r = scan_saved_model(&m);
    assert_eq!(ms020(&r), vec![("WriteFile", "dropper")], "{r:#?}");
    assert!(
        r[0].reason.contains("function '__inference_drop_7'"),
        "{r:#?}"
    );
}

#[test]
fn python_ops() {
    let mut nodes = benign_nodes();
    nodes.push(node("py", "PyFunc", &[], &[("token", attr_s("pyfunc_0"))]));
    nodes.push(node("py2", "EagerPyFunc", &[], &[]));
    let m = saved_model(&nodes, &[]);
    let r = scan_saved_model(&m);
    assert_eq!(
        ms020(&r),
        vec![("PyFunc", "py"), ("EagerPyFunc", "py2")],
        "{r:#?}"
    );
}

#[test]
fn ops_called_through_attributes_and_printing_to_files() {
    let mut nodes = benign_nodes();
    nodes.push(node(
        "indirect",
        "PartitionedCall",
        &[],
        &[("f", attr_func("ReadFile"))],
    ));
    // list(func) inside a Case op
    let list = len_field(1, &len_field(9, &len_field(1, b"MatchingFiles")));
    nodes.push(node("case", "Case", &[], &[("branches", list)]));
    nodes.push(node(
        "p",
        "PrintV2",
        &[],
        &[("output_stream", attr_s("file:///tmp/x"))],
    ));
    let r = scan_saved_model(&saved_model(&nodes, &[]));
    assert_eq!(
        ms020(&r),
        vec![
            ("ReadFile", "indirect"),
            ("MatchingFiles", "case"),
            ("PrintV2", "p")
        ],
        "{r:#?}"
    );
}

#[test]
fn several_meta_graphs_are_all_walked() {
    let a = saved_model(&benign_nodes(), &[]);
    let b = saved_model(&[node("w", "WriteFile", &[], &[])], &[]);
    // the second model's meta graph appended to the first (repeated field 2)
    let m = [a, b[2..].to_vec()].concat();
    assert!(looks_like_saved_model(&m));
    let r = scan_saved_model(&m);
    assert_eq!(ms020(&r), vec![("WriteFile", "w")]);
    assert!(r[0].reason.contains("meta graph 1"));
}

#[test]
fn truncated_models_are_not_verifiably_safe() {
    let mut nodes = benign_nodes();
    nodes.push(node("steal", "ReadFile", &["path"], &[]));
    let m = saved_model(&nodes, &benign_functions());
    for n in 1..m.len() {
        let r = scan_saved_model(&m[..n]);
        // The outer meta graph is one length-delimited field: every cut inside it is malformed.
        if n > 4 {
            assert!(r.iter().any(|f| f.code == "MS003"), "cut at {n}: {r:#?}");
        }
        assert!(!looks_like_saved_model(&m[..n]) || n <= 2, "cut at {n}");
    }
}

#[test]
fn many_findings_are_capped() {
    let nodes: Vec<Vec<u8>> = (0..100)
        .map(|i| node(&format!("r{i}"), "ReadFile", &[], &[]))
        .collect();
    let r = scan_saved_model(&saved_model(&nodes, &[]));
    assert_eq!(r.len(), 65);
    assert_eq!(r[64].code, "MS090");
}

#[test]
fn not_saved_models() {
    assert!(!looks_like_saved_model(b""));
    assert!(!looks_like_saved_model(b"saved_model.pb is a text file\n"));
    assert!(!looks_like_saved_model(&varint_field(1, 1)));
    // a meta graph without a graph_def
    assert!(!looks_like_saved_model(
        &[varint_field(1, 1), len_field(2, &len_field(1, b""))].concat()
    ));
    // an ONNX model (ir_version, producer_name, graph) is not a SavedModel
    let onnx = [
        varint_field(1, 9),
        len_field(2, b"pytorch"),
        len_field(7, &len_field(1, b"")),
    ]
    .concat();
    assert!(!looks_like_saved_model(&onnx));
    let r = scan_saved_model(&[0x0a, 0x05, 0x01]);
    assert!(r.len() == 1 && r[0].code == "MS003");
}
