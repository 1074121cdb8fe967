//! SARIF 2.1.0 of an image scan, in the conventions of mlguard's other SARIF writers (tool
//! `mlguard`, rules sorted by ID, `security-severity`, `partialFingerprints["mlguard/v1"]`,
//! suppressions of kind `external`).
//!
//! - A rule per vulnerability ID (the finding's preferred ID): short description = the summary,
//!   `helpUri` = its OSV page, `properties.security-severity` = the CVSS base score when known
//!   (else the representative score of its rating, as mlguard-report writes; none for unknown),
//!   default level from the severity.
//! - A result per finding: level critical/high → `error`, medium → `warning`, low → `note`,
//!   unknown → `error`; the message names the package, its version and the fix versions; the
//!   location is the record file inside the image (`artifactLocation.uri`, relative, no
//!   `uriBaseId`) with a logical location for the layer. A finding a VEX document marks is kept
//!   with a `suppressions` entry (kind `external`, status `accepted`), so code scanning shows
//!   it as dismissed instead of losing it.
//! - A record that could not be evaluated for a package is a result of rule
//!   `MLG-VULN-NOT-EVALUATED`, level `error` (could not tell is not clean).
//! - Record files that could not be read are `toolExecutionNotifications` (level error, and
//!   `executionSuccessful: false`); warnings are notifications of level warning.

use crate::scan::{Finding, NotEvaluated, PackageEntry, ScanReport};
use crate::severity::Severity;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The rule of not-evaluated records.
pub const NOT_EVALUATED_RULE: &str = "MLG-VULN-NOT-EVALUATED";
/// Key of the stable fingerprint in `partialFingerprints`.
pub const FINGERPRINT: &str = "mlguard/v1";
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");

/// The SARIF level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High | Severity::Unknown => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning's `security-severity`: the CVSS score when known, else the
/// representative score of the rating (as mlguard-report writes), none for unknown.
fn security_severity(s: Severity, score: Option<f64>) -> Option<String> {
    if let Some(x) = score.filter(|x| x.is_finite() && (0.0..=10.0).contains(x)) {
        return Some(format!("{x:.1}"));
    }
    match s {
        Severity::Critical => Some("9.5".into()),
        Severity::High => Some("8.0".into()),
        Severity::Medium => Some("5.5".into()),
        Severity::Low => Some("3.0".into()),
        Severity::Unknown => None,
    }
}

/// Stable identity of a finding across scans: the vulnerability, the package's ecosystem and
/// name and the record file. Not the version (an upgrade that does not fix it keeps the alert
/// open) nor the layer (rebuilds change layer digests).
pub fn fingerprint(vuln: &str, p: &PackageEntry) -> String {
    let id = [vuln, p.ecosystem.as_str(), p.name.as_str(), p.path.as_str()].join("\u{0}");
    super::sha256_hex(id.as_bytes())
}

/// The location of a package: its record file (unless it came from the image config, which
/// is no file) and the layer as a logical location.
fn location(p: &PackageEntry) -> Value {
    let mut loc = Map::new();
    let path = p.path.trim_start_matches('/');
    if !path.is_empty() && p.layer != "config" {
        loc.insert(
            "physicalLocation".into(),
            json!({ "artifactLocation": { "uri": super::pct_encode(path, b"-._~/+") } }),
        );
    }
    let mut logical = json!({
        "name": p.layer,
        "kind": "layer",
        "properties": { "recordPath": p.path },
    });
    if p.layer == "rootfs" || p.layer == "config" {
        logical["kind"] = json!(p.layer);
    }
    loc.insert("logicalLocations".into(), json!([logical]));
    Value::Object(loc)
}

fn package_json(p: &PackageEntry) -> Value {
    let mut v = json!({
        "ecosystem": p.ecosystem,
        "name": p.name,
        "version": p.version,
        "purl": p.purl,
        "path": p.path,
        "layer": p.layer,
    });
    if let Some(s) = &p.source {
        v["source"] = json!(s);
    }
    v
}

fn finding_message(f: &Finding, p: &PackageEntry) -> String {
    let aliases = if f.ids.len() > 1 {
        format!(" ({})", f.ids[1..].join(", "))
    } else {
        String::new()
    };
    let mut m = format!(
        "{} {} ({}) is affected by {}{aliases}",
        p.name, p.version, p.ecosystem, f.id
    );
    if let Some(s) = f.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        m.push_str(&format!(": {}", s.trim()));
    }
    m.push_str(&format!(" [severity {}", f.severity));
    if let Some(x) = f.score {
        m.push_str(&format!(", CVSS {x:.1}"));
    }
    m.push_str("]. ");
    if f.fixed.is_empty() {
        m.push_str("No fixed version is known.");
    } else {
        m.push_str(&format!("Fixed in {}.", f.fixed.join(", ")));
    }
    if let Some(v) = &f.vex {
        m.push_str(&format!(" VEX ({}): {}.", v.document, v.status));
    }
    m
}

/// Rule metadata gathered over the findings of one vulnerability ID.
struct RuleInfo<'a> {
    ids: Vec<&'a str>,
    summary: Option<&'a str>,
    severity: Severity,
    score: Option<f64>,
}

fn rule_json(id: &str, r: &RuleInfo) -> Value {
    let summary = r.summary.map(str::trim).filter(|s| !s.is_empty());
    let short = summary.map_or_else(|| format!("Vulnerability {id}"), str::to_owned);
    let aliases: Vec<&str> = r.ids.iter().copied().filter(|a| *a != id).collect();
    let mut full = short.clone();
    if !aliases.is_empty() {
        full.push_str(&format!(" (aliases: {})", aliases.join(", ")));
    }
    let url = super::osv_url(id);
    let help = format!(
        "{full}\n\nUpgrade the package to a fixed version (each result lists them), or mark it with a VEX statement if the vulnerable code cannot be reached.\n\nDetails: {url}"
    );
    let help_md = format!(
        "**{short}**\n\nAliases: {}\n\nUpgrade the package to a fixed version (each result lists them), or mark it with a VEX statement if the vulnerable code cannot be reached.\n\n[{id} on OSV]({url})",
        if aliases.is_empty() {
            "none".to_string()
        } else {
            aliases.join(", ")
        }
    );
    let mut props = json!({
        "tags": ["security", "vulnerability"],
        "severity": r.severity.as_str(),
        "aliases": aliases,
    });
    if let Some(s) = security_severity(r.severity, r.score) {
        props["security-severity"] = json!(s);
    }
    if let Some(x) = r.score {
        props["cvssScore"] = json!(x);
    }
    json!({
        "id": id,
        "shortDescription": { "text": short },
        "fullDescription": { "text": full },
        "helpUri": url,
        "help": { "text": help, "markdown": help_md },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": props,
    })
}

fn not_evaluated_rule() -> Value {
    json!({
        "id": NOT_EVALUATED_RULE,
        "name": "AdvisoryNotEvaluated",
        "shortDescription": { "text": "An advisory could not be evaluated for a package" },
        "fullDescription": {
            "text": "A vulnerability record names this package but could not be evaluated for its version (a bound that does not parse, an ecosystem without a version scheme). Could not tell is not clean: the package may be affected."
        },
        "help": {
            "text": "Check the package's version against the advisory by hand, or update the database; the result message gives the reason.",
            "markdown": "Check the package's version against the advisory by hand, or update the database; the result message gives the reason."
        },
        "defaultConfiguration": { "level": "error" },
        "properties": { "tags": ["security", "vulnerability"], "severity": "unknown" },
    })
}

fn finding_result(f: &Finding, p: &PackageEntry, rule_index: usize) -> Value {
    let mut props = json!({
        "severity": f.severity.as_str(),
        "ids": f.ids,
        "fixed": f.fixed,
        "package": package_json(p),
    });
    if let Some(s) = security_severity(f.severity, f.score) {
        props["security-severity"] = json!(s);
    }
    if let Some(x) = f.score {
        props["cvssScore"] = json!(x);
    }
    let mut out = json!({
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": finding_message(f, p) },
        "locations": [location(p)],
        "partialFingerprints": { FINGERPRINT: fingerprint(&f.id, p) },
        "properties": props,
    });
    if let Some(v) = &f.vex {
        let mut why = format!("VEX {}: {}", v.document, v.status);
        if let Some(j) = &v.justification {
            why.push_str(&format!(" ({j})"));
        }
        if let Some(s) = &v.statement {
            why.push_str(&format!(": {s}"));
        }
        let mut vp = json!({ "document": v.document, "status": v.status });
        if let Some(j) = &v.justification {
            vp["justification"] = json!(j);
        }
        out["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": why,
            "properties": { "vex": vp },
        }]);
    }
    out
}

fn not_evaluated_result(n: &NotEvaluated, p: &PackageEntry, rule_index: usize) -> Value {
    json!({
        "ruleId": NOT_EVALUATED_RULE,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {
            "text": format!(
                "An advisory for {} {} ({}) could not be evaluated: {}",
                p.name, p.version, p.ecosystem, n.reason
            )
        },
        "locations": [location(p)],
        "partialFingerprints": {
            FINGERPRINT: fingerprint(&format!("{NOT_EVALUATED_RULE}\u{0}{}", n.reason), p)
        },
        "properties": { "severity": "unknown", "package": package_json(p), "reason": n.reason },
    })
}

/// The SARIF log of a scan.
pub fn render(report: &ScanReport) -> Value {
    let pkg = |i: usize| report.packages.get(i);

    let mut rules: BTreeMap<&str, RuleInfo> = BTreeMap::new();
    for f in &report.findings {
        if pkg(f.package).is_none() {
            continue;
        }
        let r = rules.entry(f.id.as_str()).or_insert_with(|| RuleInfo {
            ids: Vec::new(),
            summary: None,
            severity: f.severity,
            score: None,
        });
        for id in &f.ids {
            if !r.ids.contains(&id.as_str()) {
                r.ids.push(id);
            }
        }
        if r.summary.is_none() {
            r.summary = f.summary.as_deref().filter(|s| !s.trim().is_empty());
        }
        if f.severity.rank() > r.severity.rank() {
            r.severity = f.severity;
        }
        r.score = match (r.score, f.score) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    let mut rules_json: Vec<Value> = rules.iter().map(|(id, r)| rule_json(id, r)).collect();
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();
    let mut results: Vec<Value> = report
        .findings
        .iter()
        .filter_map(|f| {
            let p = pkg(f.package)?;
            Some(finding_result(f, p, index.get(f.id.as_str()).copied()?))
        })
        .collect();
    if !report.not_evaluated.is_empty() {
        let ne_index = rules_json.len();
        rules_json.push(not_evaluated_rule());
        results.extend(
            report
                .not_evaluated
                .iter()
                .filter_map(|n| Some(not_evaluated_result(n, pkg(n.package)?, ne_index))),
        );
    }

    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| {
            let mut n = json!({
                "level": "error",
                "message": { "text": format!("{}: {}", e.path, e.reason) },
            });
            let path = e.path.trim_start_matches('/');
            if !path.is_empty() {
                n["locations"] = json!([{ "physicalLocation": {
                    "artifactLocation": { "uri": super::pct_encode(path, b"-._~/+") }
                } }]);
            }
            n
        })
        .chain(
            report
                .warnings
                .iter()
                .map(|w| json!({ "level": "warning", "message": { "text": w } })),
        )
        .collect();
    let mut invocation = json!({ "executionSuccessful": report.errors.is_empty() });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = Value::Array(notifications);
    }
    let version = env!("CARGO_PKG_VERSION");
    let mut target = json!({
        "name": report.target.name,
        "kind": report.target.kind,
        "layers": report.target.layers,
    });
    if let Some(d) = &report.target.digest {
        target["digest"] = json!(d);
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mlguard",
                "version": version,
                "semanticVersion": version,
                "informationUri": INFORMATION_URI,
                "rules": rules_json,
            } },
            "invocations": [invocation],
            "results": results,
            "properties": {
                "format": report.format,
                "target": target,
                "database": {
                    "path": report.database.path,
                    "records": report.database.records,
                    "updatedAt": report.database.updated_at,
                },
            },
        }],
    })
}
