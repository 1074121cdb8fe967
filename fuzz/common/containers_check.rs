// Body of the `containers` fuzz target, also `include!`d by
// crates/mlguard-modelscan/tests/fuzz_models.rs: the bytes straight into each container parser
// of the model scanner, without content detection in front: the zip reader (members, local
// headers, inflate with a small cap), the tar reader, the .npy header parser and the Keras
// configuration walk. Invariants: no panic; every member the zip reader returns lies inside the
// input once located; inflated content never exceeds the cap; tar entries lie inside the input.

#[allow(dead_code)]
fn check_containers_input(data: &[u8]) {
    use mlguard_modelscan::{keras, npy, tar, zip};
    if let Ok(mut a) = zip::read(data) {
        for m in a.members.iter_mut().take(64) {
            if zip::locate(data, m).is_ok() {
                if let Ok(raw) = zip::raw(data, m) {
                    assert!(raw.len() as u64 == m.compressed_size);
                }
                if let Ok(c) = zip::content(data, m, 1 << 16) {
                    assert!(c.len() <= 1 << 16 || m.method == 0);
                }
            }
        }
    }
    if let Ok(entries) = tar::read(data) {
        for e in entries {
            assert!(e.offset + e.size <= data.len());
        }
    }
    if let Ok(h) = npy::header(data) {
        assert!(h.data_offset <= data.len());
    }
    let _ = keras::scan_keras_config(data);
}
