// Body of the `hdf5` fuzz target, also replayed by crates/mlguard-modelscan/tests/fuzz_graphs.rs:
// arbitrary bytes through HDF5 detection and the Keras HDF5 check (superblock, root object header,
// attribute messages, global heap, then the Keras configuration check). Invariants: no panic or
// hang; bytes without the signature are exactly one MS003; findings are MS003 or the Keras codes
// (MS010, MS011, MS012), one line each, with offsets inside the input.

#[allow(dead_code)]
fn check_hdf5_input(data: &[u8]) {
    use mlguard_modelscan::hdf5::{looks_like_hdf5, scan_keras_h5};
    let detected = looks_like_hdf5(data);
    let findings = scan_keras_h5(data);
    if !detected {
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].code, "MS003");
    }
    for f in &findings {
        assert!(
            matches!(f.code, "MS003" | "MS010" | "MS011" | "MS012"),
            "{f:?}"
        );
        assert!(!f.reason.is_empty(), "{f:?}");
        if let Some(o) = f.offset {
            assert!(o <= data.len() as u64, "offset past the input: {f:?}");
        }
    }
}
