//! Replays the saved corpora and seeds of the `onnx`, `savedmodel` and `hdf5` fuzz targets
//! (fuzz/corpus/{onnx,savedmodel,hdf5}, fuzz/seeds-onnx, fuzz/seeds-savedmodel, fuzz/seeds-hdf5) as ordinary tests, running exactly the fuzz targets'
//! bodies (fuzz/common/*_check.rs), and checks the seeds still mean what they were made for.
//!
//! The ONNX seeds are models written by the script in tests/onnx.rs (and a few hand-built ones,
//! written with the SavedModel seeds by the ignored test `write_graph_seeds`:
//! `cargo test -p mlguard-modelscan --test fuzz_graphs -- --ignored`); the
//! HDF5 seeds are files written by the script in tests/keras_h5.rs.

mod common;
use common::{len_field, varint_field};
include!("../../../fuzz/common/replay.rs");
include!("../../../fuzz/common/onnx_check.rs");
include!("../../../fuzz/common/savedmodel_check.rs");
include!("../../../fuzz/common/hdf5_check.rs");

/// The saved corpora of these targets are smaller than the others' (fewer edges to cover).
const MIN_GRAPH_CORPUS: usize = 50;
const _: usize = MIN_CORPUS_FILES;

#[test]
fn onnx_seeds_replay() {
    replay_dir("corpus/onnx", MIN_GRAPH_CORPUS, check_onnx_input);
    replay_dir("seeds-onnx", 10, check_onnx_input);
}

#[test]
fn savedmodel_seeds_replay() {
    replay_dir(
        "corpus/savedmodel",
        MIN_GRAPH_CORPUS,
        check_savedmodel_input,
    );
    replay_dir("seeds-savedmodel", 8, check_savedmodel_input);
}

#[test]
fn hdf5_seeds_replay() {
    replay_dir("corpus/hdf5", MIN_GRAPH_CORPUS, check_hdf5_input);
    replay_dir("seeds-hdf5", 8, check_hdf5_input);
}

/// The seeds reach the deep paths: models that are detected and have findings.
#[test]
fn seeds_are_detected_and_some_have_findings() {
    use mlguard_modelscan::{hdf5, onnx, savedmodel};
    let count = |dir: &str, detect: fn(&[u8]) -> bool, found: &dyn Fn(&[u8]) -> bool| {
        let files = files_in(&fuzz_dir().join(dir));
        let data: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        (
            data.iter().filter(|d| detect(d)).count(),
            data.iter().filter(|d| found(d)).count(),
        )
    };
    let (d, f) = count("seeds-onnx", onnx::looks_like_onnx, &|d| {
        onnx::scan_onnx(d, None).iter().any(|f| f.code == "MS030")
    });
    assert!(d >= 10 && f >= 5, "onnx: {d} detected, {f} with MS030");
    let (d, f) = count(
        "seeds-savedmodel",
        savedmodel::looks_like_saved_model,
        &|d| {
            savedmodel::scan_saved_model(d)
                .iter()
                .any(|f| f.code == "MS020")
        },
    );
    assert!(d >= 5 && f >= 3, "savedmodel: {d} detected, {f} with MS020");
    let (d, f) = count("seeds-hdf5", hdf5::looks_like_hdf5, &|d| {
        hdf5::scan_keras_h5(d).iter().any(|f| f.code == "MS010")
    });
    assert!(d >= 8 && f >= 3, "hdf5: {d} detected, {f} with MS010");
}

// ---- seed writer ----

fn node(name: &str, op: &str, attrs: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut n = [len_field(1, name.as_bytes()), len_field(2, op.as_bytes())].concat();
    for (k, v) in attrs {
        n.extend(len_field(
            5,
            &[len_field(1, k.as_bytes()), len_field(2, v)].concat(),
        ));
    }
    n
}

fn saved_model(nodes: &[Vec<u8>], functions: &[(&str, Vec<Vec<u8>>)]) -> Vec<u8> {
    let mut graph: Vec<u8> = nodes.iter().flat_map(|n| len_field(1, n)).collect();
    let lib: Vec<u8> = functions
        .iter()
        .flat_map(|(name, nodes)| {
            let mut f = len_field(1, &len_field(1, name.as_bytes()));
            for n in nodes {
                f.extend(len_field(3, n));
            }
            len_field(1, &f)
        })
        .collect();
    if !lib.is_empty() {
        graph.extend(len_field(2, &lib));
    }
    let meta = [len_field(1, &len_field(4, b"serve")), len_field(2, &graph)].concat();
    [varint_field(1, 1), len_field(2, &meta)].concat()
}

/// Regenerate fuzz/seeds-savedmodel and the hand-built ONNX seeds.
#[test]
#[ignore]
fn write_graph_seeds() {
    let dir = fuzz_dir().join("seeds-savedmodel");
    std::fs::create_dir_all(&dir).unwrap();
    let func = |name: &str| len_field(10, &len_field(1, name.as_bytes()));
    let benign = vec![
        node("x", "Placeholder", &[("dtype", varint_field(6, 1))]),
        node(
            "w",
            "Const",
            &[("value", len_field(8, &varint_field(1, 1)))],
        ),
        node("y", "MatMul", &[]),
        node("c", "StatefulPartitionedCall", &[("f", func("save"))]),
    ];
    let save_fn = (
        "save",
        vec![
            node("s", "SaveV2", &[]),
            node("r", "RestoreV2", &[]),
            node(
                "p",
                "PrintV2",
                &[("output_stream", len_field(2, b"stderr"))],
            ),
        ],
    );
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        (
            "benign.pb",
            saved_model(&benign, std::slice::from_ref(&save_fn)),
        ),
        (
            "readfile.pb",
            saved_model(
                &[node("r", "ReadFile", &[])],
                std::slice::from_ref(&save_fn),
            ),
        ),
        (
            "writefile-in-function.pb",
            saved_model(&benign, &[("drop", vec![node("w", "WriteFile", &[])])]),
        ),
        (
            "pyfunc.pb",
            saved_model(
                &[node("p", "PyFunc", &[("token", len_field(2, b"t"))])],
                &[],
            ),
        ),
        (
            "call-readfile.pb",
            saved_model(
                &[node("c", "PartitionedCall", &[("f", func("ReadFile"))])],
                &[],
            ),
        ),
        (
            "list-func.pb",
            saved_model(
                &[node(
                    "c",
                    "Case",
                    &[(
                        "branches",
                        len_field(1, &len_field(9, &len_field(1, b"EagerPyFunc"))),
                    )],
                )],
                &[],
            ),
        ),
        (
            "printv2-file.pb",
            saved_model(
                &[node(
                    "p",
                    "PrintV2",
                    &[("output_stream", len_field(2, b"file:///tmp/x"))],
                )],
                &[],
            ),
        ),
        (
            "decodeproto.pb",
            saved_model(
                &[node(
                    "d",
                    "DecodeProtoV2",
                    &[("descriptor_source", len_field(2, b"/etc/x"))],
                )],
                &[],
            ),
        ),
        ("empty-graph.pb", saved_model(&[], &[])),
    ];
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let readfile = &seeds[1].1;
    std::fs::write(dir.join("truncated.pb"), &readfile[..readfile.len() - 3]).unwrap();

    // Hand-built ONNX: ir_version, graph{initializer tensor{name, external_data, data_location}}.
    let dir = fuzz_dir().join("seeds-onnx");
    let entry = |k: &str, v: &str| {
        len_field(
            13,
            &[len_field(1, k.as_bytes()), len_field(2, v.as_bytes())].concat(),
        )
    };
    let model = |t: Vec<u8>| [varint_field(1, 9), len_field(7, &len_field(5, &t))].concat();
    let t = |entries: Vec<Vec<u8>>| {
        [vec![len_field(8, b"t")], entries, vec![varint_field(14, 1)]]
            .concat()
            .concat()
    };
    let onnx: Vec<(&str, Vec<u8>)> = vec![
        (
            "hand-ort-mem.onnx",
            model(t(vec![entry("location", "*/_ORT_MEM_ADDR_/*")])),
        ),
        (
            "hand-overflow.onnx",
            model(t(vec![
                entry("location", "w.bin"),
                entry("offset", "9223372036854775807"),
                entry("length", "2"),
            ])),
        ),
        (
            "hand-unc.onnx",
            model(t(vec![entry("location", "\\\\host\\share\\w")])),
        ),
        ("hand-no-location.onnx", model(t(vec![]))),
    ];
    for (name, bytes) in onnx {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
