// Body of the `image_archive` fuzz target, also `include!`d by
// crates/mlguard-vuln/tests/fuzz_corpus.rs: the bytes as a docker-archive or OCI-layout tar held
// in memory (manifest.json or index.json, manifests, config, digest-checked layers). Invariants:
// no panic; every package found has a non-empty name and version and comes from a layer the
// archive names, or from the image config.

#[allow(dead_code)]
fn check_image_archive_input(data: &[u8]) {
    if let Ok(inv) = mlguard_vuln::image::read_archive_bytes(data) {
        for (p, layer) in &inv.packages {
            assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
            assert!(!layer.is_empty(), "{p:?}");
        }
    }
}
