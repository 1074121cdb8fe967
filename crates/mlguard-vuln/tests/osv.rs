//! OSV evaluation: the schema's examples and pseudocode cases, explicit version lists (the form
//! Debian and CUDA advisories take), withdrawn records, limits, last_affected, name
//! normalisation, local versions, errors on unparseable bounds, and real PyPA advisories from
//! ../shared/data/pypa-advisory-database (CC-BY-4.0), converted from YAML by the test venv.

use mlguard_vuln::osv::{MatchError, Record};
use std::path::Path;

fn record(json: &str) -> Record {
    serde_json::from_str(json).unwrap()
}

fn pypi(events: &str) -> Record {
    record(&format!(
        r#"{{"id": "TEST-1", "affected": [{{"package": {{"ecosystem": "PyPI", "name": "torch"}},
            "ranges": [{{"type": "ECOSYSTEM", "events": {events}}}]}}]}}"#
    ))
}

fn affects(r: &Record, v: &str) -> bool {
    r.affects("PyPI", "torch", v).unwrap()
}

#[test]
fn introduced_fixed_ranges() {
    let r = pypi(
        r#"[{"introduced": "1.0.0"}, {"fixed": "1.0.2"}, {"introduced": "3.0.0"}, {"fixed": "3.2.5"}]"#,
    );
    for (v, want) in [
        ("0.9", false),
        ("1.0.0", true),
        ("1.0.1", true),
        ("1.0.2", false),
        ("2.0", false),
        ("3.0.0", true),
        ("3.2.4", true),
        ("3.2.5", false),
        ("4", false),
    ] {
        assert_eq!(affects(&r, v), want, "{v}");
    }
    // Events in any order: they are sorted first.
    let r = pypi(
        r#"[{"fixed": "3.2.5"}, {"introduced": "3.0.0"}, {"fixed": "1.0.2"}, {"introduced": "1.0.0"}]"#,
    );
    assert!(affects(&r, "3.1") && !affects(&r, "2.0"));
}

#[test]
fn zero_last_affected_and_limit() {
    let r = pypi(r#"[{"introduced": "0"}]"#);
    assert!(affects(&r, "0.0.1") && affects(&r, "99"));
    let r = pypi(r#"[{"introduced": "0"}, {"last_affected": "2.0.1"}]"#);
    assert!(affects(&r, "2.0.1") && !affects(&r, "2.0.2") && affects(&r, "1.0"));
    let r = pypi(r#"[{"introduced": "0"}, {"limit": "2.0"}]"#);
    assert!(affects(&r, "1.9") && !affects(&r, "2.0") && !affects(&r, "3"));
    let r = pypi(r#"[{"introduced": "1.0"}, {"limit": "*"}]"#);
    assert!(affects(&r, "7.0") && !affects(&r, "0.5"));
}

#[test]
fn local_versions_match_on_their_public_version() {
    let r = pypi(r#"[{"introduced": "0"}, {"fixed": "2.1.1"}]"#);
    assert!(
        affects(&r, "2.1.0+cu121"),
        "a CUDA build of 2.1.0 has 2.1.0's bugs"
    );
    assert!(!affects(&r, "2.1.1+cu121"));
    let r = pypi(r#"[{"introduced": "0"}, {"fixed": "2.1.0"}]"#);
    assert!(!affects(&r, "2.1.0+cu121"), "and its fixes");
}

#[test]
fn names_ecosystems_versions_lists_and_withdrawn() {
    let r = record(
        r#"{"id": "DSA-0001", "aliases": ["CVE-2024-0001"], "affected": [
            {"package": {"ecosystem": "Debian:12", "name": "libcudnn8"}, "versions": ["8.9.2.26-1+cuda12.1", "8.9.3.28-1+cuda12.1"]},
            {"package": {"ecosystem": "PyPI", "name": "Nvidia_CUDNN.cu12"}, "versions": ["8.9.2.26"]}]}"#,
    );
    assert!(r
        .affects("Debian:12", "libcudnn8", "8.9.2.26-1+cuda12.1")
        .unwrap());
    assert!(!r
        .affects("Debian:12", "libcudnn8", "8.9.4.25-1+cuda12.1")
        .unwrap());
    assert!(!r
        .affects("Debian:11", "libcudnn8", "8.9.2.26-1+cuda12.1")
        .unwrap());
    assert!(r.affects("PyPI", "nvidia-cudnn-cu12", "8.9.2.26").unwrap());
    assert!(!r.affects("PyPI", "torch", "8.9.2.26").unwrap());
    let mut w = r.clone();
    w.withdrawn = Some("2024-01-01T00:00:00Z".into());
    assert!(!w.affects("PyPI", "nvidia-cudnn-cu12", "8.9.2.26").unwrap());
    // A Debian range on plain "Debian" applies to every release.
    let d = record(
        r#"{"id": "DEB-2", "affected": [{"package": {"ecosystem": "Debian", "name": "openssl"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.11-1~deb12u2"}]}]}]}"#,
    );
    assert!(d
        .affects("Debian:12", "openssl", "3.0.11-1~deb12u1")
        .unwrap());
    assert!(!d
        .affects("Debian:12", "openssl", "3.0.11-1~deb12u2")
        .unwrap());
    assert!(!d.affects("Debian:12", "openssl", "3.0.11-1").unwrap());
}

#[test]
fn unparseable_bounds_and_events_are_errors_not_clean() {
    let r = pypi(r#"[{"introduced": "0"}, {"fixed": "not a version"}]"#);
    assert!(matches!(
        r.affects("PyPI", "torch", "1.0"),
        Err(MatchError::Version { .. })
    ));
    let r = pypi(r#"[{"introduced": "0", "fixed": "1.0"}]"#);
    assert!(matches!(
        r.affects("PyPI", "torch", "0.5"),
        Err(MatchError::Event { .. })
    ));
    assert!(matches!(
        r.affects("npm", "torch", "0.5"),
        Err(MatchError::Ecosystem(_))
    ));
    // GIT ranges are skipped; SEMVER ranges use SemVer precedence.
    let g = record(
        r#"{"id": "G", "affected": [{"package": {"ecosystem": "PyPI", "name": "x"}, "ranges": [
            {"type": "GIT", "events": [{"introduced": "0"}, {"fixed": "deadbeef"}]},
            {"type": "SEMVER", "events": [{"introduced": "1.0.0-rc.1"}, {"fixed": "1.0.1"}]}]}]}"#,
    );
    assert_eq!(g.affects("PyPI", "x", "0.9.0"), Ok(false));
    assert_eq!(g.affects("PyPI", "x", "1.0.0"), Ok(true));
    assert_eq!(g.affects("PyPI", "x", "1.0.1"), Ok(false));
}

/// Real PyPA advisories: converted from YAML with the test venv's PyYAML.
#[test]
fn pypa_advisories_evaluate() {
    let db = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/pypa-advisory-database/vulns");
    let python = std::env::var_os("MLGUARD_TEST_PYTHON");
    let (Some(python), true) = (python, db.is_dir()) else {
        assert!(
            std::env::var_os("MLGUARD_REQUIRE_TOOLS").is_none(),
            "the venv or the shared advisory data is missing"
        );
        eprintln!("skipped: MLGUARD_TEST_PYTHON or ../shared/data missing");
        return;
    };
    let script = "import sys, json, yaml, glob\nout = []\nfor p in sorted(glob.glob(sys.argv[1] + '/*/*.yaml')):\n    out.append(yaml.safe_load(open(p)))\nprint(json.dumps(out, default=str))\n";
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<Record> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(records.len() > 1000, "{}", records.len());
    let torch = records.iter().find(|r| r.id == "PYSEC-2022-43015").unwrap();
    assert!(torch.affects("PyPI", "torch", "1.13.0").unwrap());
    assert!(torch.affects("PyPI", "torch", "1.12.1+cu116").unwrap());
    assert!(!torch.affects("PyPI", "torch", "1.13.1").unwrap());
    assert_eq!(torch.fixed_versions("PyPI", "torch"), ["1.13.1"]);
    // Every record evaluates for every version its own list names (or fails loudly).
    let (mut checked, mut errors, mut withdrawn) = (0, 0, 0);
    for r in &records {
        if r.withdrawn.is_some() {
            // Withdrawn records affect nothing, not even what they list.
            let hit = r
                .affected
                .iter()
                .filter_map(|a| Some((a.package.as_ref()?, a.versions.first()?)))
                .any(|(p, v)| r.affects(&p.ecosystem, &p.name, v).unwrap_or(false));
            assert!(!hit, "{} is withdrawn", r.id);
            withdrawn += 1;
            continue;
        }
        for a in &r.affected {
            let Some(p) = &a.package else { continue };
            for v in a.versions.iter().take(3) {
                match r.affects(&p.ecosystem, &p.name, v) {
                    Ok(hit) => {
                        assert!(
                            hit,
                            "{} does not affect {} {v} from its own list",
                            r.id, p.name
                        );
                        checked += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
        }
    }
    println!(
        "{} records ({withdrawn} withdrawn), {checked} listed versions affected, {errors} not evaluable",
        records.len()
    );
    assert!(checked > 1000 && withdrawn > 0);
}

/// A CUDA advisory, as an OSV record built here (NVIDIA publishes bulletins, not OSV): cuDNN
/// components found in an image's config and wheels are matched with dpkg's ordering.
#[test]
fn nvidia_components_match_their_own_records() {
    use mlguard_vuln::cuda;
    use mlguard_vuln::inventory::Package;
    let r = record(
        r#"{"id": "NVIDIA-TEST-1", "aliases": ["CVE-2099-0001"], "affected": [
            {"package": {"ecosystem": "NVIDIA", "name": "cudnn"},
             "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "8.0"}, {"fixed": "8.9.7.29"}]}]},
            {"package": {"ecosystem": "NVIDIA", "name": "cuda"}, "versions": ["12.1", "12.1.1"]}]}"#,
    );
    let env = vec![
        "CUDA_VERSION=12.1.1".to_string(),
        "NV_CUDNN_VERSION=8.9.0.131".to_string(),
    ];
    let found = cuda::from_env(&env);
    for p in &found {
        assert!(
            r.affects(cuda::ECOSYSTEM, &p.name, &p.version).unwrap(),
            "{p:?}"
        );
    }
    let wheel =
        cuda::from_python(&Package::new("PyPI", "nvidia-cudnn-cu12", "8.9.7.29", "x")).unwrap();
    assert!(!r
        .affects(cuda::ECOSYSTEM, &wheel.name, &wheel.version)
        .unwrap());
    let torch = cuda::from_python(&Package::new("PyPI", "torch", "2.1.0+cu121", "x")).unwrap();
    assert!(r
        .affects(cuda::ECOSYSTEM, &torch.name, &torch.version)
        .unwrap());
    assert_eq!(r.fixed_versions(cuda::ECOSYSTEM, "cudnn"), ["8.9.7.29"]);
}
