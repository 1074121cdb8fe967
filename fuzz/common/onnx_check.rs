// Body of the `onnx` fuzz target, also replayed by crates/mlguard-modelscan/tests/fuzz_graphs.rs:
// arbitrary bytes through ONNX detection and the external-data check (lexical only: no folder,
// so nothing touches the file system). Invariants: no panic or hang; findings are MS030, MS003
// (or the MS090 cap note), at most MAX_FINDINGS + 1, one line each, with offsets inside the
// input; bytes taken for ONNX start with a well-formed protobuf field.

#[allow(dead_code)]
fn check_onnx_input(data: &[u8]) {
    use mlguard_modelscan::onnx::{looks_like_onnx, scan_onnx, MAX_FINDINGS};
    let detected = looks_like_onnx(data);
    let findings = scan_onnx(data, None);
    assert!(findings.len() <= MAX_FINDINGS + 1);
    for f in &findings {
        assert!(matches!(f.code, "MS030" | "MS003" | "MS090"), "{f:?}");
        assert!(!f.reason.is_empty() && !f.reason.contains('\n'), "{f:?}");
        if let Some(o) = f.offset {
            assert!(o <= data.len() as u64, "offset past the input: {f:?}");
        }
    }
    if detected {
        assert!(!data.is_empty());
        // A detected model is well formed at its top level: no "malformed" at offset 0.
        assert!(
            !findings
                .iter()
                .any(|f| f.code == "MS003" && f.offset == Some(0)),
            "{findings:?}"
        );
    }
}
