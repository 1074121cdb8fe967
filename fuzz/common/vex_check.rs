// Body of the `vex` fuzz target, also `include!`d by crates/mlguard-vuln/tests/fuzz_corpus.rs:
// the bytes as a VEX document (OpenVEX or CycloneDX JSON), applied to a small fixed scan whose
// packages and IDs the seeds name, then rendered as SARIF and CycloneDX. Invariants: no panic;
// an error names the file; `apply` returns the number of findings it marked, marks only with
// `not_affected` or `fixed` and this document's name, and applying twice changes nothing.

#[allow(dead_code)]
fn vex_fuzz_report() -> mlguard_vuln::scan::ScanReport {
    use mlguard_vuln::scan::{DbSummary, Finding, NotEvaluated, PackageEntry, ScanReport, Target};
    use mlguard_vuln::severity::Severity;
    let pkg = |eco: &str, name: &str, version: &str, purl: &str| PackageEntry {
        ecosystem: eco.to_string(),
        name: name.to_string(),
        version: version.to_string(),
        path: format!("records/{name}"),
        layer: "sha256:11".to_string(),
        source: None,
        source_version: None,
        purl: purl.to_string(),
    };
    let finding = |ids: &[&str], package: usize, severity: Severity| Finding {
        id: ids[0].to_string(),
        ids: ids.iter().map(|s| s.to_string()).collect(),
        package,
        severity,
        score: Some(7.5),
        summary: Some("fuzz".to_string()),
        fixed: vec!["9.9".to_string()],
        vex: None,
    };
    ScanReport {
        format: mlguard_vuln::scan::FORMAT.to_string(),
        target: Target {
            name: "registry.example.com/ml/train:2.3".to_string(),
            kind: "registry".to_string(),
            digest: Some(
                "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
                    .to_string(),
            ),
            layers: 1,
        },
        database: DbSummary {
            path: "db".to_string(),
            records: 1,
            updated_at: 0,
            age_days: 0,
        },
        packages: vec![
            pkg(
                "PyPI",
                "torch",
                "2.1.0+cu121",
                "pkg:pypi/torch@2.1.0%2Bcu121",
            ),
            pkg(
                "PyPI",
                "torch",
                "2.1.0+cu121",
                "pkg:pypi/torch@2.1.0%2Bcu121",
            ),
            pkg(
                "Debian:12",
                "libssl3",
                "3.0.11-1~deb12u1",
                "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?upstream=openssl",
            ),
            pkg("NVIDIA", "cuda", "12.1", "pkg:generic/nvidia/cuda@12.1"),
            pkg("PyPI", "pillow", "9.0.0", "pkg:pypi/pillow@9.0.0"),
        ],
        findings: vec![
            finding(
                &["GHSA-pg7h-5qx3-wjr3", "CVE-2024-31580"],
                0,
                Severity::High,
            ),
            finding(
                &["GHSA-pg7h-5qx3-wjr3", "CVE-2024-31580"],
                1,
                Severity::High,
            ),
            finding(&["DSA-5000-1", "CVE-2023-5678"], 2, Severity::High),
            finding(&["NVIDIA-2024-0001"], 3, Severity::Critical),
            finding(
                &["PYSEC-2022-1", "CVE-2022-22817", "GHSA-8vj2-vxx3-667w"],
                4,
                Severity::Critical,
            ),
            finding(&["GHSA-lowl-lowl-lowl"], 4, Severity::Low),
            finding(&["CVE-1"], 4, Severity::Unknown),
        ],
        not_evaluated: vec![NotEvaluated {
            package: 3,
            reason: "fuzz".to_string(),
        }],
        errors: Vec::new(),
        warnings: Vec::new(),
    }
}

#[allow(dead_code)]
fn check_vex_input(data: &[u8]) {
    use mlguard_vuln::output::{cyclonedx, sarif, vex};
    let v = match vex::parse("fuzz.json", data) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("fuzz.json: "), "{msg}");
            return;
        }
    };
    assert_eq!(v.document(), "fuzz.json");
    let mut r = vex_fuzz_report();
    let n = v.apply(&mut r);
    let marks: Vec<_> = r.findings.iter().filter_map(|f| f.vex.as_ref()).collect();
    assert_eq!(n, marks.len());
    for m in &marks {
        assert!(m.status == "not_affected" || m.status == "fixed", "{m:?}");
        assert_eq!(m.document, "fuzz.json");
    }
    let before = r.clone();
    assert_eq!(v.apply(&mut r), n);
    assert_eq!(r, before);
    let s = sarif::render(&r);
    let results = s["runs"][0]["results"].as_array().map_or(0, Vec::len);
    assert_eq!(results, r.findings.len() + r.not_evaluated.len());
    let bom = cyclonedx::sbom_at(&r, true, 0);
    // Our own CycloneDX, read back as VEX, marks the same findings.
    let back =
        vex::parse("fuzz.json", bom.to_string().as_bytes()).expect("own CycloneDX reads back");
    let mut fresh = vex_fuzz_report();
    assert_eq!(back.apply(&mut fresh), n);
    let marked = |r: &mlguard_vuln::scan::ScanReport| -> Vec<usize> {
        (0..r.findings.len())
            .filter(|&i| r.findings[i].vex.is_some())
            .collect()
    };
    assert_eq!(marked(&fresh), marked(&r));
}
