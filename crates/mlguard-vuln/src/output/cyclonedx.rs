//! CycloneDX 1.5 JSON of an image scan: the packages as components, optionally with the
//! vulnerabilities (the VEX analysis of marked findings included), validated against the
//! official bom-1.5 schema in the tests.
//!
//! - `serialNumber`: a UUID (version 8, RFC 9562's name-based SHA-256 layout) made from the
//!   SHA-256 of the document without its timestamp: the same scan gives the same serial.
//! - `metadata`: `timestamp` (now, UTC; `SOURCE_DATE_EPOCH` when set), `tools.components` =
//!   mlguard with its version, `component` = the scanned image (`container`; `application`
//!   for a Python environment) with its manifest digest as version and SHA-256 hash and a
//!   `pkg:oci` purl when the digest is known.
//! - `components`: one `library` per package (NVIDIA's too, publisher NVIDIA): name, version,
//!   purl, `bom-ref` = the purl (`#2`, `#3`… appended when the same purl is found at several
//!   paths), properties `mlguard:ecosystem`, `mlguard:path`, `mlguard:layer` (and
//!   `mlguard:source`, `mlguard:source-version` for Debian/Alpine binaries).
//! - `vulnerabilities` (with_vulnerabilities): one per vulnerability ID, VEX mark and fix
//!   versions, `affects[].ref` = the components' bom-refs (version status `affected`, or
//!   `unaffected` under a VEX mark), `source` = its OSV page, `references` = the aliases,
//!   `ratings` = severity (+ score with method `CVSSv31` when known), `recommendation` = the fix
//!   versions, `analysis` from the VEX mark (`not_affected` → `not_affected`, `fixed` →
//!   `resolved`; OpenVEX justifications mapped to CycloneDX's). Records that could not be
//!   evaluated are `mlguard:not-evaluated` properties of their component.

use crate::scan::{Finding, PackageEntry, ScanReport, VexMark};
use crate::severity::Severity;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

pub const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.5.schema.json";

/// The BOM with the current time (or `SOURCE_DATE_EPOCH`) as its timestamp.
pub fn sbom(report: &ScanReport, with_vulnerabilities: bool) -> Value {
    let now = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
        });
    sbom_at(report, with_vulnerabilities, now)
}

/// The BOM with `unix_secs` as its timestamp.
pub fn sbom_at(report: &ScanReport, with_vulnerabilities: bool, unix_secs: u64) -> Value {
    let refs = bom_refs(&report.packages);
    let mut not_evaluated: HashMap<usize, Vec<&str>> = HashMap::new();
    if with_vulnerabilities {
        for n in &report.not_evaluated {
            not_evaluated.entry(n.package).or_default().push(&n.reason);
        }
    }
    let components: Vec<Value> = report
        .packages
        .iter()
        .zip(&refs)
        .enumerate()
        .map(|(i, (p, r))| component(p, r, not_evaluated.get(&i)))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let mut metadata = json!({
        "timestamp": "",
        "lifecycles": [{ "phase": "post-build" }],
        "tools": { "components": [{
            "type": "application",
            "name": "mlguard",
            "version": version,
            "externalReferences": [{ "type": "website", "url": env!("CARGO_PKG_REPOSITORY") }],
        }] },
        "component": image_component(report),
    });
    if with_vulnerabilities {
        metadata["properties"] = json!([
            { "name": "mlguard:database-records", "value": report.database.records.to_string() },
            { "name": "mlguard:database-updated", "value": super::rfc3339_utc(report.database.updated_at) },
        ]);
    }
    let mut bom = json!({
        "$schema": SCHEMA,
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "metadata": metadata,
        "components": components,
    });
    if with_vulnerabilities {
        bom["vulnerabilities"] = Value::Array(vulnerabilities(report, &refs));
    }
    let digest = super::sha256_hex(&serde_json::to_vec(&bom).unwrap_or_default());
    bom["serialNumber"] = json!(format!("urn:uuid:{}", uuid_from_hex(&digest)));
    bom["metadata"]["timestamp"] = json!(super::rfc3339_utc(unix_secs));
    bom
}

/// A version 8 UUID (RFC 9562 §5.8, laid out as its SHA-256 name-based example, B.2) from the
/// first 16 bytes of a hex digest.
fn uuid_from_hex(hex: &str) -> String {
    let mut b: Vec<u8> = (0..16)
        .map(|i| {
            hex.get(2 * i..2 * i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0)
        })
        .collect();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The bom-ref of every package: its purl, with `#2`, `#3`… for later packages of the same
/// purl (the same package recorded at several paths).
pub fn bom_refs(packages: &[PackageEntry]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut used: std::collections::HashSet<String> = std::collections::HashSet::new();
    packages
        .iter()
        .map(|p| {
            let base = if p.purl.is_empty() {
                format!("mlguard:{}/{}@{}", p.ecosystem, p.name, p.version)
            } else {
                p.purl.clone()
            };
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let mut r = if *n == 1 {
                base.clone()
            } else {
                format!("{base}#{n}")
            };
            // A purl that itself ends in `#2` (a subpath) must not collide either.
            while used.contains(&r) {
                *n += 1;
                r = format!("{base}#{n}");
            }
            used.insert(r.clone());
            r
        })
        .collect()
}

fn property(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

fn component(p: &PackageEntry, bom_ref: &str, not_evaluated: Option<&Vec<&str>>) -> Value {
    let mut props = vec![
        property("mlguard:ecosystem", &p.ecosystem),
        property("mlguard:path", &p.path),
        property("mlguard:layer", &p.layer),
    ];
    if let Some(s) = &p.source {
        props.push(property("mlguard:source", s));
    }
    if let Some(s) = &p.source_version {
        props.push(property("mlguard:source-version", s));
    }
    for reason in not_evaluated.into_iter().flatten() {
        props.push(property("mlguard:not-evaluated", reason));
    }
    let mut c = json!({
        "type": "library",
        "bom-ref": bom_ref,
        "name": p.name,
        "version": p.version,
        "properties": props,
    });
    if !p.purl.is_empty() {
        c["purl"] = json!(p.purl);
    }
    if p.ecosystem == crate::cuda::ECOSYSTEM {
        c["publisher"] = json!("NVIDIA");
    }
    c
}

/// `pkg:oci` purl of the scanned image when its digest is known: the repository's last
/// segment as name (a file's stem for an archive or layout), `repository_url` and `tag` for a
/// registry reference.
pub fn image_purl(name: &str, kind: &str, digest: &str) -> Option<String> {
    if digest.is_empty() {
        return None;
    }
    let enc = |s: &str| super::pct_encode(s, b"-._~");
    let (repo_name, qualifiers) = if kind == "registry" {
        let no_digest = name.split('@').next().unwrap_or(name);
        let (repo, tag) = match no_digest.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t)),
            _ => (no_digest, None),
        };
        let last = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
        let mut q = format!(
            "?repository_url={}",
            super::pct_encode(&repo.to_ascii_lowercase(), b"-._~/:")
        );
        if let Some(t) = tag {
            q.push_str(&format!("&tag={}", enc(t)));
        }
        (last, q)
    } else {
        let trimmed = name.trim_end_matches('/');
        let file = trimmed.rsplit('/').next().unwrap_or(trimmed);
        let stem = file
            .strip_suffix(".tar")
            .or_else(|| file.strip_suffix(".tar.gz"))
            .unwrap_or(file);
        (stem.to_ascii_lowercase(), String::new())
    };
    if repo_name.is_empty() {
        return None;
    }
    Some(format!(
        "pkg:oci/{}@{}{}",
        enc(&repo_name),
        enc(digest),
        qualifiers
    ))
}

fn image_component(report: &ScanReport) -> Value {
    let t = &report.target;
    let ty = if t.kind == "python-env" {
        "application"
    } else {
        "container"
    };
    let purl = t
        .digest
        .as_deref()
        .and_then(|d| image_purl(&t.name, &t.kind, d));
    let mut c = json!({
        "type": ty,
        "bom-ref": purl.clone().unwrap_or_else(|| "mlguard:scanned-image".to_string()),
        "name": if t.name.is_empty() { "image" } else { t.name.as_str() },
        "properties": [
            property("mlguard:target-kind", &t.kind),
            property("mlguard:layers", &t.layers.to_string()),
        ],
    });
    if let Some(d) = &t.digest {
        c["version"] = json!(d);
        if let Some(hex) = d.strip_prefix("sha256:") {
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                c["hashes"] = json!([{ "alg": "SHA-256", "content": hex.to_ascii_lowercase() }]);
            }
        }
    }
    if let Some(p) = purl {
        c["purl"] = json!(p);
    }
    c
}

/// Where an alias is published.
fn alias_source(id: &str) -> Value {
    if id.starts_with("CVE-") {
        json!({ "name": "NVD", "url": format!("https://nvd.nist.gov/vuln/detail/{}", super::pct_encode(id, b"-._~")) })
    } else if id.starts_with("GHSA-") {
        json!({ "name": "GitHub", "url": format!("https://github.com/advisories/{}", super::pct_encode(id, b"-._~")) })
    } else {
        json!({ "name": "OSV", "url": super::osv_url(id) })
    }
}

/// CycloneDX's `impactAnalysisJustification` of a VEX justification: CycloneDX values as they
/// are, OpenVEX's mapped to their nearest, anything else none.
pub fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "code_not_present" => "code_not_present",
        "code_not_reachable" => "code_not_reachable",
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "requires_environment" => "requires_environment",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        "protected_by_mitigating_control" => "protected_by_mitigating_control",
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "protected_at_runtime",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        _ => return None,
    })
}

fn analysis(v: &VexMark) -> Value {
    let state = if v.status == "fixed" {
        "resolved"
    } else {
        "not_affected"
    };
    let mut detail = format!("VEX {}: {}", v.document, v.status);
    if let Some(j) = &v.justification {
        detail.push_str(&format!(" ({j})"));
    }
    if let Some(s) = &v.statement {
        detail.push_str(&format!(": {s}"));
    }
    let mut a = json!({ "state": state, "detail": detail });
    if let Some(j) = v.justification.as_deref().and_then(cdx_justification) {
        if state == "not_affected" {
            a["justification"] = json!(j);
        }
    }
    if state == "resolved" {
        a["response"] = json!(["update"]);
    }
    a
}

fn rating(f: &Finding) -> Value {
    let sev = match f.severity {
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
        Severity::Unknown => "unknown",
    };
    let mut r =
        json!({ "source": { "name": "OSV", "url": super::osv_url(&f.id) }, "severity": sev });
    if let Some(x) = f.score.filter(|x| x.is_finite()) {
        r["score"] = json!(x);
        r["method"] = json!("CVSSv31");
    }
    r
}

fn vulnerabilities(report: &ScanReport, refs: &[String]) -> Vec<Value> {
    // Findings of one ID with the same VEX mark and fix versions share an entry.
    type Key<'a> = (&'a str, Option<&'a VexMark>, &'a [String]);
    let mut groups: Vec<(Key, Vec<&Finding>)> = Vec::new();
    let mut at: HashMap<(&str, Option<String>, &[String]), usize> = HashMap::new();
    for f in &report.findings {
        if f.package >= report.packages.len() {
            continue;
        }
        let k = (f.id.as_str(), f.vex.as_ref(), f.fixed.as_slice());
        let hk = (
            f.id.as_str(),
            f.vex
                .as_ref()
                .map(|v| serde_json::to_string(v).unwrap_or_default()),
            f.fixed.as_slice(),
        );
        match at.get(&hk) {
            Some(&i) => groups[i].1.push(f),
            None => {
                at.insert(hk, groups.len());
                groups.push((k, vec![f]));
            }
        }
    }
    let mut id_count: BTreeMap<&str, usize> = BTreeMap::new();
    groups
        .iter()
        .map(|((id, vex, fixed), fs)| {
            let first = fs[0];
            let n = id_count.entry(id).or_insert(0);
            *n += 1;
            let bom_ref = if *n == 1 {
                format!("vuln:{id}")
            } else {
                format!("vuln:{id}#{n}")
            };
            let mut aliases: Vec<&str> = Vec::new();
            for f in fs {
                for a in &f.ids {
                    if a != id && !aliases.contains(&a.as_str()) {
                        aliases.push(a);
                    }
                }
            }
            let status = if vex.is_some() {
                "unaffected"
            } else {
                "affected"
            };
            let mut affects: Vec<Value> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for f in fs {
                if !seen.insert(f.package) {
                    continue;
                }
                affects.push(json!({
                    "ref": refs[f.package],
                    "versions": [{ "version": report.packages[f.package].version, "status": status }],
                }));
            }
            let names: Vec<&str> = {
                let mut v: Vec<&str> = fs
                    .iter()
                    .map(|f| report.packages[f.package].name.as_str())
                    .collect();
                v.dedup();
                v
            };
            let recommendation = if fixed.is_empty() {
                format!("No fixed version of {} is known.", names.join(", "))
            } else {
                format!("Upgrade {} to {}.", names.join(", "), fixed.join(" or "))
            };
            let mut v = json!({
                "bom-ref": bom_ref,
                "id": id,
                "source": { "name": "OSV", "url": super::osv_url(id) },
                "ratings": [rating(first)],
                "recommendation": recommendation,
                "affects": affects,
            });
            if !aliases.is_empty() {
                v["references"] = Value::Array(
                    aliases
                        .iter()
                        .map(|a| json!({ "id": a, "source": alias_source(a) }))
                        .collect(),
                );
            }
            if let Some(s) = first.summary.as_deref().filter(|s| !s.trim().is_empty()) {
                v["description"] = json!(s.trim());
            }
            if let Some(m) = vex {
                v["analysis"] = analysis(m);
            }
            v
        })
        .collect()
}
