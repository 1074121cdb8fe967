//! MLG-MOD-002: serving workloads in a namespace that requires signed models (label
//! `mlguard.io/require-signed-models: "true"` or `signedModelNamespaces`) must verify the model
//! in an init container before the server starts.

use mlguard_controls::{
    scan, Config, ControlStatus, CustomControls, Date, Exceptions, Finding, ScanOptions, Severity,
};
use mlguard_core::Inventory;

const ID: &str = "MLG-MOD-002";

struct Outcome {
    findings: Vec<Finding>,
    status: Option<ControlStatus>,
    evaluated: usize,
}

fn run(text: &str, config: &Config, focus: Option<(&str, &str)>) -> Outcome {
    let inv = Inventory::from_text("t.yaml", text, "default");
    assert!(inv.errors.is_empty(), "{:?}", inv.errors);
    let focus = focus.map(|(kind, name)| {
        inv.objects
            .iter()
            .position(|o| o.kind == kind && o.name == name)
            .expect("focus object")
    });
    let (exceptions, custom) = (Exceptions::default(), CustomControls::default());
    let opts = ScanOptions {
        config,
        exceptions: &exceptions,
        custom: &custom,
        today: Date::today(),
        focus,
        external: None,
    };
    let (report, _) = scan(&inv, &opts);
    let summary = report.summary.controls.iter().find(|c| c.id == ID);
    Outcome {
        status: summary.map(|c| c.status),
        evaluated: summary.map_or(0, |c| c.evaluated),
        findings: report
            .findings
            .into_iter()
            .filter(|f| f.control == ID)
            .collect(),
    }
}

fn scan_text(text: &str) -> Outcome {
    run(text, &Config::default(), None)
}

const NS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: serve
  labels:
    mlguard.io/require-signed-models: "true"
---
"#;

const PLAIN_NS: &str = "
apiVersion: v1
kind: Namespace
metadata:
  name: serve
---
";

/// An InferenceService whose predictor has `init` as its initContainers (YAML, indented 4).
fn isvc(init: &str) -> String {
    format!(
        "apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {{name: llm, namespace: serve}}
spec:
  predictor:
    model:
      modelFormat: {{name: huggingface}}
      volumeMounts: [{{name: model, mountPath: /models, readOnly: true}}]
{init}    volumes:
      - name: model
        emptyDir: {{medium: Memory, sizeLimit: 16Gi}}
"
    )
}

const MANIFESTS_DECRYPT: &str = "    initContainers:
      - name: mlguard-decrypt
        image: registry.example.com/mlguard@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        args: [model, decrypt, /encrypted/model, -o, /models, --require-memory-fs, --quiet, --key, /var/run/mlguard/key/model.key, --verify-key, /var/run/mlguard/verify/model.pub]
";

#[test]
fn labelled_namespace_without_verification_is_a_finding() {
    let o = scan_text(&format!("{NS}{}", isvc("")));
    assert_eq!(o.findings.len(), 1);
    let f = &o.findings[0];
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.resource.kind, "InferenceService");
    assert_eq!(f.resource.name, "llm");
    assert_eq!(f.location.path, "spec.predictor");
    assert!(
        f.message.contains("namespace `serve` requires signed models (label `mlguard.io/require-signed-models: \"true\"`)")
            && f.message.contains("InferenceService `llm` (predictor)")
            && f.message.contains("no init container verifying the model"),
        "{}",
        f.message
    );
    assert_eq!(o.status, Some(ControlStatus::Failed));
}

#[test]
fn decrypt_with_verify_key_in_an_init_container_passes() {
    let o = scan_text(&format!("{NS}{}", isvc(MANIFESTS_DECRYPT)));
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.status, Some(ControlStatus::Passed));
    assert_eq!(o.evaluated, 1);
    // `--verify-key=PUB`, or the MLGUARD_VERIFY_KEY env clap reads it from, count as well.
    let eq = MANIFESTS_DECRYPT.replace("--verify-key, ", "--verify-key=");
    assert!(scan_text(&format!("{NS}{}", isvc(&eq))).findings.is_empty());
    let env = MANIFESTS_DECRYPT.replace(", --verify-key, /var/run/mlguard/verify/model.pub", "")
        + "        env: [{name: MLGUARD_VERIFY_KEY, value: /var/run/mlguard/verify/model.pub}]\n";
    assert!(scan_text(&format!("{NS}{}", isvc(&env)))
        .findings
        .is_empty());
}

#[test]
fn model_verify_in_an_init_container_passes() {
    let init = "    initContainers:
      - name: fetch
        image: registry.example.com/fetch@sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
      - name: verify
        image: registry.example.com/tools@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
        command: [/usr/local/bin/mlguard]
        args: [model, verify, /models, --key, /keys/model.pub]
";
    let o = scan_text(&format!("{NS}{}", isvc(init)));
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.status, Some(ControlStatus::Passed));
}

#[test]
fn decrypt_without_verify_key_is_a_finding() {
    let init = MANIFESTS_DECRYPT.replace(", --verify-key, /var/run/mlguard/verify/model.pub", "");
    let o = scan_text(&format!("{NS}{}", isvc(&init)));
    assert_eq!(o.findings.len(), 1);
    let f = &o.findings[0];
    assert_eq!(f.location.path, "spec.predictor.initContainers[0].args");
    assert!(
        f.message.contains(
            "init container `mlguard-decrypt` with `mlguard model decrypt` without `--verify-key`"
        ),
        "{}",
        f.message
    );
}

#[test]
fn namespace_without_the_requirement_is_not_judged() {
    for ns in [
        PLAIN_NS.to_owned(),
        NS.replace("\"true\"", "\"false\""),
        String::new(),
    ] {
        let o = scan_text(&format!("{ns}{}", isvc("")));
        assert!(o.findings.is_empty(), "{:?}", o.findings);
        assert_eq!(o.status, Some(ControlStatus::NotEvaluated));
        assert_eq!(o.evaluated, 0);
    }
}

#[test]
fn signed_model_namespaces_in_the_config_require_it_too() {
    let config = Config {
        signed_model_namespaces: vec!["serve".to_owned()],
        ..Config::default()
    };
    let o = run(&format!("{PLAIN_NS}{}", isvc("")), &config, None);
    assert_eq!(o.findings.len(), 1);
    assert!(
        o.findings[0]
            .message
            .contains("requires signed models (`signedModelNamespaces` in mlguard.yaml)"),
        "{}",
        o.findings[0].message
    );
    let o = run(&format!("{NS}{}", isvc("")), &config, None);
    assert!(o.findings[0]
        .message
        .contains("\"true\"` and `signedModelNamespaces`"));
    let other = Config {
        signed_model_namespaces: vec!["elsewhere".to_owned()],
        ..Config::default()
    };
    assert!(run(&format!("{PLAIN_NS}{}", isvc("")), &other, None)
        .findings
        .is_empty());
}

/// A Deployment labelled `mlguard.io/workload: serving`, with `init` as its initContainers.
fn deployment(label: &str, init: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: scorer
  namespace: serve
  labels: {{mlguard.io/workload: {label}}}
spec:
  selector: {{matchLabels: {{app: scorer}}}}
  template:
    metadata: {{labels: {{app: scorer}}}}
    spec:
{init}      containers:
        - name: server
          image: registry.example.com/server@sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
"
    )
}

#[test]
fn deployment_labelled_serving_is_judged_whatever_the_scope() {
    // Neither an ML kind nor a GPU nor a tenant label: the namespace is not an ML namespace, but
    // requiring signed models opts it in.
    let o = scan_text(&format!("{NS}{}", deployment("serving", "")));
    assert_eq!(o.findings.len(), 1);
    let f = &o.findings[0];
    assert_eq!(f.resource.kind, "Deployment");
    assert_eq!(f.location.path, "spec.template.spec");
    assert!(
        f.message.contains("Deployment `scorer` has no init"),
        "{}",
        f.message
    );

    let init = "      initContainers:
        - name: decrypt
          image: registry.example.com/ml/mlguard:1.0
          args: [model, decrypt, /enc, -o, /models, --kms, 'vault://vault:8200/transit/keys/m', --verify-key, /keys/model.pub]
";
    let o = scan_text(&format!("{NS}{}", deployment("serving", init)));
    assert!(o.findings.is_empty(), "{:?}", o.findings);
    assert_eq!(o.status, Some(ControlStatus::Passed));

    // Not a serving workload: not judged.
    let o = scan_text(&format!("{NS}{}", deployment("training", "")));
    assert!(o.findings.is_empty());
    assert_eq!(o.evaluated, 0);
}

#[test]
fn a_sidecar_or_a_regular_container_does_not_count() {
    let sidecar = "      initContainers:
        - name: verify
          image: registry.example.com/mlguard@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          restartPolicy: Always
          args: [model, verify, /models, --key, /keys/model.pub]
";
    let o = scan_text(&format!("{NS}{}", deployment("serving", sidecar)));
    assert_eq!(o.findings.len(), 1);
    let f = &o.findings[0];
    assert_eq!(
        f.location.path,
        "spec.template.spec.initContainers[0].restartPolicy"
    );
    assert!(
        f.message.contains("`restartPolicy: Always`"),
        "{}",
        f.message
    );

    let beside = deployment("serving", "").replace(
        "      containers:\n",
        "      containers:
        - name: verify
          image: registry.example.com/mlguard@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
          args: [model, verify, /models, --key, /keys/model.pub]
",
    );
    let o = scan_text(&format!("{NS}{beside}"));
    assert_eq!(o.findings.len(), 1);
    assert_eq!(
        o.findings[0].location.path,
        "spec.template.spec.containers[0]"
    );
    assert!(o.findings[0].message.contains("beside the server"));
}

#[test]
fn only_mlguard_counts() {
    // `model verify` args to an image that is not mlguard's, and mlguard's image run through a
    // shell: neither is recognised.
    for init in [
        "    initContainers:
      - name: verify
        image: registry.example.com/tools@sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
        args: [model, verify, /models, --key, /keys/model.pub]
",
        "    initContainers:
      - name: verify
        image: registry.example.com/mlguard@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        command: [sh, -c]
        args: ['mlguard model verify /models --key /keys/model.pub || true']
",
        "    initContainers:
      - name: verify
        image: registry.example.com/mlguard@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
        args: [model, verify, --help]
",
    ] {
        let o = scan_text(&format!("{NS}{}", isvc(init)));
        assert_eq!(o.findings.len(), 1, "{init}");
    }
}

#[test]
fn kserve_transformer_is_not_judged_but_other_components_are() {
    let text = format!(
        "{NS}{}  transformer:
    containers:
      - name: pre
        image: registry.example.com/pre@sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee
  explainer:
    containers:
      - name: explain
        image: registry.example.com/explain@sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
",
        isvc(MANIFESTS_DECRYPT)
    );
    let o = scan_text(&text);
    assert_eq!(o.findings.len(), 1, "{:?}", o.findings);
    assert_eq!(o.findings[0].location.path, "spec.explainer");
    assert_eq!(o.evaluated, 2, "predictor and explainer");
}

#[test]
fn a_focused_scan_reports_only_the_focus_object() {
    let text = format!("{NS}{}---\n{}", isvc(""), deployment("serving", ""));
    let all = run(&text, &Config::default(), None);
    assert_eq!(all.findings.len(), 2);
    for (kind, name) in [("InferenceService", "llm"), ("Deployment", "scorer")] {
        let o = run(&text, &Config::default(), Some((kind, name)));
        assert_eq!(o.findings.len(), 1, "{kind}");
        assert_eq!(o.findings[0].resource.kind, kind);
    }
    let o = run(&text, &Config::default(), Some(("Namespace", "serve")));
    assert!(o.findings.is_empty());
}
