// Body of the `image_layer` fuzz target, also `include!`d by
// crates/mlguard-vuln/tests/fuzz_corpus.rs: the bytes as one image layer (plain, gzip or zstd
// tar) through the whiteout overlay and the record parsers. Invariants: no panic; every package
// found names a path inside the layer and a non-empty name and version.

#[allow(dead_code)]
fn check_image_layer_input(data: &[u8]) {
    if let Ok(inv) = mlguard_vuln::image::read_layer_bytes(data) {
        for (p, layer) in &inv.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
            assert!(layer == "layer" || layer == "config", "{layer}");
        }
    }
}
