use super::*;
use crate::testdata::sample_report;
use crate::{render, Format};
use mlguard_controls::{ClauseCounts, Clauses, ControlSummary, Location, ResourceRef, Severity};
use serde_json::json;

fn html(report: &Report, extras: &HtmlExtras<'_>) -> String {
    let mut out = Vec::new();
    render_html(
        report,
        Catalog::builtin(),
        &RenderOptions::default(),
        extras,
        &mut out,
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

/// The attribute `name` of the first element whose opening tag contains `marker`.
fn attr(page: &str, marker: &str, name: &str) -> String {
    let at = page
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} not in the page"));
    let tag_start = page[..at].rfind('<').unwrap();
    let tag_end = at + page[at..].find('>').unwrap();
    let tag = &page[tag_start..tag_end];
    let key = format!(" {name}=\"");
    let i = tag
        .find(&key)
        .unwrap_or_else(|| panic!("{name} not in {tag}"))
        + key.len();
    tag[i..i + tag[i..].find('"').unwrap()].to_owned()
}

#[test]
fn escape_covers_markup_quotes_and_control_characters() {
    assert_eq!(
        E("<script>alert('x')</script> & \"q\" \u{1b}[31m").to_string(),
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot; \u{FFFD}[31m"
    );
    assert_eq!(E("plain ünïcode").to_string(), "plain ünïcode");
}

#[test]
fn input_strings_are_escaped_everywhere() {
    let mut r = sample_report();
    r.findings[0].message = "<script>alert(1)</script>".to_owned();
    r.findings[0].resource.name = "\"><img src=x onerror=alert(2)>".to_owned();
    r.findings[0].location.file = "<b>file</b>.yaml".to_owned();
    r.tool.version = "<i>v</i>".to_owned();
    r.context.insert(
        "connectivity".to_owned(),
        json!([{"src": "team-a/<x>[Deployment]", "dst": "team-a/y[Pod]", "conn": "<All>"}]),
    );
    let page = html(&r, &HtmlExtras::default());
    for bad in ["<script>", "<img", "<b>file", "<i>v", "<x>", "<All>"] {
        assert!(!page.contains(bad), "unescaped {bad}");
    }
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // Nothing on the page runs or loads anything.
    assert!(!page.contains("<script"));
    assert!(!page.contains("src=\"http"));
    assert!(!page.contains("href=\"http"));
    assert!(!page.contains("@import"));
}

#[test]
fn sections_counts_and_states() {
    let r = sample_report();
    let page = html(&r, &HtmlExtras::default());
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.ends_with("</html>\n"));
    assert_eq!(attr(&page, "id=\"summary\"", "data-findings"), "4");
    assert_eq!(attr(&page, "id=\"summary\"", "data-failed"), "3");
    assert_eq!(attr(&page, "id=\"summary\"", "data-excepted"), "1");
    assert_eq!(
        attr(&page, "id=\"summary\"", "data-controls-not-evaluated"),
        "1"
    );
    assert_eq!(attr(&page, "id=\"controls\"", "data-count"), "6");
    for fw in ["hipaa", "soc2", "gdpr"] {
        assert!(page.contains(&format!("id=\"framework-{fw}\"")), "{fw}");
    }
    assert_eq!(attr(&page, "id=\"framework-hipaa\"", "data-controls"), "4");
    assert_eq!(
        attr(&page, "id=\"framework-hipaa\"", "data-not-evaluated"),
        "1"
    );
    // 164.312(e)(1): ENC-002 failed, NET-001 passed, NET-002 not evaluated.
    let clause = "data-clause=\"164.312(e)(1)\"";
    assert_eq!(attr(&page, clause, "data-state"), "failed");
    assert_eq!(attr(&page, clause, "data-evidence"), "2");
    assert!(page.contains("<code>manifests/team a/isvc.yaml:9</code>"));
    // The NET-002 row in the control table says not evaluated, with its reason.
    let net2 = page
        .find("data-control=\"MLG-NET-002\" data-status=\"not_evaluated\"")
        .unwrap();
    assert!(page[net2..net2 + 600].contains("not evaluated</span> <span class=\"note\">no objects"));
    // Charts are inline SVG.
    assert!(page.contains("<svg id=\"chart-severity\""));
    assert!(page.contains("<svg id=\"chart-layer\""));
    assert_eq!(attr(&page, "data-label=\"critical\"", "data-value"), "1");
    assert_eq!(attr(&page, "data-label=\"high\"", "data-value"), "2");
    // The quota section of the sample context.
    assert_eq!(attr(&page, "id=\"tenants\"", "data-count"), "1");
    assert!(page.contains("<code>requests.nvidia.com/gpu</code> = 8"));
    // Optional sections are left out without their data.
    for absent in [
        "id=\"changes\"",
        "id=\"network\"",
        "id=\"audit-coverage\"",
        "id=\"image-scans\"",
        "id=\"model-scans\"",
    ] {
        assert!(!page.contains(absent), "{absent}");
    }
    // The format is reachable through `render`, deterministically.
    let mut a = Vec::new();
    render(
        &r,
        Catalog::builtin(),
        Format::Html,
        &RenderOptions::default(),
        &mut a,
    )
    .unwrap();
    assert_eq!(String::from_utf8(a).unwrap(), page);
}

#[test]
fn a_clause_whose_controls_did_not_run_is_never_passed() {
    let counts = |p, f, e, n| ClauseCounts {
        passed: p,
        failed: f,
        excepted: e,
        not_evaluated: n,
    };
    assert_eq!(clause_state(&counts(0, 0, 0, 2)).0, "not_evaluated");
    assert_eq!(clause_state(&counts(1, 0, 0, 1)).0, "partial");
    assert_eq!(clause_state(&counts(0, 0, 0, 0)).0, "no_evidence");
    assert_eq!(clause_state(&counts(2, 0, 0, 0)).0, "passed");
    assert_eq!(clause_state(&counts(2, 0, 1, 0)).0, "excepted");
    assert_eq!(clause_state(&counts(2, 1, 1, 5)).0, "failed");

    // Every control of a real report not evaluated: no clause row says passed.
    let mut r = sample_report();
    for c in &mut r.summary.controls {
        c.status = ControlStatus::NotEvaluated;
    }
    r.findings.clear();
    r.summary.frameworks.clear();
    let page = html(&r, &HtmlExtras::default());
    assert!(!page.contains("data-state=\"passed\""));
    assert!(!page.contains("data-state=\"partial\""));
    assert!(page.contains("data-state=\"not_evaluated\""));
    assert!(!page.contains("class=\"badge st-passed\""));
}

fn finding(i: usize) -> Finding {
    Finding {
        control: if i.is_multiple_of(2) {
            "MLG-ENC-002"
        } else {
            "MLG-POD-004"
        }
        .to_owned(),
        title: "t".to_owned(),
        severity: if i.is_multiple_of(3) {
            Severity::High
        } else {
            Severity::Medium
        },
        status: if i.is_multiple_of(10) {
            FindingStatus::Excepted
        } else {
            FindingStatus::Failed
        },
        exception: None,
        resource: ResourceRef {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            namespace: Some(format!("ns-{}", i % 50)),
            name: format!("w-{i}"),
        },
        location: Location {
            file: format!("m/{}.yaml", i / 10),
            line: (i % 10) as u32 * 20 + 1,
            column: 3,
            path: "spec".to_owned(),
        },
        message: format!("finding {i}"),
        remediation: "fix".to_owned(),
        frameworks: Clauses {
            hipaa: if i.is_multiple_of(2) {
                vec!["164.312(e)(1)".to_owned()]
            } else {
                vec![]
            },
            soc2: vec!["CC6.1".to_owned()],
            gdpr: vec![],
        },
    }
}

#[test]
fn large_reports_are_aggregated_with_and_k_more() {
    let mut r = sample_report();
    r.findings = (0..20_000).map(finding).collect();
    r.summary.controls = vec![
        ControlSummary {
            id: "MLG-ENC-002".to_owned(),
            status: ControlStatus::Failed,
            findings: 10_000,
            evaluated: 10_000,
            reason: None,
        },
        ControlSummary {
            id: "MLG-POD-004".to_owned(),
            status: ControlStatus::Failed,
            findings: 10_000,
            evaluated: 10_000,
            reason: None,
        },
    ];
    let page = html(&r, &HtmlExtras::default());
    assert!(page.len() < 1_000_000, "{} bytes", page.len());
    assert_eq!(attr(&page, "id=\"summary\"", "data-findings"), "20000");
    assert_eq!(
        attr(&page, "data-clause=\"CC6.1\"", "data-evidence"),
        "20000"
    );
    assert_eq!(
        attr(&page, "data-clause=\"164.312(e)(1)\"", "data-evidence"),
        "10000"
    );
    assert!(
        page.contains("data-more=\"19950\""),
        "CC6.1 lists 50 of 20000"
    );
    assert!(
        page.contains("data-more=\"9950\""),
        "164.312(e)(1) lists 50 of 10000"
    );
    let items = page.matches("<li class=\"finding\"").count();
    // 50 per clause (2 clauses with findings) plus 100 in the findings list.
    assert_eq!(items, 50 * 2 + 100);
}

#[test]
fn changes_since_a_previous_report() {
    let now = sample_report();
    let mut before = sample_report();
    // Before: the RBAC finding did not exist, and an extra POD finding was open.
    before.findings.retain(|f| f.control != "MLG-RBAC-005");
    let mut gone = before.findings[0].clone();
    gone.resource.name = "old-trainer".to_owned();
    before.findings.push(gone);
    before.summary.controls[5].status = ControlStatus::Passed;
    let page = html(
        &now,
        &HtmlExtras {
            previous: Some(&before),
            ..HtmlExtras::default()
        },
    );
    assert_eq!(attr(&page, "id=\"changes\"", "data-new"), "1");
    assert_eq!(attr(&page, "id=\"changes\"", "data-resolved"), "1");
    assert_eq!(attr(&page, "id=\"changes\"", "data-status-changes"), "1");
    let new = &page[page.find("id=\"new-findings\"").unwrap()..];
    assert!(new[..new.find("</ul>").unwrap()].contains("MLG-RBAC-005"));
    let resolved = &page[page.find("id=\"resolved-findings\"").unwrap()..];
    assert!(resolved[..resolved.find("</ul>").unwrap()].contains("old-trainer"));
    assert!(page.contains("<svg id=\"chart-changes\""));
}

#[test]
fn network_audit_image_and_model_sections() {
    let mut r = sample_report();
    r.context.insert(
        "connectivity".to_owned(),
        json!([
            {"src": "0.0.0.0-255.255.255.255[External]", "dst": "team-a/llm[InferenceService]", "conn": "TCP 8080"},
            {"src": "team-a/train[PyTorchJob]", "dst": "team-a/llm[InferenceService]", "conn": "All Connections"},
            {"src": "team-b/x[Deployment]", "dst": "team-a/llm[InferenceService]", "conn": "No Connections"},
            {"src": "team-b/x[Deployment]", "dst": "team-b/y[Deployment]", "conn": "TCP 443"}
        ]),
    );
    r.context.insert(
        "auditCoverage".to_owned(),
        json!([{"policy": "cluster/audit-policy.yaml", "rules": 11, "namespaces": [
            {"namespace": "team-a", "classification": "phi", "classes": [
                {"class": "writes of ML resources", "need": "RequestResponse", "lowest": "Request", "highest": "RequestResponse", "requests": 832, "met": false},
                {"class": "credentials", "need": "Metadata exactly", "lowest": "Metadata", "highest": "Metadata", "requests": 156, "met": true}]}]}]),
    );
    let images = vec![(
        "image-scan.json".to_owned(),
        json!({"format": "mlguard.image-scan/v1", "target": {"name": "reg/train:1", "kind": "registry"},
               "packages": [{"name": "torch", "version": "2.1.0"}],
               "findings": [{"id": "GHSA-1", "package": 0, "severity": "high", "summary": "<overflow>", "fixed": ["2.2.0"]},
                            {"id": "GHSA-2", "package": 0, "severity": "low", "summary": "s", "fixed": [], "vex": {"status": "not_affected"}}],
               "notEvaluated": [], "errors": [], "warnings": []}),
    )];
    let models = vec![(
        "model-scan.json".to_owned(),
        json!({"kind": "mlguard-model-scan", "version": "1",
               "summary": {"files": 2, "clean": 1, "suspicious": 0, "notVerifiablySafe": 0, "unsafe": 1, "skipped": 0, "errors": 0, "findings": 1},
               "files": [{"path": "models/evil.bin", "format": "pickle", "verdict": "unsafe", "severity": "critical",
                          "findings": [{"reason": "global os.system is on the deny list"}]},
                         {"path": "models/ok.pt", "format": "pytorch-zip", "verdict": "clean", "findings": []}]}),
    )];
    let page = html(
        &r,
        &HtmlExtras {
            image_scans: &images,
            model_scans: &models,
            ..HtmlExtras::default()
        },
    );
    assert_eq!(attr(&page, "id=\"network\"", "data-namespaces"), "2");
    assert_eq!(attr(&page, "id=\"network\"", "data-edges"), "3");
    assert_eq!(attr(&page, "id=\"net-team-a\"", "data-nodes"), "3");
    assert_eq!(attr(&page, "id=\"net-team-a\"", "data-edges"), "2");
    assert_eq!(
        attr(&page, "class=\"audit-matrix\"", "data-namespaces"),
        "1"
    );
    assert!(page.contains("data-met=\"false\"><b>NOT MET</b> Request to RequestResponse"));
    assert_eq!(attr(&page, "class=\"image\"", "data-vulns"), "1");
    assert!(page.contains("&lt;overflow&gt;"));
    assert_eq!(attr(&page, "class=\"model-scan\"", "data-unsafe"), "1");
    assert!(page.contains("<code>models/evil.bin</code> (pickle, unsafe)"));
    assert!(!page.contains("models/ok.pt"));
}
