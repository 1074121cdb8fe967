//! `mlguard netpol` end to end: the real binary on the example platform, an oracle folder and
//! bad input.

mod common;

use common::{code, err, out, root, run};
use std::process::Output;

fn mlguard(args: &[&str]) -> Output {
    run(args, None)
}

fn tmpdir(name: &str) -> common::TempDir {
    common::TempDir::new(&format!("netpol-{name}"))
}

#[test]
fn reach_prints_the_oracle_form() {
    let dir = root().join("../shared/oracles/netpol-analyzer");
    if !dir.is_dir() {
        return;
    }
    let t = dir.join("tests/anp_banp_blog_demo");
    let o = mlguard(&[
        "netpol",
        "reach",
        t.to_str().expect("utf8"),
        "--host-network",
        "as-pods",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let want = std::fs::read_to_string(
        dir.join("test_outputs/connlist/anp_banp_blog_demo_connlist_output.txt"),
    )
    .expect("expected");
    assert_eq!(out(&o), want);
    let o = mlguard(&[
        "netpol",
        "reach",
        t.to_str().expect("utf8"),
        "--host-network",
        "as-pods",
        "--format",
        "md",
    ]);
    let want = std::fs::read_to_string(
        dir.join("test_outputs/connlist/anp_banp_blog_demo_connlist_output.md"),
    )
    .expect("expected");
    assert_eq!(out(&o), want);
}

#[test]
fn reach_on_the_example_platform_warns_about_host_network() {
    let o = mlguard(&["netpol", "reach", "examples/platform"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let s = out(&o);
    assert!(s.contains("team-a/claims-bert-finetune-worker[PyTorchJob] => team-a/claims-bert-finetune-master[PyTorchJob] : All Connections"), "{s}");
    assert!(s.contains("team-a/claims-bert-finetune-worker[PyTorchJob] => 10.20.0.0-10.20.255.255[External] : TCP 443"), "{s}");
    assert!(
        !s.contains("team-a/claims-bert-finetune-worker[PyTorchJob] => 0.0.0.0"),
        "{s}"
    );
    assert!(
        err(&o).contains("recsys-train-worker[PyTorchJob] uses hostNetwork"),
        "{}",
        err(&o)
    );
    // --focus narrows; json is an array of {src,dst,conn}.
    let o = mlguard(&[
        "netpol",
        "reach",
        "examples/platform",
        "--focus",
        "team-a/claims-tabular",
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    let rows = v.as_array().expect("array");
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|r| r["src"].as_str().unwrap().contains("claims-tabular")
            || r["dst"].as_str().unwrap().contains("claims-tabular")));
}

#[test]
fn explain_allowed_denied_and_unknown() {
    let o = mlguard(&[
        "netpol",
        "explain",
        "examples/platform",
        "--from",
        "team-a/claims-bert-finetune-worker",
        "--to",
        "team-a/claims-bert-finetune-master[PyTorchJob]",
        "--port",
        "29500/TCP",
    ]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let s = out(&o);
    assert!(
        s.contains("ALLOWED")
            && s.contains("team-a/training-replicas[NetworkPolicy]")
            && s.contains("network-policies.yaml:"),
        "{s}"
    );
    let o = mlguard(&[
        "netpol",
        "explain",
        "examples/platform",
        "--from",
        "team-a/claims-bert-finetune-worker",
        "--to",
        "8.8.8.8",
        "--port",
        "53/UDP",
        "--format",
        "json",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(v[0]["allowed"], false);
    assert_eq!(v[0]["dst"], "8.8.8.8[External]");
    let o = mlguard(&[
        "netpol",
        "explain",
        "examples/platform",
        "--from",
        "team-a/nope",
        "--to",
        "8.8.8.8",
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("no workload team-a/nope"), "{}", err(&o));
    let o = mlguard(&[
        "netpol",
        "explain",
        "examples/platform",
        "--from",
        "team-a",
        "--to",
        "8.8.8.8",
    ]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("--from"), "{}", err(&o));
}

#[test]
fn verify_training_isolation_and_intents_files() {
    let o = mlguard(&[
        "netpol",
        "verify",
        "examples/platform",
        "--intents",
        "training-isolation",
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let s = out(&o);
    assert!(
        s.contains("PASS team-a/claims-bert-finetune[PyTorchJob]: replicas reach each other"),
        "{s}"
    );
    assert!(
        s.contains("FAIL team-b/recsys-train[PyTorchJob]: nothing else outside the cluster"),
        "{s}"
    );
    // Each failing intent says why: the policy that decided its first breaking pair.
    assert!(s.contains("  why (first pair):\n"), "{s}");
    assert!(
        s.contains("selected for ingress by team-b/allow-monitoring[NetworkPolicy]"),
        "{s}"
    );
    let o = mlguard(&[
        "netpol",
        "verify",
        "examples/platform/team-a",
        "--config",
        "examples/platform/mlguard.yaml",
        "--intents",
        "training-isolation",
    ]);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let d = tmpdir("intents");
    let f = d.join("intents.yaml");
    std::fs::write(&f, "apiVersion: mlguard.io/v1alpha1\nkind: NetworkIntents\nmetadata: {name: t}\nspec:\n  intents:\n  - name: notebooks stay inside\n    expect: deny\n    from: {namespace: team-a, podSelector: {matchLabels: {notebook-name: claims-analysis}}}\n    to: {cidr: 0.0.0.0/0}\n  - name: serving admits the gateway\n    expect: allow\n    from: {namespace: istio-system}\n    to: {workload: \"team-a/claims-risk[InferenceService]\"}\n    ports: [\"8080/TCP\"]\n").expect("write");
    let o = mlguard(&[
        "netpol",
        "verify",
        "examples/platform",
        "--intents",
        f.to_str().expect("utf8"),
        "--format",
        "json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert_eq!(v[0]["holds"], true, "{v}");
    // Nothing lives in istio-system in the inputs: the intent cannot be judged, so it fails.
    assert_eq!(v[1]["holds"], false, "{v}");
    assert!(v[0]["explanation"].is_null(), "{v}");
    assert!(
        v[1]["unresolved"]
            .as_str()
            .expect("why")
            .contains("matches nothing"),
        "{v}"
    );
    assert_eq!(code(&o), 1);
    std::fs::write(&f, "apiVersion: mlguard.io/v1alpha1\nkind: NetworkIntents\nspec:\n  intents:\n  - name: x\n    expect: allow\n    form: {namespace: a}\n").expect("write");
    let o = mlguard(&[
        "netpol",
        "verify",
        "examples/platform",
        "--intents",
        f.to_str().expect("utf8"),
    ]);
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("intents.yaml:7:11: field `spec.intents[0].form`: unknown field `form`"),
        "{}",
        err(&o)
    );
}

#[test]
fn diff_between_two_manifest_sets() {
    let d = tmpdir("diff");
    let base = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: x}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec: {containers: [{name: c, image: i}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: b, namespace: x}\nspec:\n  selector: {matchLabels: {app: b}}\n  template:\n    metadata: {labels: {app: b}}\n    spec: {containers: [{name: c, image: i}]}\n";
    let old = d.join("old.yaml");
    let new = d.join("new.yaml");
    std::fs::write(&old, base).expect("write");
    std::fs::write(&new, format!("{base}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p, namespace: x}}\nspec:\n  podSelector: {{matchLabels: {{app: b}}}}\n  ingress:\n  - ports: [{{port: 80}}]\n")).expect("write");
    let o = mlguard(&[
        "netpol",
        "diff",
        old.to_str().expect("u"),
        new.to_str().expect("u"),
    ]);
    assert_eq!(code(&o), 1, "{}", err(&o));
    let s = out(&o);
    assert!(s.starts_with("Connectivity diff:\n"), "{s}");
    assert!(s.contains("diff-type: changed, source: x/a[Deployment], destination: x/b[Deployment], ref1: All Connections, ref2: TCP 80"), "{s}");
    let o = mlguard(&[
        "netpol",
        "diff",
        old.to_str().expect("u"),
        old.to_str().expect("u"),
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(out(&o), "");
}

#[test]
fn bad_policies_are_errors_and_the_rest_is_analysed() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\nspec: {containers: [{name: c, image: i}]}\n---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: x}\nspec:\n  podSelector: {}\n  egress:\n  - to: [{ipBlock: {cidr: 10.0.0.0/40}}]\n";
    let o = run(&["netpol", "reach", "-"], Some(text));
    assert_eq!(code(&o), 2);
    assert!(
        err(&o).contains("error: -:12:27: field `spec.egress[0].to[0].ipBlock.cidr`: `10.0.0.0/40` is not a CIDR"),
        "{}",
        err(&o)
    );
    assert!(
        out(&o).contains("x/a[Pod] => 0.0.0.0-255.255.255.255[External] : All Connections"),
        "{}",
        out(&o)
    );
    // The scan reports the same error and exits 2.
    let o = run(&["scan", "-", "--format", "json"], Some(text));
    assert_eq!(code(&o), 2, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_str(&out(&o)).expect("json");
    assert!(
        v["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e["field"] == "spec.egress[0].to[0].ipBlock.cidr"),
        "{v}"
    );
}

#[test]
fn help_has_examples_and_bad_flags_exit_2() {
    for sub in ["reach", "explain", "verify", "diff"] {
        let o = mlguard(&["netpol", sub, "--help"]);
        assert_eq!(code(&o), 0);
        assert!(out(&o).contains("Examples:"), "{sub}");
    }
    let o = mlguard(&["netpol", "reach", "examples/platform", "--format", "xml"]);
    assert_eq!(code(&o), 2);
    assert!(err(&o).contains("unknown --format `xml`"), "{}", err(&o));
    let o = mlguard(&[
        "netpol",
        "reach",
        "examples/platform",
        "--host-network",
        "maybe",
    ]);
    assert_eq!(code(&o), 2);
}
