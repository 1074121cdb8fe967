// Body of the `safetensors` fuzz target, also replayed by
// crates/mlguard-modelscan/tests/fuzz_tensors.rs: arbitrary bytes through the safetensors header
// check. Invariants: no panic or hang; findings are MS040 (or the MS090 cap note), at most
// MAX_FINDINGS + 1, one line each, with offsets inside the input; a clean file is detected as
// safetensors, and one byte appended to it is reported.

#[allow(dead_code)]
fn check_safetensors_input(data: &[u8]) {
    use mlguard_modelscan::safetensors::{looks_like_safetensors, scan_safetensors, MAX_FINDINGS};
    let findings = scan_safetensors(data);
    assert!(findings.len() <= MAX_FINDINGS + 1);
    for f in &findings {
        assert!(f.code == "MS040" || f.code == "MS090", "{f:?}");
        assert!(!f.reason.is_empty() && !f.reason.contains('\n'), "{f:?}");
        if let Some(o) = f.offset {
            assert!(o <= data.len() as u64, "offset past the input: {f:?}");
        }
    }
    if findings.is_empty() {
        assert!(
            data.len() >= 10,
            "a clean file holds at least a length and {{}}"
        );
        assert!(
            looks_like_safetensors(&data[..data.len().min(64)]),
            "a clean file is not detected"
        );
        if data.len() < (1 << 20) {
            let mut longer = data.to_vec();
            longer.push(0);
            assert!(
                !scan_safetensors(&longer).is_empty(),
                "a trailing byte after a clean file passed"
            );
        }
    }
}
