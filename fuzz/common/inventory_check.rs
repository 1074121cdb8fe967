// Body of the `inventory` fuzz target, also `include!`d by crates/mlguard-vuln/tests/fuzz_corpus.rs:
// the bytes through every installed-package record parser (the input's first byte picks the
// path, so each parser runs), and the version schemes on the text. Invariants: no panic; a
// parsed package has a non-empty name and version and the path it was read from; comparing a
// parsed version with itself is Equal.

#[allow(dead_code)]
fn check_inventory_input(data: &[u8]) {
    use mlguard_vuln::inventory::parse;
    use mlguard_vuln::version::Scheme;
    const PATHS: [&str; 4] = [
        "usr/lib/python3/site-packages/x-1.0.dist-info/METADATA",
        "opt/conda/conda-meta/x-1.0-0.json",
        "var/lib/dpkg/status",
        "lib/apk/db/installed",
    ];
    let (path, body) = match data.split_first() {
        Some((b, rest)) => (PATHS[usize::from(*b) % PATHS.len()], rest),
        None => (PATHS[0], data),
    };
    if let Ok(pkgs) = parse(path, body) {
        for p in pkgs {
            assert!(!p.name.is_empty() && !p.version.is_empty(), "{p:?}");
            assert_eq!(p.path, path);
        }
    }
    if let Ok(s) = std::str::from_utf8(body) {
        for scheme in [Scheme::Pypi, Scheme::Debian, Scheme::Semver] {
            if let Ok(o) = scheme.compare(s, s) {
                assert_eq!(o, std::cmp::Ordering::Equal, "{scheme:?} {s:?}");
            }
        }
    }
}
