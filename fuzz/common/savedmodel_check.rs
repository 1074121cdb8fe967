// Body of the `savedmodel` fuzz target, also replayed by
// crates/mlguard-modelscan/tests/fuzz_graphs.rs: arbitrary bytes through SavedModel detection and
// the op check. Invariants: no panic or hang; findings are MS020, MS003 (or the MS090 cap note),
// at most MAX_FINDINGS + 1, one line each, with offsets inside the input; every MS020 names an op
// of the documented list and a node.

#[allow(dead_code)]
fn check_savedmodel_input(data: &[u8]) {
    use mlguard_modelscan::savedmodel::{
        file_or_python_op, looks_like_saved_model, scan_saved_model, MAX_FINDINGS,
    };
    let _ = looks_like_saved_model(data);
    let findings = scan_saved_model(data);
    assert!(findings.len() <= MAX_FINDINGS + 1);
    for f in &findings {
        assert!(matches!(f.code, "MS020" | "MS003" | "MS090"), "{f:?}");
        assert!(!f.reason.is_empty() && !f.reason.contains('\n'), "{f:?}");
        if let Some(o) = f.offset {
            assert!(o <= data.len() as u64, "offset past the input: {f:?}");
        }
        if f.code == "MS020" {
            let op = f.opcode.as_deref().expect("an MS020 names its op");
            assert!(
                file_or_python_op(op).is_some()
                    || matches!(op, "PrintV2" | "DecodeProtoV2" | "EncodeProto"),
                "{f:?}"
            );
            assert!(f.global.is_some(), "{f:?}");
        }
    }
}
