// Body of the `gguf` fuzz target, also replayed by crates/mlguard-modelscan/tests/fuzz_tensors.rs:
// arbitrary bytes through the GGUF check. Invariants: no panic or hang; findings are MS050,
// MS051, MS003 (or the MS090 cap note), at most MAX_FINDINGS + 1, one line each, with offsets
// inside the input; a clean file starts with the magic and holds the whole fixed header.

#[allow(dead_code)]
fn check_gguf_input(data: &[u8]) {
    use mlguard_modelscan::gguf::{looks_like_gguf, scan_gguf, MAX_FINDINGS};
    let findings = scan_gguf(data);
    assert!(findings.len() <= MAX_FINDINGS + 1);
    for f in &findings {
        assert!(
            matches!(f.code, "MS050" | "MS051" | "MS003" | "MS090"),
            "{f:?}"
        );
        assert!(!f.reason.is_empty() && !f.reason.contains('\n'), "{f:?}");
        if let Some(o) = f.offset {
            assert!(o <= data.len() as u64, "offset past the input: {f:?}");
        }
    }
    if findings.is_empty() {
        assert!(looks_like_gguf(data), "a clean file without the magic");
        assert!(data.len() >= 24, "a clean file holds the whole header");
    }
}
