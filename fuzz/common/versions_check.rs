// Body of the `versions` fuzz target, also `include!`d by
// crates/mlguard-vuln/tests/fuzz_corpus.rs: up to three versions (lines of the input) compared
// in every scheme (PEP 440, Debian, SemVer). Invariants: no panic; comparing is symmetric
// (a<b exactly when b>a; both sides parse or neither does), reflexive and transitive; PEP 440
// with the local part kept is a total order whose public-part reading is what the Pypi scheme
// gives, and a parsed version printed and parsed again is the same; a Debian version written
// back as [epoch:]upstream[-revision] parses to the same version.

#[allow(dead_code)]
fn check_versions_input(data: &[u8]) {
    use mlguard_vuln::version::debian::DebVersion;
    use mlguard_vuln::version::{pypi, Scheme};
    use std::cmp::Ordering::{Equal, Greater};
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let mut lines = s.splitn(3, '\n');
    let a = lines.next().unwrap_or("");
    let b = lines.next().unwrap_or("");
    let c = lines.next().unwrap_or("");
    for scheme in [Scheme::Pypi, Scheme::Debian, Scheme::Semver] {
        let cmp = |x: &str, y: &str| scheme.compare(x, y);
        for x in [a, b, c] {
            if let Ok(o) = cmp(x, x) {
                assert_eq!(o, Equal, "{scheme:?} {x:?}");
            }
        }
        for (x, y) in [(a, b), (b, c), (a, c)] {
            match (cmp(x, y), cmp(y, x)) {
                (Ok(p), Ok(q)) => assert_eq!(p, q.reverse(), "{scheme:?} {x:?} {y:?}"),
                (Err(_), Err(_)) => {}
                (p, q) => panic!("{scheme:?} {x:?} {y:?}: {p:?} but {q:?}"),
            }
        }
        if let (Ok(ab), Ok(bc), Ok(ac)) = (cmp(a, b), cmp(b, c), cmp(a, c)) {
            if ab != Greater && bc != Greater {
                assert_ne!(ac, Greater, "{scheme:?} {a:?} <= {b:?} <= {c:?}");
            }
            if ab == Equal && bc == Equal {
                assert_eq!(ac, Equal, "{scheme:?} {a:?} = {b:?} = {c:?}");
            }
        }
    }
    for x in [a, b, c] {
        if let Ok(v) = pypi::parse(x) {
            let again = pypi::parse(&v.to_string())
                .unwrap_or_else(|e| panic!("{x:?} printed as {v} does not parse: {e}"));
            assert_eq!(again, v, "{x:?}");
        }
        if let Ok(d) = DebVersion::parse(x) {
            let mut w = String::new();
            if d.epoch != 0 || d.upstream.contains(':') {
                w.push_str(&format!("{}:", d.epoch));
            }
            w.push_str(&d.upstream);
            if !d.revision.is_empty() {
                w.push('-');
                w.push_str(&d.revision);
            }
            let again = DebVersion::parse(&w)
                .unwrap_or_else(|e| panic!("{x:?} written as {w:?} does not parse: {e}"));
            assert_eq!(again, d, "{x:?}");
        }
    }
    if let (Ok(x), Ok(y)) = (pypi::parse(a), pypi::parse(b)) {
        assert_eq!(x.cmp(&y), y.cmp(&x).reverse());
        assert_eq!(x == y, x.cmp(&y) == Equal);
        let public = x.clone().without_local().cmp(&y.clone().without_local());
        assert_eq!(Scheme::Pypi.compare(a, b).ok(), Some(public));
    }
}
