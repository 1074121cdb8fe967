//! Kubernetes Policy Reports (`wgpolicyk8s.io/v1alpha2`): a `PolicyReport` per namespace that
//! has findings (sorted by namespace), then one `ClusterPolicyReport` for cluster-scoped
//! resources and for the controls that passed. A multi-document YAML stream, written by hand:
//! every string is a double-quoted scalar with YAML escapes, so no value can change the
//! structure. No timestamps: the output depends on the report only. Mapping:
//! docs/policyreport.md.

use crate::view::{clause_tags, View};
use crate::RenderOptions;
use mlguard_controls::{Catalog, ControlStatus, Finding, FindingStatus, Report};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";
const SOURCE: &str = "mlguard";

/// A YAML double-quoted scalar (mlguard-core's, shared with every YAML mlguard writes).
pub(crate) use mlguard_core::emit::quote;

fn plural_objects(n: usize) -> String {
    format!("{n} {}", if n == 1 { "object" } else { "objects" })
}

#[derive(Default)]
struct Counts {
    pass: usize,
    fail: usize,
    skip: usize,
}

fn write_result(out: &mut String, view: &View<'_>, f: &Finding) {
    let r = &f.resource;
    let result = match f.status {
        FindingStatus::Failed => "fail",
        FindingStatus::Excepted => "skip",
    };
    let _ = writeln!(out, "- policy: {}", quote(&f.control));
    let _ = writeln!(out, "  rule: {}", quote(&f.control));
    let _ = writeln!(out, "  category: {}", quote(&view.layer(&f.control)));
    let _ = writeln!(out, "  severity: {}", quote(f.severity.as_str()));
    let _ = writeln!(out, "  result: {}", quote(result));
    let _ = writeln!(out, "  scored: true");
    let _ = writeln!(out, "  source: {}", quote(SOURCE));
    let _ = writeln!(out, "  message: {}", quote(&f.message));
    out.push_str("  resources:\n");
    let _ = writeln!(out, "  - apiVersion: {}", quote(&r.api_version));
    let _ = writeln!(out, "    kind: {}", quote(&r.kind));
    let _ = writeln!(out, "    name: {}", quote(&r.name));
    if let Some(ns) = &r.namespace {
        let _ = writeln!(out, "    namespace: {}", quote(ns));
    }
    // `properties` is a map of strings in the CRD.
    let l = &f.location;
    let mut props: Vec<(&str, String)> = vec![
        ("file", l.file.clone()),
        ("line", l.line.to_string()),
        ("column", l.column.to_string()),
        ("path", l.path.clone()),
        ("clauses", clause_tags(&f.frameworks).join(", ")),
    ];
    if let Some(x) = &f.exception {
        let key = if x.expired {
            "expiredException"
        } else {
            "exception"
        };
        props.push((key, x.reason.clone()));
        if let Some(e) = &x.expires {
            props.push(("exceptionExpires", e.clone()));
        }
    }
    out.push_str("  properties:\n");
    for (k, v) in props {
        let _ = writeln!(out, "    {k}: {}", quote(&v));
    }
}

fn write_report(
    out: &mut dyn Write,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    counts: &Counts,
    results: &str,
) -> io::Result<()> {
    writeln!(out, "---")?;
    writeln!(out, "apiVersion: {}", quote(API_VERSION))?;
    writeln!(out, "kind: {}", quote(kind))?;
    writeln!(out, "metadata:")?;
    writeln!(out, "  name: {}", quote(name))?;
    if let Some(ns) = namespace {
        writeln!(out, "  namespace: {}", quote(ns))?;
    }
    writeln!(out, "  labels:")?;
    writeln!(out, "    app.kubernetes.io/managed-by: {}", quote(SOURCE))?;
    writeln!(out, "summary:")?;
    writeln!(out, "  pass: {}", counts.pass)?;
    writeln!(out, "  fail: {}", counts.fail)?;
    writeln!(out, "  warn: 0")?;
    writeln!(out, "  error: 0")?;
    writeln!(out, "  skip: {}", counts.skip)?;
    if results.is_empty() {
        writeln!(out, "results: []")
    } else {
        writeln!(out, "results:")?;
        out.write_all(results.as_bytes())
    }
}

pub(crate) fn render(
    report: &Report,
    catalog: &Catalog,
    opts: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let view = View::new(report, catalog, opts.framework);
    // Namespace (None: cluster-scoped) -> findings, in view order within each.
    let mut groups: BTreeMap<Option<&str>, Vec<&Finding>> = BTreeMap::new();
    for f in &view.findings {
        groups
            .entry(f.resource.namespace.as_deref())
            .or_default()
            .push(f);
    }
    let cluster_findings = groups.remove(&None).unwrap_or_default();
    let result_block = |findings: &[&Finding]| {
        let mut s = String::new();
        let mut c = Counts::default();
        for f in findings {
            write_result(&mut s, &view, f);
            match f.status {
                FindingStatus::Failed => c.fail += 1,
                FindingStatus::Excepted => c.skip += 1,
            }
        }
        (s, c)
    };
    for (ns, findings) in &groups {
        let Some(ns) = ns else { continue };
        let (results, counts) = result_block(findings);
        write_report(
            out,
            "PolicyReport",
            &format!("mlguard-{ns}"),
            Some(ns),
            &counts,
            &results,
        )?;
    }
    let (mut results, mut counts) = result_block(&cluster_findings);
    // Passed controls: one `pass` result each, with no resource, in the cluster report only.
    for c in view
        .controls
        .iter()
        .filter(|c| c.status == ControlStatus::Passed)
    {
        counts.pass += 1;
        let _ = writeln!(results, "- policy: {}", quote(&c.id));
        let _ = writeln!(results, "  rule: {}", quote(&c.id));
        let _ = writeln!(results, "  category: {}", quote(&view.layer(&c.id)));
        if let Some(d) = view.def(&c.id) {
            let _ = writeln!(results, "  severity: {}", quote(d.severity.as_str()));
        }
        let _ = writeln!(results, "  result: \"pass\"");
        let _ = writeln!(results, "  scored: true");
        let _ = writeln!(results, "  source: {}", quote(SOURCE));
        let _ = writeln!(
            results,
            "  message: {}",
            quote(&format!(
                "passed: {} evaluated, no finding of: {}",
                plural_objects(c.evaluated),
                view.title(&c.id)
            ))
        );
        let _ = writeln!(results, "  properties:");
        let _ = writeln!(
            results,
            "    clauses: {}",
            quote(&clause_tags(&view.clauses(&c.id)).join(", "))
        );
        let _ = writeln!(
            results,
            "    evaluated: {}",
            quote(&c.evaluated.to_string())
        );
    }
    write_report(
        out,
        "ClusterPolicyReport",
        "mlguard-cluster",
        None,
        &counts,
        &results,
    )
}

#[cfg(test)]
mod tests {
    use super::quote;
    use crate::testdata::{render_to_string, sample_report};
    use crate::{Format, RenderOptions};
    use mlguard_core::yaml::{parse_stream, Limits};
    use serde_json::{json, Value};

    fn docs(text: &str) -> Vec<Value> {
        let stream = parse_stream(text, Limits::default());
        assert!(stream.error.is_none(), "{:?}\n{text}", stream.error);
        stream.documents.iter().map(|d| d.root.to_json()).collect()
    }

    #[test]
    fn quoting_round_trips_through_a_yaml_parser() {
        let nasty = "a\"b\\c\nd\te\r\u{1}\u{7f}\u{85}\u{2028}\u{feff}: #x &y *z ]'";
        let text = format!("k: {}\n", quote(nasty));
        assert_eq!(docs(&text), vec![json!({ "k": nasty })]);
        assert_eq!(quote("plain"), "\"plain\"");
    }

    #[test]
    fn policy_reports_per_namespace_and_cluster() {
        let r = sample_report();
        let text = render_to_string(&r, Format::PolicyReport, &RenderOptions::default());
        let d = docs(&text);
        let names: Vec<(&str, &str)> = d
            .iter()
            .map(|d| {
                (
                    d["kind"].as_str().unwrap(),
                    d["metadata"]["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            names,
            vec![
                ("PolicyReport", "mlguard-team-a"),
                ("PolicyReport", "mlguard-team-b"),
                ("ClusterPolicyReport", "mlguard-cluster"),
            ]
        );
        for doc in &d {
            assert_eq!(doc["apiVersion"], "wgpolicyk8s.io/v1alpha2");
        }
        let team_b = &d[1];
        assert_eq!(team_b["metadata"]["namespace"], "team-b");
        assert_eq!(
            team_b["summary"],
            json!({"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 1})
        );
        let results = team_b["results"].as_array().unwrap();
        assert_eq!(results[0]["policy"], "MLG-ENC-002");
        assert_eq!(results[0]["result"], "fail");
        assert_eq!(results[0]["severity"], "high");
        assert_eq!(results[0]["category"], "encryption");
        assert_eq!(
            results[0]["resources"],
            json!([{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                    "name": "ranker", "namespace": "team-b"}])
        );
        assert_eq!(
            results[0]["properties"]["clauses"],
            "HIPAA 164.312(e)(1), SOC2 CC6.7, GDPR Art.32"
        );
        assert_eq!(results[0]["properties"]["line"], "8");
        assert_eq!(results[1]["result"], "skip");
        assert_eq!(
            results[1]["properties"]["exception"],
            "base image needs root until ML-142 lands"
        );
        let cluster = &d[2];
        assert!(cluster["metadata"].get("namespace").is_none());
        assert_eq!(
            cluster["summary"],
            json!({"pass": 2, "fail": 1, "warn": 0, "error": 0, "skip": 0})
        );
        let cr = cluster["results"].as_array().unwrap();
        assert_eq!(cr[0]["policy"], "MLG-RBAC-005");
        assert_eq!(cr[0]["severity"], "critical");
        // The message with quotes, a newline and an escape character survives intact.
        assert_eq!(cr[0]["message"], r.findings[3].message.as_str());
        assert_eq!(cr[1]["result"], "pass");
        assert!(cr[1].get("resources").is_none());
        insta::assert_snapshot!("policyreport", text);
    }

    #[test]
    fn empty_report_is_one_cluster_report() {
        let mut r = sample_report();
        r.findings.clear();
        r.summary.controls.clear();
        let text = render_to_string(&r, Format::PolicyReport, &RenderOptions::default());
        let d = docs(&text);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["results"], json!([]));
        assert_eq!(d[0]["summary"]["pass"], 0);
    }
}
