//! A small hand-built report shared by the renderers' tests.

use crate::{render, Format, RenderOptions};
use mlguard_controls::{
    Catalog, ClauseCounts, Clauses, ControlStatus, ControlSummary, ExceptionInfo, Finding,
    FindingStatus, Framework, InputFile, InputProblem, Location, Report, ResourceRef, Severity,
    Summary, Tool,
};
use std::collections::BTreeMap;

fn clauses(hipaa: &[&str], soc2: &[&str], gdpr: &[&str]) -> Clauses {
    let v = |s: &[&str]| s.iter().map(|c| (*c).to_owned()).collect();
    Clauses {
        hipaa: v(hipaa),
        soc2: v(soc2),
        gdpr: v(gdpr),
    }
}

fn res(api: &str, kind: &str, ns: Option<&str>, name: &str) -> ResourceRef {
    ResourceRef {
        api_version: api.to_owned(),
        kind: kind.to_owned(),
        namespace: ns.map(str::to_owned),
        name: name.to_owned(),
    }
}

fn loc(file: &str, line: u32, column: u32, path: &str) -> Location {
    Location {
        file: file.to_owned(),
        line,
        column,
        path: path.to_owned(),
    }
}

fn control(id: &str, status: ControlStatus, findings: usize, evaluated: usize) -> ControlSummary {
    ControlSummary {
        id: id.to_owned(),
        status,
        findings,
        evaluated,
        reason: (status == ControlStatus::NotEvaluated)
            .then(|| "no objects this control applies to in the inputs".to_owned()),
    }
}

/// Four findings (one excepted, one with characters every format must escape, one in a
/// Windows-style path), six controls in every status, one input error and one note.
pub(crate) fn sample_report() -> Report {
    let enc2 = clauses(&["164.312(e)(1)"], &["CC6.7"], &["Art.32"]);
    let findings = vec![
        Finding {
            control: "MLG-POD-004".to_owned(),
            title: "Runs as root, or allowPrivilegeEscalation not false".to_owned(),
            severity: Severity::Medium,
            status: FindingStatus::Excepted,
            exception: Some(ExceptionInfo {
                reason: "base image needs root until ML-142 lands".to_owned(),
                expires: Some("2026-12-31".to_owned()),
                source: "annotation".to_owned(),
                expired: false,
            }),
            resource: res("apps/v1", "Deployment", Some("team-b"), "trainer"),
            location: loc(
                "manifests/team-b/train.yaml",
                20,
                11,
                "spec.template.spec.containers[0].securityContext",
            ),
            message: "container `trainer` runs as root (runAsNonRoot is not true)".to_owned(),
            remediation: "Set `runAsNonRoot: true` and `allowPrivilegeEscalation: false`."
                .to_owned(),
            frameworks: clauses(&[], &["CC6.1"], &[]),
        },
        Finding {
            control: "MLG-ENC-002".to_owned(),
            title: "Model artifacts fetched over plaintext (`http://` storageUri, S3 endpoint without TLS)".to_owned(),
            severity: Severity::High,
            status: FindingStatus::Failed,
            exception: None,
            resource: res("serving.kserve.io/v1beta1", "InferenceService", Some("team-b"), "ranker"),
            location: loc(
                "manifests\\team-b\\isvc.yaml",
                8,
                21,
                "spec.predictor.model.storageUri",
            ),
            message: "storageUri `http://minio.team-b:9000/models/ranker` is plaintext".to_owned(),
            remediation: "Use `https://` for model storage.".to_owned(),
            frameworks: enc2.clone(),
        },
        Finding {
            control: "MLG-ENC-002".to_owned(),
            title: "Model artifacts fetched over plaintext (`http://` storageUri, S3 endpoint without TLS)".to_owned(),
            severity: Severity::High,
            status: FindingStatus::Failed,
            exception: None,
            resource: res("serving.kserve.io/v1beta1", "InferenceService", Some("team-a"), "llm"),
            location: loc(
                "manifests/team a/isvc.yaml",
                9,
                21,
                "spec.predictor.model.storageUri",
            ),
            message: "storageUri `http://models.internal/llm` is plaintext".to_owned(),
            remediation: "Use `https://` for model storage.".to_owned(),
            frameworks: enc2,
        },
        Finding {
            control: "MLG-RBAC-005".to_owned(),
            title: "Binding to system:authenticated, system:unauthenticated, all service accounts, or cluster-admin for a team group".to_owned(),
            severity: Severity::Critical,
            status: FindingStatus::Failed,
            exception: None,
            resource: res("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", None, "everyone-admin"),
            location: loc("manifests/rbac.yaml", 12, 5, "subjects[0].name"),
            message: "binds cluster-admin to \"system:authenticated\" & <every> user\nsee ticket ‘SEC-7’ \u{1b}[31m".to_owned(),
            remediation: "Bind roles to the team's own groups only.".to_owned(),
            frameworks: clauses(&["164.312(a)(1)", "164.312(d)"], &["CC6.1"], &[]),
        },
    ];
    let controls = vec![
        control("MLG-DATA-001", ControlStatus::Passed, 0, 3),
        control("MLG-ENC-002", ControlStatus::Failed, 2, 4),
        control("MLG-NET-001", ControlStatus::Passed, 0, 3),
        control("MLG-NET-002", ControlStatus::NotEvaluated, 0, 0),
        control("MLG-POD-004", ControlStatus::Excepted, 1, 5),
        control("MLG-RBAC-005", ControlStatus::Failed, 1, 2),
    ];
    // Per-clause counts of controls by status, as mlguard-controls computes them.
    let cat = Catalog::builtin();
    let mut frameworks: BTreeMap<Framework, BTreeMap<String, ClauseCounts>> = BTreeMap::new();
    for c in &controls {
        let def = cat.get(&c.id).expect("control in catalog");
        for fw in Framework::ALL {
            for clause in def.frameworks.of(fw) {
                let n = frameworks
                    .entry(fw)
                    .or_default()
                    .entry(clause.clone())
                    .or_default();
                match c.status {
                    ControlStatus::Passed => n.passed += 1,
                    ControlStatus::Failed => n.failed += 1,
                    ControlStatus::Excepted => n.excepted += 1,
                    ControlStatus::NotEvaluated => n.not_evaluated += 1,
                }
            }
        }
    }
    let mut context = serde_json::Map::new();
    context.insert(
        "quotas".to_owned(),
        serde_json::json!({"team-a": {"requests.nvidia.com/gpu": "8"}}),
    );
    Report {
        tool: Tool {
            name: "mlguard".to_owned(),
            version: "0.1.0".to_owned(),
        },
        inputs: vec![
            InputFile {
                file: "manifests/rbac.yaml".to_owned(),
                sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
                    .to_owned(),
            },
            InputFile {
                file: "manifests/team a/isvc.yaml".to_owned(),
                sha256: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
                    .to_owned(),
            },
        ],
        summary: Summary {
            controls,
            frameworks,
        },
        findings,
        errors: vec![InputProblem {
            file: "manifests/bad.yaml".to_owned(),
            line: Some(3),
            column: Some(7),
            field: Some("spec.replicas".to_owned()),
            message: "expected an integer, found a string".to_owned(),
        }],
        notes: vec![InputProblem {
            file: "manifests/README.md".to_owned(),
            line: None,
            column: None,
            field: None,
            message: "not YAML or JSON; skipped".to_owned(),
        }],
        context,
    }
}

pub(crate) fn render_to_string(report: &Report, format: Format, opts: &RenderOptions) -> String {
    let mut out = Vec::new();
    render(report, Catalog::builtin(), format, opts, &mut out).expect("render");
    String::from_utf8(out).expect("utf-8")
}
