// Body of the `model_file` fuzz target, also `include!`d by
// crates/mlguard-modelscan/tests/fuzz_models.rs: the bytes as a model file through content
// detection and every container parser the scanner has (zip, tar, gzip/zlib, npy, and the
// pickles, Keras configs and other formats inside). The input's first byte picks the file
// name, so both the "model name" and "other name" rules run. Invariants: no panic; a file
// with a model's name is never "skipped"; a not-verifiably-safe verdict has a finding.

#[allow(dead_code)]
fn check_model_file_input(data: &[u8]) {
    use mlguard_modelscan::{scan_bytes, Options};
    let (name, body) = match data.split_first() {
        Some((b, rest)) if b % 2 == 0 => ("model.pt", rest),
        Some((_, rest)) => ("notes.txt", rest),
        None => ("model.pt", data),
    };
    let mut opts = Options::default();
    opts.max_inflate = 1 << 20;
    let r = scan_bytes(name, body, &opts);
    let v = r.verdict();
    if name == "model.pt" {
        assert_ne!(v, "skipped", "a model-named file was skipped: {r:?}");
    }
    if v == "not-verifiably-safe" || v == "unsafe" || v == "suspicious" {
        assert!(!r.findings.is_empty());
    }
}
